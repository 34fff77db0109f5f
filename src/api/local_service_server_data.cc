// LocalService: bringing data to a server and keeping results there (api/server_data.h).
#include "absl/strings/str_cat.h"
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {

namespace {

class ServiceUploadSink : public UploadSink {
 public:
  explicit ServiceUploadSink(std::unique_ptr<service::Upload> upload)
      : upload_(std::move(upload)) {}
  absl::Status Write(std::string_view bytes) override { return upload_->Write(bytes); }
  absl::StatusOr<UploadResponse> Commit() override {
    PARLEY_ASSIGN_OR_RETURN(service::UploadedFile file, upload_->Commit());
    return UploadResponse{file.name, file.path, file.bytes, file.sha256};
  }

 private:
  std::unique_ptr<service::Upload> upload_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<UploadSink>> LocalService::StartUpload(
    const identity::Caller& caller, const UploadRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<service::Upload> upload,
                          service->StartUpload(caller, request.name, request.sha256, request.bytes,
                                               options_.max_upload_bytes));
  return std::make_unique<ServiceUploadSink>(std::move(upload));
}

absl::StatusOr<UploadResponse> LocalService::Upload(const identity::Caller&, const UploadRequest&) {
  return absl::InvalidArgumentError(
      "an upload's bytes are the request body (application/octet-stream), not JSON");
}

absl::StatusOr<MemberKeyResponse> LocalService::SetMemberKey(const identity::Caller& caller,
                                                             const SetMemberKeyRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->SetMemberKey(caller, request.public_key));
  return MemberKeyResponse{caller.member(), request.public_key};
}

absl::StatusOr<MemberKeyResponse> LocalService::MemberKey(const identity::Caller& caller,
                                                          const MemberKeyRequest&) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> key, service->MemberKey(caller));
  return MemberKeyResponse{caller.member(), key};
}

absl::StatusOr<CollaborationRetentionResponse> LocalService::SetCollaborationRetention(
    const identity::Caller& caller, const SetCollaborationRetentionRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(
      service->SetCollaborationRetention(caller, request.collaboration, request.days));
  return CollaborationRetentionResponse{request.collaboration, request.days};
}

absl::StatusOr<CollaborationRetentionResponse> LocalService::CollaborationRetention(
    const identity::Caller& caller, const CollaborationRetentionRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::optional<int64_t> days,
                          service->CollaborationRetention(caller, request.collaboration));
  return CollaborationRetentionResponse{request.collaboration, days};
}

absl::StatusOr<AddWebhookResponse> LocalService::AddWebhook(const identity::Caller& caller,
                                                            const AddWebhookRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(service::WebhookView view,
                          service->AddWebhook(caller, request.collaboration, request.url));
  return AddWebhookResponse{{view.id, view.member, view.url, view.created_at}, view.secret};
}

absl::StatusOr<ListWebhooksResponse> LocalService::ListWebhooks(
    const identity::Caller& caller, const ListWebhooksRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(auto views, service->ListWebhooks(caller, request.collaboration));
  ListWebhooksResponse response;
  for (const service::WebhookView& view : views) {
    response.webhooks.push_back({view.id, view.member, view.url, view.created_at});
  }
  return response;
}

absl::StatusOr<RemoveWebhookResponse> LocalService::RemoveWebhook(
    const identity::Caller& caller, const RemoveWebhookRequest& request) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RemoveWebhook(caller, request.collaboration, request.webhook_id));
  return RemoveWebhookResponse{request.collaboration, request.webhook_id};
}

absl::Status LocalService::PruneResults() {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  return service->PruneResults();
}

}  // namespace parley::api
