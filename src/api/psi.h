// API types (see api/types.h for the conventions every type follows): private set intersection
// relayed through a Parley server between two members of a collaboration (docs/formats/psi.md,
// "Relayed through a server"). The frames travel base64-encoded; the server checks each and
// passes it on, and sees blinded group elements only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::api {

// A relayed session as its two parties see it. `mode` is "intersection" or "cardinality_only";
// `receivers` the members who learn the result; `status` "waiting", "running", "completed" or
// "failed" (then `reason`); the set sizes are those announced in the HELLOs (absent before).
struct PsiSession {
  std::string collaboration;
  std::string session;
  std::string responder;
  std::string initiator;
  std::string mode;
  std::vector<std::string> receivers;
  std::string status;
  std::optional<std::string> reason;
  std::optional<int64_t> responder_size;
  std::optional<int64_t> initiator_size;
  int64_t frames_relayed = 0;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("session", session);
    v.Required("responder", responder);
    v.Required("initiator", initiator);
    v.Required("mode", mode);
    v.Required("receivers", receivers);
    v.Required("status", status);
    v.Optional("reason", reason);
    v.Optional("responder_size", responder_size);
    v.Optional("initiator_size", initiator_size);
    v.Required("frames_relayed", frames_relayed);
  }
};

// The caller starts a session with `peer`; the result goes to `receivers` (empty: the caller).
struct StartPsiRequest {
  std::string collaboration;
  std::string peer;
  std::optional<std::string> mode;  // "intersection" (default) | "cardinality_only"
  std::vector<std::string> receivers;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("peer", peer);
    v.Optional("mode", mode);
    v.Optional("receivers", receivers);
  }
};

struct PsiSessionRequest {
  std::string collaboration;
  std::string session;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("session", session);
  }
};

// One frame of the caller's, numbered 1, 2, ... per party (a repeated number is a replay).
struct SendPsiRequest {
  std::string collaboration;
  std::string session;
  int64_t sequence = 0;
  std::string frame;  // base64
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("session", session);
    v.Required("sequence", sequence);
    v.Required("frame", frame);
  }
};

// The peer's frames from number `after` (how many the caller has read), waiting up to `wait_ms`
// (at most 10000) for one.
struct ReceivePsiRequest {
  std::string collaboration;
  std::string session;
  int64_t after = 0;
  std::optional<int64_t> wait_ms;
  template <class V>
  void Visit(V& v) {
    v.Required("collaboration", collaboration);
    v.Required("session", session);
    v.Required("after", after);
    v.Optional("wait_ms", wait_ms);
  }
};

struct ReceivePsiResponse {
  std::vector<std::string> frames;  // base64, oldest first
  int64_t next = 0;
  bool ended = false;
  std::optional<std::string> reason;
  template <class V>
  void Visit(V& v) {
    v.Required("frames", frames);
    v.Required("next", next);
    v.Required("ended", ended);
    v.Optional("reason", reason);
  }
};

}  // namespace parley::api
