// The operator's engine registry (api/engines.h) over the service's (service/engines.h).
#include "api/local_service.h"
#include "service/service.h"

namespace parley::api {
namespace {

EngineInfo FromRegistration(const service::EngineRegistration& engine) {
  return EngineInfo{engine.name,          engine.kind,        engine.url,
                    engine.cluster,       engine.database,    engine.user,
                    engine.password_file, engine.loader_user, engine.loader_password_file,
                    engine.nodes,         engine.version};
}

}  // namespace

absl::StatusOr<EngineInfo> LocalService::AddEngine(const EngineInfo& engine) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  service::EngineRegistration registration;
  registration.name = engine.name;
  registration.kind = engine.kind.empty() ? "clickhouse" : engine.kind;
  registration.url = engine.url;
  registration.cluster = engine.cluster;
  registration.database = engine.database;
  registration.user = engine.user;
  registration.password_file = engine.password_file;
  registration.loader_user = engine.loader_user;
  registration.loader_password_file = engine.loader_password_file;
  registration.nodes = engine.nodes;
  PARLEY_ASSIGN_OR_RETURN(service::EngineRegistration added,
                          service->AddEngine(std::move(registration)));
  return FromRegistration(added);
}

absl::StatusOr<ListEnginesResponse> LocalService::ListEngines() {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_ASSIGN_OR_RETURN(std::vector<service::EngineRegistration> engines, service->ListEngines());
  ListEnginesResponse response;
  for (const service::EngineRegistration& engine : engines) {
    response.engines.push_back(FromRegistration(engine));
  }
  return response;
}

absl::StatusOr<RemoveEngineResponse> LocalService::RemoveEngine(const std::string& name) {
  PARLEY_ASSIGN_OR_RETURN(service::Service * service, Open());
  PARLEY_RETURN_IF_ERROR(service->RemoveEngine(name));
  return RemoveEngineResponse{name};
}

}  // namespace parley::api
