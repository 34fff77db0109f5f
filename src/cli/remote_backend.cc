#include "cli/remote_backend.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/codec.h"
#include "api/routes.h"
#include "base/status.h"

namespace parley::cli {

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read the token file '", path, "'"));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the token file '", path, "' is not a regular file"));
  }
  if (info.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the token file '", path, "' belongs to another user"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the token file '%s' is readable or writable by others (mode %04o); a token is a "
        "password: chmod 600 '%s'",
        path, info.st_mode & 07777, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the token file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buffer.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the token file '", path, "' is empty"));
  }
  return token;
}

absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write the token file '", path, "'"));
  }
  std::string text = token + "\n";
  bool written =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::InvalidArgumentError(absl::StrCat("cannot write the token file '", path, "'"));
  }
  return absl::OkStatus();
}

struct RemoteBackend::Impl {
  std::string url;
  std::unique_ptr<httplib::Client> client;

  template <class Request, class Response>
  absl::StatusOr<Response> Call(const api::Endpoint<Request, Response>& endpoint,
                                const Request& request) {
    nlohmann::json fields = api::ToJson(request);
    PARLEY_ASSIGN_OR_RETURN(std::string path, api::FillPath(endpoint.route, fields));
    std::string method = endpoint.route.method;
    std::string body_text = api::Dump(fields);
    httplib::Result result = method == "GET"      ? client->Get(path)
                             : method == "DELETE" ? client->Delete(path)
                             : method == "PUT"    ? client->Put(path, body_text, "application/json")
                                               : client->Post(path, body_text, "application/json");
    return Decode<Response>(result);
  }

  template <class Response>
  absl::StatusOr<Response> Decode(httplib::Result& result) {
    if (!result) {
      if (result.error() == httplib::Error::SSLServerVerification) {
        return absl::UnavailableError(absl::StrCat(
            "cannot verify the certificate of the Parley server at ", url,
            " (for a server with its own certificate authority, set PARLEY_CA_CERT to its PEM "
            "file)"));
      }
      return absl::UnavailableError(absl::StrCat("cannot reach the Parley server at ", url, " (",
                                                 httplib::to_string(result.error()), ")"));
    }
    absl::StatusOr<nlohmann::json> body = api::ParseJson(result->body);
    if (result->status == 200) {
      if (!body.ok()) {
        return absl::InternalError(
            absl::StrCat("the server at ", url, " answered with a body that is not JSON"));
      }
      absl::StatusOr<Response> response = api::FromJson<Response>(*body);
      if (!response.ok()) {
        return absl::InternalError(
            absl::StrCat("the server at ", url,
                         " answered with an unexpected response: ", response.status().message()));
      }
      return response;
    }
    if (body.ok() && body->is_object() && body->contains("error")) {
      absl::Status status = api::StatusFromErrorJson(*body);
      if (!status.ok()) return status;
    }
    return absl::UnknownError(
        absl::StrCat("the server at ", url, " answered HTTP ", result->status));
  }
};

RemoteBackend::RemoteBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteBackend::~RemoteBackend() = default;

absl::StatusOr<std::unique_ptr<RemoteBackend>> RemoteBackend::Connect(const std::string& url,
                                                                      const std::string& token,
                                                                      int read_timeout_seconds) {
  std::string rest;
  bool https = false;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    https = true;
  } else {
    return absl::InvalidArgumentError(
        "--server takes a URL such as http://127.0.0.1:8443 or https://parley.example.com");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        "--server takes the server's address only (scheme, host and port), no path");
  }
  std::string host = rest;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string::npos ? 0 : host.find(']') - 1);
  } else if (host.find(':') != std::string::npos) {
    host = host.substr(0, host.find(':'));
  }
  bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
  if (!https && !loopback) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to send a token over plain HTTP to '", host, "': use https://"));
  }
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  impl->client = std::make_unique<httplib::Client>(url);
  if (!impl->client->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("--server: cannot use the URL '", url, "'"));
  }
  impl->client->set_bearer_token_auth(token);
  impl->client->set_connection_timeout(10);
  impl->client->set_read_timeout(read_timeout_seconds + 30);
  impl->client->set_write_timeout(30);
  impl->client->set_keep_alive(true);
  // A request sent in two writes (headers, then body) must not wait for the server's delayed
  // acknowledgement of the first (40 ms) before the body leaves.
  impl->client->set_tcp_nodelay(true);
  if (https) {
    impl->client->enable_server_certificate_verification(true);
    if (const char* ca = std::getenv("PARLEY_CA_CERT")) impl->client->set_ca_cert_path(ca);
  }
  return std::unique_ptr<RemoteBackend>(new RemoteBackend(std::move(impl)));
}

absl::StatusOr<api::UploadResponse> RemoteBackend::Upload(
    const api::UploadRequest& request, const std::string& path,
    const std::function<void(int64_t sent, int64_t total)>& progress) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the file '", path, "'"));
  std::error_code error;
  int64_t total = static_cast<int64_t>(std::filesystem::file_size(path, error));
  nlohmann::json fields = {{"name", request.name}};
  PARLEY_ASSIGN_OR_RETURN(std::string url_path, api::FillPath(api::kUpload.route, fields));
  httplib::Headers headers = {{"X-Parley-Sha256", request.sha256}};
  if (request.bytes) headers.emplace("X-Parley-Upload-Bytes", std::to_string(*request.bytes));
  // Sent chunked, read from the file as it goes: never the whole file in memory.
  std::string buffer(1 << 16, '\0');
  int64_t sent = 0;
  bool read_failed = false;
  httplib::Result result = impl_->client->Put(
      url_path, headers,
      [&](size_t, httplib::DataSink& sink) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        std::streamsize got = in.gcount();
        if (got > 0) {
          if (!sink.write(buffer.data(), static_cast<size_t>(got))) return false;
          sent += got;
          if (progress) progress(sent, total);
        }
        if (in.bad()) {
          read_failed = true;
          return false;
        }
        if (in.eof()) sink.done();
        return true;
      },
      "application/octet-stream");
  if (read_failed) return absl::DataLossError(absl::StrCat("cannot read the file '", path, "'"));
  return impl_->Decode<api::UploadResponse>(result);
}

absl::StatusOr<api::MemberKeyResponse> RemoteBackend::SetMemberKey(
    const api::SetMemberKeyRequest& request) {
  return impl_->Call(api::kSetMemberKey, request);
}

absl::StatusOr<api::MemberKeyResponse> RemoteBackend::MemberKey(
    const api::MemberKeyRequest& request) {
  return impl_->Call(api::kMemberKey, request);
}

absl::StatusOr<api::CollaborationRetentionResponse> RemoteBackend::SetCollaborationRetention(
    const api::SetCollaborationRetentionRequest& request) {
  return impl_->Call(api::kSetCollaborationRetention, request);
}

absl::StatusOr<api::CollaborationRetentionResponse> RemoteBackend::CollaborationRetention(
    const api::CollaborationRetentionRequest& request) {
  return impl_->Call(api::kCollaborationRetention, request);
}

absl::StatusOr<api::AddWebhookResponse> RemoteBackend::AddWebhook(
    const api::AddWebhookRequest& request) {
  return impl_->Call(api::kAddWebhook, request);
}

absl::StatusOr<api::PsiSession> RemoteBackend::StartPsi(const api::StartPsiRequest& request) {
  return impl_->Call(api::kStartPsi, request);
}

absl::StatusOr<api::PsiSession> RemoteBackend::ShowPsi(const api::PsiSessionRequest& request) {
  return impl_->Call(api::kShowPsi, request);
}

absl::StatusOr<api::PsiSession> RemoteBackend::SendPsi(const api::SendPsiRequest& request) {
  return impl_->Call(api::kSendPsi, request);
}

absl::StatusOr<api::ReceivePsiResponse> RemoteBackend::ReceivePsi(
    const api::ReceivePsiRequest& request) {
  return impl_->Call(api::kReceivePsi, request);
}

absl::StatusOr<api::ListWebhooksResponse> RemoteBackend::ListWebhooks(
    const api::ListWebhooksRequest& request) {
  return impl_->Call(api::kListWebhooks, request);
}

absl::StatusOr<api::RemoveWebhookResponse> RemoteBackend::RemoveWebhook(
    const api::RemoveWebhookRequest& request) {
  return impl_->Call(api::kRemoveWebhook, request);
}

absl::StatusOr<api::CreateCollaborationResponse> RemoteBackend::CreateCollaboration(
    const api::CreateCollaborationRequest& request) {
  return impl_->Call(api::kCreateCollaboration, request);
}

absl::StatusOr<api::ListCollaborationsResponse> RemoteBackend::ListCollaborations(
    const api::ListCollaborationsRequest& request) {
  return impl_->Call(api::kListCollaborations, request);
}

absl::StatusOr<api::ShowCollaborationResponse> RemoteBackend::ShowCollaboration(
    const api::ShowCollaborationRequest& request) {
  return impl_->Call(api::kShowCollaboration, request);
}

absl::StatusOr<api::CloseCollaborationResponse> RemoteBackend::CloseCollaboration(
    const api::CloseCollaborationRequest& request) {
  return impl_->Call(api::kCloseCollaboration, request);
}

absl::StatusOr<api::AddMemberResponse> RemoteBackend::AddMember(
    const api::AddMemberRequest& request) {
  return impl_->Call(api::kAddMember, request);
}

absl::StatusOr<api::RemoveMemberResponse> RemoteBackend::RemoveMember(
    const api::RemoveMemberRequest& request) {
  return impl_->Call(api::kRemoveMember, request);
}

absl::StatusOr<api::LeaveResponse> RemoteBackend::Leave(const api::LeaveRequest& request) {
  return impl_->Call(api::kLeave, request);
}

absl::StatusOr<api::AddTableResponse> RemoteBackend::AddTable(const api::AddTableRequest& request) {
  return impl_->Call(api::kAddTable, request);
}

absl::StatusOr<api::ListTablesResponse> RemoteBackend::ListTables(
    const api::ListTablesRequest& request) {
  return impl_->Call(api::kListTables, request);
}

absl::StatusOr<api::ShowTableResponse> RemoteBackend::ShowTable(
    const api::ShowTableRequest& request) {
  return impl_->Call(api::kShowTable, request);
}

absl::StatusOr<api::UpdateTableResponse> RemoteBackend::UpdateTable(
    const api::UpdateTableRequest& request) {
  return impl_->Call(api::kUpdateTable, request);
}

absl::StatusOr<api::RemoveTableResponse> RemoteBackend::RemoveTable(
    const api::RemoveTableRequest& request) {
  return impl_->Call(api::kRemoveTable, request);
}

absl::StatusOr<api::SetRuleResponse> RemoteBackend::SetRule(const api::SetRuleRequest& request) {
  return impl_->Call(api::kSetRule, request);
}

absl::StatusOr<api::ExplainResponse> RemoteBackend::Explain(const api::ExplainRequest& request) {
  return impl_->Call(api::kExplain, request);
}

absl::StatusOr<api::RunQueryResponse> RemoteBackend::RunQuery(const api::RunQueryRequest& request) {
  return impl_->Call(api::kRunQuery, request);
}

absl::StatusOr<api::BudgetResponse> RemoteBackend::Budget(const api::BudgetRequest& request) {
  return impl_->Call(api::kBudget, request);
}

absl::StatusOr<api::UsageResponse> RemoteBackend::Usage(const api::UsageRequest& request) {
  return impl_->Call(api::kUsage, request);
}

absl::StatusOr<api::UsageResponse> RemoteBackend::SetUsageLimits(
    const api::SetUsageLimitsRequest& request) {
  return impl_->Call(api::kSetUsageLimits, request);
}

absl::StatusOr<api::GetResultResponse> RemoteBackend::GetResult(
    const api::GetResultRequest& request) {
  return impl_->Call(api::kGetResult, request);
}

absl::StatusOr<api::ListResultsResponse> RemoteBackend::ListResults(
    const api::ListResultsRequest& request) {
  return impl_->Call(api::kListResults, request);
}

absl::StatusOr<api::DeleteResultResponse> RemoteBackend::DeleteResult(
    const api::DeleteResultRequest& request) {
  return impl_->Call(api::kDeleteResult, request);
}

absl::StatusOr<api::HomeInfoResponse> RemoteBackend::HomeInfo(const api::HomeInfoRequest&) {
  return absl::FailedPreconditionError(
      "home info is not available with --server: the home is the server operator's; run it "
      "on the server's machine");
}

absl::StatusOr<api::HomeInfoResponse> RemoteBackend::SetResultRetention(
    const api::SetResultRetentionRequest&) {
  return absl::FailedPreconditionError(
      "home set is not available with --server: the home is the server operator's; run it on "
      "the server's machine");
}

absl::StatusOr<api::ListQueriesResponse> RemoteBackend::ListQueries(
    const api::ListQueriesRequest& request) {
  return impl_->Call(api::kListQueries, request);
}

absl::StatusOr<api::QueryLogResponse> RemoteBackend::QueryLog(const api::QueryLogRequest& request) {
  return impl_->Call(api::kQueryLog, request);
}

absl::StatusOr<api::CreateTemplateResponse> RemoteBackend::CreateTemplate(
    const api::CreateTemplateRequest& request) {
  return impl_->Call(api::kCreateTemplate, request);
}

absl::StatusOr<api::ShowTemplateResponse> RemoteBackend::ShowTemplate(
    const api::ShowTemplateRequest& request) {
  return impl_->Call(api::kShowTemplate, request);
}

absl::StatusOr<api::ListTemplatesResponse> RemoteBackend::ListTemplates(
    const api::ListTemplatesRequest& request) {
  return impl_->Call(api::kListTemplates, request);
}

absl::StatusOr<api::ApproveTemplateResponse> RemoteBackend::ApproveTemplate(
    const api::ApproveTemplateRequest& request) {
  return impl_->Call(api::kApproveTemplate, request);
}

absl::StatusOr<api::RevokeTemplateResponse> RemoteBackend::RevokeTemplate(
    const api::RevokeTemplateRequest& request) {
  return impl_->Call(api::kRevokeTemplate, request);
}

absl::StatusOr<api::RunTemplateResponse> RemoteBackend::RunTemplate(
    const api::RunTemplateRequest& request) {
  return impl_->Call(api::kRunTemplate, request);
}

absl::StatusOr<api::PolicyResponse> RemoteBackend::Policy(const api::PolicyRequest& request) {
  return impl_->Call(api::kPolicy, request);
}

absl::StatusOr<api::ListAuditResponse> RemoteBackend::ListAudit(
    const api::ListAuditRequest& request) {
  return impl_->Call(api::kListAudit, request);
}

absl::StatusOr<api::VerifyAuditResponse> RemoteBackend::VerifyAudit(
    const api::VerifyAuditRequest& request) {
  return impl_->Call(api::kVerifyAudit, request);
}

absl::StatusOr<api::WhoAmIResponse> RemoteBackend::WhoAmI(const api::WhoAmIRequest& request) {
  return impl_->Call(api::kWhoAmI, request);
}

absl::StatusOr<api::AddOrganisationResponse> RemoteBackend::AddOrganisation(
    const api::AddOrganisationRequest& request) {
  return impl_->Call(api::kAddOrganisation, request);
}

absl::StatusOr<api::ListOrganisationsResponse> RemoteBackend::ListOrganisations(
    const api::ListOrganisationsRequest& request) {
  return impl_->Call(api::kListOrganisations, request);
}

absl::StatusOr<api::RotateTokenResponse> RemoteBackend::RotateToken(
    const api::RotateTokenRequest& request) {
  return impl_->Call(api::kRotateToken, request);
}

absl::StatusOr<api::RevokeTokenResponse> RemoteBackend::RevokeToken(
    const api::RevokeTokenRequest& request) {
  return impl_->Call(api::kRevokeToken, request);
}

absl::StatusOr<api::InviteMemberResponse> RemoteBackend::InviteMember(
    const api::InviteMemberRequest& request) {
  return impl_->Call(api::kInviteMember, request);
}

absl::StatusOr<api::JoinResponse> RemoteBackend::Join(const api::JoinRequest& request) {
  return impl_->Call(api::kJoin, request);
}

absl::StatusOr<api::ChangeResponse> RemoteBackend::ProposeChange(
    const api::ProposeChangeRequest& request) {
  return impl_->Call(api::kProposeChange, request);
}

absl::StatusOr<api::ListChangesResponse> RemoteBackend::ListChanges(
    const api::ListChangesRequest& request) {
  return impl_->Call(api::kListChanges, request);
}

absl::StatusOr<api::ChangeResponse> RemoteBackend::ShowChange(const api::ChangeIdRequest& request) {
  return impl_->Call(api::kShowChange, request);
}

absl::StatusOr<api::ChangeResponse> RemoteBackend::ApproveChange(
    const api::ChangeIdRequest& request) {
  return impl_->Call(api::kApproveChange, request);
}

absl::StatusOr<api::ChangeResponse> RemoteBackend::DenyChange(const api::ChangeIdRequest& request) {
  return impl_->Call(api::kDenyChange, request);
}

absl::StatusOr<api::ChangeResponse> RemoteBackend::CancelChange(
    const api::ChangeIdRequest& request) {
  return impl_->Call(api::kCancelChange, request);
}

absl::StatusOr<api::RunStatusResponse> RemoteBackend::SubmitRun(
    const api::SubmitRunRequest& request) {
  return impl_->Call(api::kSubmitRun, request);
}

absl::StatusOr<api::RunStatusResponse> RemoteBackend::ShowRun(const api::RunIdRequest& request) {
  return impl_->Call(api::kShowRun, request);
}

absl::StatusOr<api::RunStatusResponse> RemoteBackend::WaitRun(const api::WaitRunRequest& request) {
  return impl_->Call(api::kWaitRun, request);
}

absl::StatusOr<api::RunStatusResponse> RemoteBackend::CancelRun(const api::RunIdRequest& request) {
  return impl_->Call(api::kCancelRun, request);
}

absl::StatusOr<api::CreateJobResponse> RemoteBackend::CreateJob(
    const api::CreateJobRequest& request) {
  return impl_->Call(api::kCreateJob, request);
}

absl::StatusOr<api::ListJobsResponse> RemoteBackend::ListJobs(const api::ListJobsRequest& request) {
  return impl_->Call(api::kListJobs, request);
}

absl::StatusOr<api::ShowJobResponse> RemoteBackend::ShowJob(const api::ShowJobRequest& request) {
  return impl_->Call(api::kShowJob, request);
}

absl::StatusOr<api::ApproveJobResponse> RemoteBackend::ApproveJob(
    const api::ApproveJobRequest& request) {
  return impl_->Call(api::kApproveJob, request);
}

absl::StatusOr<api::RevokeJobResponse> RemoteBackend::RevokeJob(
    const api::RevokeJobRequest& request) {
  return impl_->Call(api::kRevokeJob, request);
}

absl::StatusOr<api::RunJobResponse> RemoteBackend::RunJob(const api::RunJobRequest& request) {
  return impl_->Call(api::kRunJob, request);
}

absl::StatusOr<api::ShowJobRunResponse> RemoteBackend::ShowJobRun(
    const api::ShowJobRunRequest& request) {
  return impl_->Call(api::kShowJobRun, request);
}

absl::StatusOr<api::RegisterAssetResponse> RemoteBackend::RegisterAsset(
    const api::RegisterAssetRequest& request) {
  return impl_->Call(api::kRegisterAsset, request);
}

absl::StatusOr<api::ListAssetsResponse> RemoteBackend::ListAssets(
    const api::ListAssetsRequest& request) {
  return impl_->Call(api::kListAssets, request);
}

}  // namespace parley::cli
