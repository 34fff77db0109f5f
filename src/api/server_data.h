// API types (see api/types.h for the conventions every type follows): bringing data to a server
// and how results are kept there — uploads into the caller's own folder of the data root, the
// public key a member's results are sealed to, and a collaboration's result retention.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// An upload: the bytes are the request's body (application/octet-stream, streamed), not JSON;
// `sha256` (X-Parley-Sha256) and `bytes` (X-Parley-Upload-Bytes) travel as headers. The file is
// kept under DATA_ROOT/<organisation>/<name> only when the checksum matches.
struct UploadRequest {
  std::string name;
  std::string sha256;
  std::optional<int64_t> bytes;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("sha256", sha256);
    v.Optional("bytes", bytes);
  }
};
struct UploadResponse {
  std::string name;
  std::string path;  // on the server: what `table add --source` registers
  int64_t bytes = 0;
  std::string sha256;
  template <class V>
  void Visit(V& v) {
    v.Required("name", name);
    v.Required("path", path);
    v.Required("bytes", bytes);
    v.Required("sha256", sha256);
  }
};

// The caller's public key (X25519, 64 hex digits): its results are sealed to it from now on.
struct SetMemberKeyRequest {
  std::string public_key;
  template <class V>
  void Visit(V& v) {
    v.Required("public_key", public_key);
  }
};
struct MemberKeyRequest {
  template <class V>
  void Visit(V&) {}
};
struct MemberKeyResponse {
  std::string member;
  std::optional<std::string> public_key;  // absent: results are stored in the clear
  template <class V>
  void Visit(V& v) {
    v.Required("member", member);
    v.Optional("public_key", public_key);
  }
};

// A collaboration's result retention in days (its creator sets it; absent: kept until deleted).
struct SetCollaborationRetentionRequest {
  std::string collaboration;
  std::optional<int64_t> days;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("days", days);
  }
};
struct CollaborationRetentionRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct CollaborationRetentionResponse {
  std::string collaboration;
  std::optional<int64_t> result_retention_days;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Optional("result_retention_days", result_retention_days);
  }
};

// Webhooks: a member's subscriptions to a collaboration's events (docs/api.md, "Webhooks").
struct Webhook {
  int64_t id = 0;
  std::string member;
  std::string url;
  int64_t created_at = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("id", id);
    v.Required("member", member);
    v.Required("url", url);
    v.Required("created_at", created_at);
  }
};
struct AddWebhookRequest {
  std::string collaboration;
  std::string url;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("url", url);
  }
};
// `secret` signs every delivery (X-Parley-Signature); it is shown in this answer only.
struct AddWebhookResponse {
  Webhook webhook;
  std::string secret;
  template <class V>
  void Visit(V& v) {
    v.Required("webhook", webhook);
    v.Required("secret", secret);
  }
};
struct ListWebhooksRequest {
  std::string collaboration;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
  }
};
struct ListWebhooksResponse {
  std::vector<Webhook> webhooks;
  template <class V>
  void Visit(V& v) {
    v.Required("webhooks", webhooks);
  }
};
struct RemoveWebhookRequest {
  std::string collaboration;
  int64_t webhook_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("webhook_id", webhook_id);
  }
};
struct RemoveWebhookResponse {
  std::string collaboration;
  int64_t webhook_id = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("webhook_id", webhook_id);
  }
};

}  // namespace parley::api
