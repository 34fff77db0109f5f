// Saving a query's result as a table of the collaboration (`parley query run … --save-as NAME`,
// issue 16 §3; docs/rules.md "Derived tables"). The result is written as Parquet under
// HOME/saved/<collaboration>/<name>-<query id>.parquet and registered with the files connector,
// owned by the runner, with the rule policy::DeriveRule computes from the rules of the tables the
// query read. Nothing is saved unless the runner receives the result; a query whose result cannot
// carry its inputs' rules forward is refused before it runs.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"
#include "engine/result_writer.h"
#include "policy/derived.h"
#include "service/service_impl.h"
#include "sql/binder.h"
#include "sql/parser.h"

namespace parley::service {

namespace fs = std::filesystem;

std::filesystem::path Service::Impl::SavedDirectory() const { return home / "saved"; }

absl::Status Service::Impl::CheckNotSaved(const std::vector<std::string>& files,
                                          const std::string& named) const {
  std::error_code error;
  fs::path saved = fs::weakly_canonical(SavedDirectory(), error);
  for (const std::string& file : files) {
    fs::path path = fs::weakly_canonical(file, error);
    auto [end, _] = std::mismatch(saved.begin(), saved.end(), path.begin(), path.end());
    if (!saved.empty() && end == saved.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the source '", named,
                       "' is a saved query result; saved results are queried only through the "
                       "table they were saved as, under the rule derived from their inputs"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Service::Impl::PreparedSave> Service::Impl::PrepareSave(
    const identity::Caller& caller, const QueryContext& context, const std::string& sql,
    std::vector<std::string> receivers, const std::string& save_as) {
  static const std::regex kTableName("[a-z_][a-z0-9_]{0,62}");
  if (!std::regex_match(save_as, kTableName)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--save-as: '", save_as, "' is not a table name (lower case letters, digits, _)"));
  }
  PreparedSave prepared;
  Request& request = prepared.request;
  request.sql = request.parse_sql = sql;
  PARLEY_ASSIGN_OR_RETURN(request.receivers,
                          ValidateReceivers(caller, context, std::move(receivers)));
  const std::string& actor = context.member.name;
  if (std::find(request.receivers.begin(), request.receivers.end(), actor) ==
      request.receivers.end()) {
    return absl::InvalidArgumentError(
        "--save-as: only a result the runner receives can be saved; add the runner as a receiver");
  }
  if (store->GetTable(context.collaboration.name, save_as).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("--save-as: table '", save_as,
                                                 "' already exists in collaboration '",
                                                 context.collaboration.name, "'"));
  }
  prepared.explanation = Analyze(context, request);
  if (!prepared.explanation.ok() || !prepared.explanation->verdict.allowed()) return prepared;
  // The rule the saved table will have, from the rules the query was checked against.
  PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(sql));
  PARLEY_ASSIGN_OR_RETURN(sql::BoundQuery bound,
                          sql::Bind(*statement, *context.snapshot, sql, request.bind));
  std::map<std::string, std::string> owners;
  for (const catalog::Table& table : context.tables) owners[table.name] = table.owner;
  prepared.rule =
      policy::DeriveRule(bound, *context.snapshot, prepared.explanation->tables, owners);
  return prepared;
}

absl::StatusOr<SavePreview> Service::Impl::PreviewSave(const identity::Caller& caller,
                                                       const std::string& collaboration,
                                                       const std::string& sql,
                                                       std::vector<std::string> receivers,
                                                       const std::string& save_as) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(PreparedSave prepared,
                          PrepareSave(caller, context, sql, std::move(receivers), save_as));
  PARLEY_RETURN_IF_ERROR(prepared.explanation.status());
  SavePreview preview;
  preview.explanation = *std::move(prepared.explanation);
  if (preview.explanation.verdict.allowed()) {
    if (prepared.rule.ok()) {
      preview.rule = *std::move(prepared.rule);
      std::set<std::string> co_owners =
          policy::CoOwners(*preview.rule->custom.derived_from, context.member.name);
      preview.co_owners.assign(co_owners.begin(), co_owners.end());
    } else if (absl::IsFailedPrecondition(prepared.rule.status())) {
      preview.refused = std::string(prepared.rule.status().message());
    } else {
      return prepared.rule.status();
    }
  }
  nlohmann::json details = {{"sql_sha256", crypto::Sha256Hex(sql)},
                            {"allowed", preview.explanation.verdict.allowed()},
                            {"save_as", save_as}};
  PARLEY_RETURN_IF_ERROR(
      store->AppendAudit(collaboration, context.member.name, "query.explained", details.dump()));
  return preview;
}

absl::StatusOr<Submission> Service::Impl::SubmitSave(const identity::Caller& caller,
                                                     const std::string& collaboration,
                                                     const std::string& sql,
                                                     std::vector<std::string> receivers,
                                                     const std::string& save_as) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(caller, collaboration));
  PARLEY_ASSIGN_OR_RETURN(PreparedSave prepared,
                          PrepareSave(caller, context, sql, std::move(receivers), save_as));
  const Request& request = prepared.request;
  // A query that does not parse, bind or pass the rules is recorded as any other run is.
  if (!prepared.explanation.ok() || !prepared.explanation->verdict.allowed()) {
    return PrepareRun(context, request);
  }
  // A result that cannot carry its inputs' rules is refused before anything runs.
  PARLEY_ASSIGN_OR_RETURN(policy::Rule rule, std::move(prepared.rule));
  PARLEY_ASSIGN_OR_RETURN(Submission submission, PrepareRun(context, request));
  if (submission.run != nullptr) {
    submission.run->state().then = [this, caller, collaboration, save_as,
                                    rule = std::move(rule)](QueryOutcome outcome) {
      return SaveResult(caller, collaboration, save_as, rule, std::move(outcome));
    };
  }
  return submission;
}

absl::StatusOr<QueryOutcome> Service::Impl::RunAndSave(const identity::Caller& caller,
                                                       const std::string& collaboration,
                                                       const std::string& sql,
                                                       std::vector<std::string> receivers,
                                                       const std::string& save_as) {
  PARLEY_ASSIGN_OR_RETURN(Submission submission,
                          SubmitSave(caller, collaboration, sql, std::move(receivers), save_as));
  if (submission.finished) return *std::move(submission.finished);
  PARLEY_ASSIGN_OR_RETURN(QueryOutcome outcome, ExecutePrepared(submission.run->state(), nullptr));
  return submission.run->state().then(std::move(outcome));
}

absl::StatusOr<QueryOutcome> Service::Impl::SaveResult(const identity::Caller& caller,
                                                       const std::string& collaboration,
                                                       const std::string& save_as,
                                                       const policy::Rule& rule,
                                                       QueryOutcome outcome) {
  const std::string& actor = caller.member();
  if (!outcome.result) return outcome;  // failed, or withheld: nothing to save

  // One file per run (never another run's, even when two runs save under one name at once: the
  // catalog then registers one of them and the other's file is removed).
  fs::path path =
      SavedDirectory() / collaboration / absl::StrCat(save_as, "-", outcome.query_id, ".parquet");
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  PARLEY_RETURN_IF_ERROR(
      engine::WriteResult(*outcome.result, path.string(), engine::OutputFormat::kParquet));
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, error);
  auto cleanup = [&](absl::Status status) {
    fs::remove(path, error);
    return status;
  };
  NewTable table{collaboration, save_as, path.string(), {}, "files", ""};
  absl::Status added = AddTable(caller, table, /*saved_result=*/true);
  if (!added.ok()) return cleanup(added);
  // The derived rule is Parley's, not the owner's: set directly, validated against the saved
  // table's columns.
  absl::StatusOr<catalog::Table> record = store->GetTable(collaboration, save_as);
  if (!record.ok()) return record.status();
  std::string json = policy::CanonicalRuleJson(rule);
  absl::StatusOr<policy::Rule> reread = policy::ParseRule(json, record->allowed_columns);
  if (!reread.ok()) {
    return absl::InternalError(absl::StrCat("the derived rule of '", save_as,
                                            "' does not validate: ", reread.status().message()));
  }
  PARLEY_RETURN_IF_ERROR(store->SetRule(collaboration, save_as, json, actor));
  nlohmann::json details = {{"table", save_as}, {"query_id", outcome.query_id}};
  PARLEY_RETURN_IF_ERROR(store->AppendAudit(collaboration, actor, "table.saved", details.dump()));
  return outcome;
}

}  // namespace parley::service
