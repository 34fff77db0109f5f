// Asynchronous runs: Run and RunTemplate in two steps (service.h), so that the server's run
// queue can answer a submission at once and execute it on a worker of its own.
#include "absl/strings/str_cat.h"
#include "service/service_impl.h"

namespace parley::service {

PreparedRun::PreparedRun(std::unique_ptr<State> state) : state_(std::move(state)) {}
PreparedRun::~PreparedRun() = default;
int64_t PreparedRun::query_id() const { return state_->outcome.query_id; }
const std::string& PreparedRun::collaboration() const { return state_->context.collaboration.name; }
const std::string& PreparedRun::runner() const { return state_->context.member.name; }

absl::StatusOr<Submission> Service::Impl::SubmitSql(
    const identity::Caller& caller, const std::string& collaboration, const std::string& sql,
    std::vector<std::string> receivers, const std::string& epsilon, const AccuracyRequest& accuracy,
    bool may_defer) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  Request request{sql, sql, {}, "", {}, epsilon, accuracy};
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          ValidateReceivers(caller, context, std::move(receivers)));
  return PrepareRun(context, request, may_defer);
}

absl::StatusOr<Submission> Service::Impl::SubmitTemplateRun(
    const identity::Caller& caller, const std::string& collaboration,
    const std::string& template_id, const std::map<std::string, std::string>& values,
    std::vector<std::string> receivers, const std::string& epsilon, const AccuracyRequest& accuracy,
    bool may_defer) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(
      Request request, TemplateRequest(caller, context, template_id, values, std::move(receivers),
                                       epsilon, accuracy));
  return PrepareRun(context, request, may_defer);
}

absl::StatusOr<Submission> Service::SubmitQuery(const identity::Caller& caller,
                                                const std::string& collaboration,
                                                const std::string& sql,
                                                std::vector<std::string> receivers,
                                                const std::string& epsilon,
                                                const AccuracyRequest& accuracy) {
  return impl_->SubmitSql(caller, collaboration, sql, std::move(receivers), epsilon, accuracy,
                          /*may_defer=*/false);
}

absl::StatusOr<Submission> Service::SubmitTemplate(const identity::Caller& caller,
                                                   const std::string& collaboration,
                                                   const std::string& template_id,
                                                   const std::map<std::string, std::string>& values,
                                                   std::vector<std::string> receivers,
                                                   const std::string& epsilon,
                                                   const AccuracyRequest& accuracy) {
  return impl_->SubmitTemplateRun(caller, collaboration, template_id, values, std::move(receivers),
                                  epsilon, accuracy, /*may_defer=*/false);
}

absl::StatusOr<Submission> Service::SubmitAwaitedQuery(const identity::Caller& caller,
                                                       const std::string& collaboration,
                                                       const std::string& sql,
                                                       std::vector<std::string> receivers,
                                                       const std::string& epsilon,
                                                       const AccuracyRequest& accuracy) {
  return impl_->SubmitSql(caller, collaboration, sql, std::move(receivers), epsilon, accuracy,
                          /*may_defer=*/true);
}

absl::StatusOr<Submission> Service::SubmitAwaitedTemplate(
    const identity::Caller& caller, const std::string& collaboration,
    const std::string& template_id, const std::map<std::string, std::string>& values,
    std::vector<std::string> receivers, const std::string& epsilon,
    const AccuracyRequest& accuracy) {
  return impl_->SubmitTemplateRun(caller, collaboration, template_id, values, std::move(receivers),
                                  epsilon, accuracy, /*may_defer=*/true);
}

absl::StatusOr<QueryOutcome> Service::ExecuteRun(PreparedRun& run, engine::RunControl* control) {
  absl::StatusOr<QueryOutcome> outcome = impl_->ExecutePrepared(run.state(), control);
  if (!outcome.ok() || !run.state().then) return outcome;
  return run.state().then(*std::move(outcome));
}

absl::StatusOr<QueryOutcome> Service::AbandonRun(PreparedRun& run, const absl::Status& reason) {
  PreparedRun::State& state = run.state();
  // Recorded like a run the engine stopped (FinishRun: Cancelled is "cancelled"), and answered
  // as Deliver answers a failed run, so a runner who does not receive the result of a custom
  // query learns no more than from any other run.
  absl::Status finished =
      impl_->FinishRun(state.context, state.request, state.outcome.query_id, reason,
                       catalog::QueryUsage{}, nullptr, state.deferred.get());
  // A deferred run has its id, and is submitted as far as anyone else can tell, only now.
  if (state.deferred != nullptr && state.outcome.query_id != 0) {
    impl_->Emit(state.context.collaboration.name, "query.submitted",
                {{"query_id", state.outcome.query_id}});
  }
  // Its receivers' webhooks hear how it ended, as for a run that executed.
  impl_->EmitRunEnded(state.context.collaboration.name, state.outcome.query_id,
                      state.request.receivers, finished.ok() ? reason : finished);
  PARLEY_RETURN_IF_ERROR(finished);
  return impl_->Deliver(state.context, state.request, std::move(state.outcome), reason);
}

absl::StatusOr<QueryView> Service::ShowRun(const identity::Caller& caller,
                                           const std::string& collaboration, int64_t query_id) {
  PARLEY_ASSIGN_OR_RETURN(auto found, impl_->store->GetCollaboration(collaboration));
  PARLEY_RETURN_IF_ERROR(impl_->Require(caller, found, identity::Action::kView));
  PARLEY_RETURN_IF_ERROR(impl_->MarkKilledRuns());
  absl::Status missing = absl::NotFoundError(
      absl::StrCat("query ", query_id, " not found in collaboration '", collaboration, "'"));
  absl::StatusOr<catalog::QueryRecord> record = impl_->store->GetQuery(collaboration, query_id);
  if (absl::IsNotFound(record.status())) return missing;
  PARLEY_RETURN_IF_ERROR(record.status());
  if (record->runner != caller.member()) return missing;
  return internal::ViewOfQuery(*record, caller.member());
}

}  // namespace parley::service
