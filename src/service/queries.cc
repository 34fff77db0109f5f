#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crypto/sha256.h"
#include "policy/checker.h"
#include "rewrite/render.h"
#include "rewrite/rewrite.h"
#include "service/run_lock.h"
#include "service/service_impl.h"
#include "sql/parser.h"

namespace parley::service {

using Json = nlohmann::json;
namespace fs = std::filesystem;
using namespace internal;

namespace {

std::string Abilities(const catalog::Member& member) {
  std::vector<std::string> abilities;
  if (member.can_query) abilities.push_back("query");
  if (member.can_receive) abilities.push_back("receive");
  return abilities.empty() ? "none" : absl::StrJoin(abilities, ", ");
}

// The tables of `tables` whose names the text of a query that did not parse or bind mentions as
// a word (case-insensitively, quoted or not): a best guess at what it meant to read, so that the
// owners of those tables see the attempt in their query logs.
std::vector<std::string> TablesNamedIn(const std::string& sql,
                                       const std::vector<catalog::Table>& tables) {
  std::set<std::string> words;
  std::string word;
  for (char c : sql + " ") {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word += absl::ascii_tolower(static_cast<unsigned char>(c));
    } else if (!word.empty()) {
      words.insert(std::move(word));
      word.clear();
    }
  }
  std::vector<std::string> named;
  for (const catalog::Table& table : tables) {
    if (words.contains(table.name)) named.push_back(table.name);
  }
  return named;
}

}  // namespace

int64_t internal::MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

absl::StatusOr<Service::Impl::QueryContext> Service::Impl::LoadQueryContext(
    const std::string& actor, const std::string& collaboration) {
  QueryContext context;
  PARLEY_ASSIGN_OR_RETURN(catalog::PolicySnapshot snapshot,
                          store->GetPolicySnapshot(collaboration));
  context.collaboration = std::move(snapshot.collaboration);
  context.policy_digest = std::move(snapshot.digest);
  PARLEY_ASSIGN_OR_RETURN(context.member, ActiveMember(context.collaboration, actor));
  if (!context.member.can_query) {
    return absl::PermissionDeniedError(
        absl::StrCat("member '", actor, "' does not have the 'query' ability in collaboration '",
                     collaboration, "' (abilities: ", Abilities(context.member), ")"));
  }
  context.tables = TablesOfActiveMembers(context.collaboration, std::move(snapshot.tables));
  return context;
}

absl::StatusOr<Explanation> Service::Impl::Analyze(const QueryContext& context,
                                                   const Request& request) {
  auto start = std::chrono::steady_clock::now();
  CatalogSchemas schemas(context.tables);
  PARLEY_ASSIGN_OR_RETURN(CatalogRules rules, LoadRules(context.tables));
  PARLEY_ASSIGN_OR_RETURN(auto statement, sql::ParseSelect(request.parse_sql));
  PARLEY_ASSIGN_OR_RETURN(sql::BoundQuery bound,
                          sql::Bind(*statement, schemas, request.parse_sql, request.bind));
  Explanation explanation;
  std::set<std::string> seen;
  for (const sql::BoundTable* table : bound.BaseTables()) {
    if (seen.insert(table->schema->name).second) {
      explanation.tables.push_back(table->schema->name);
    }
  }
  policy::CheckContext check{context.member.name, request.template_id, request.receivers};
  explanation.verdict = policy::Check(bound, rules, check, request.parse_sql);
  if (explanation.verdict.allowed()) {
    rewrite::Rewrite(bound, explanation.verdict, request.parse_sql);
    // The rewrite refuses operations that could fail on the data and have no guard.
    if (explanation.verdict.allowed()) explanation.rendered_sql = rewrite::RenderDuckDb(bound);
  }
  explanation.front_end_micros = MicrosSince(start);
  return explanation;
}

absl::Status Service::Impl::PolicyChanged(const std::string& collaboration, int64_t query_id) {
  return absl::AbortedError(absl::StrCat(
      "query ", query_id, " failed: the policy of collaboration '", collaboration,
      "' changed during the run (a rule, table, member or template), so nothing was released; "
      "run it again to have it checked against the policy now in force"));
}

absl::Status Service::Impl::RecordRejection(const QueryContext& context, const Request& request,
                                            const std::string& verdict_json,
                                            const std::vector<std::string>& tables, int64_t* id) {
  catalog::QueryRecord record;
  record.collaboration = context.collaboration.name;
  record.runner = context.member.name;
  record.sql = request.sql;
  record.template_id = request.template_id;
  record.status = catalog::QueryStatus::kRejected;
  record.verdict_json = verdict_json;
  record.tables = tables;
  record.receivers = request.receivers;
  PARLEY_ASSIGN_OR_RETURN(*id, store->RecordQuery(record));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Service::Impl::ValidateReceivers(
    const QueryContext& context, std::vector<std::string> receivers) {
  if (receivers.empty()) {
    if (!context.member.can_receive) {
      return absl::InvalidArgumentError(absl::StrCat(
          "member '", context.member.name,
          "' cannot receive results; name a receiver with the 'receive' ability (--receiver)"));
    }
    receivers.push_back(context.member.name);
  }
  std::set<std::string> seen;
  for (const std::string& receiver : receivers) {
    if (!seen.insert(receiver).second) {
      return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver, "' is named twice"));
    }
    const catalog::Member* found = nullptr;
    for (const catalog::Member& member : context.collaboration.members) {
      if (member.name == receiver) found = &member;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("receiver '", receiver,
                                                     "' is not a member of collaboration '",
                                                     context.collaboration.name, "'"));
    }
    if (found->status != catalog::MemberStatus::kActive || !found->can_receive) {
      return absl::InvalidArgumentError(
          absl::StrCat("receiver '", receiver,
                       "' may not receive results (it needs the 'receive' ability "
                       "and an active membership)"));
    }
  }
  return receivers;
}

absl::StatusOr<Explanation> Service::Impl::Explain(const std::string& actor,
                                                   const std::string& collaboration,
                                                   const std::string& sql,
                                                   std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(actor, collaboration));
  Request request{sql, sql, {}, "", {}};
  // Explain judges the receivers a run would have; a runner who cannot receive and names none
  // gets the verdict on everything else.
  if (!receivers.empty() || context.member.can_receive) {
    PARLEY_ASSIGN_OR_RETURN(request.receivers, ValidateReceivers(context, std::move(receivers)));
  }
  absl::StatusOr<Explanation> explanation = Analyze(context, request);
  Json details = {{"sql_sha256", crypto::Sha256Hex(sql)},
                  {"allowed", explanation.ok() && explanation->verdict.allowed()}};
  PARLEY_RETURN_IF_ERROR(
      store->AppendAudit(collaboration, actor, "query.explained", details.dump()));
  return explanation;
}

absl::StatusOr<QueryOutcome> Service::Impl::Run(const std::string& actor,
                                                const std::string& collaboration,
                                                const std::string& sql,
                                                std::vector<std::string> receivers) {
  PARLEY_ASSIGN_OR_RETURN(auto context, LoadQueryContext(actor, collaboration));
  Request request{sql, sql, {}, "", {}};
  PARLEY_ASSIGN_OR_RETURN(request.receivers, ValidateReceivers(context, std::move(receivers)));
  return RunRequest(context, request);
}

absl::StatusOr<QueryOutcome> Service::Impl::RunRequest(const QueryContext& context,
                                                       const Request& request) {
  const std::string& actor = context.member.name;
  const std::string& collaboration = context.collaboration.name;
  Json submitted = {{"sql_sha256", crypto::Sha256Hex(request.sql)},
                    {"receivers", request.receivers}};
  if (!request.template_id.empty()) submitted["template_id"] = request.template_id;
  PARLEY_RETURN_IF_ERROR(
      store->AppendAudit(collaboration, actor, "query.submitted", submitted.dump()));

  QueryOutcome outcome;
  outcome.receivers = request.receivers;
  absl::StatusOr<Explanation> explanation = Analyze(context, request);
  if (!explanation.ok()) {
    if (!absl::IsInvalidArgument(explanation.status())) return explanation.status();
    Json verdict = Json::array(
        {{{"code", "invalid_query"}, {"message", std::string(explanation.status().message())}}});
    PARLEY_RETURN_IF_ERROR(RecordRejection(context, request, verdict.dump(),
                                           TablesNamedIn(request.sql, context.tables),
                                           &outcome.query_id));
    return explanation.status();
  }
  outcome.explanation = *std::move(explanation);
  if (!outcome.explanation.verdict.allowed()) {
    PARLEY_RETURN_IF_ERROR(RecordRejection(
        context, request, policy::ViolationsJson(outcome.explanation.verdict.violations),
        outcome.explanation.tables, &outcome.query_id));
    return outcome;
  }

  // Recorded as running before it executes (one durable write), so that a run whose process
  // dies still shows in the owners' logs: as killed, once its lock is found free.
  PARLEY_ASSIGN_OR_RETURN(RunLock lock, RunLock::Acquire(RunLockDirectory()));
  catalog::QueryRecord record;
  record.collaboration = collaboration;
  record.runner = actor;
  record.sql = request.sql;
  record.template_id = request.template_id;
  record.rendered_sql = outcome.explanation.rendered_sql;
  record.receivers = request.receivers;
  record.tables = outcome.explanation.tables;
  record.status = catalog::QueryStatus::kRunning;
  record.run_lock = lock.name();
  PARLEY_ASSIGN_OR_RETURN(outcome.query_id, store->RecordQuery(record));
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<exec::ResultTable> result = Execute(context, outcome.explanation);
  outcome.run_micros = MicrosSince(start);
  if (options.before_delivery) options.before_delivery();
  PARLEY_RETURN_IF_ERROR(FinishRun(context, request, outcome.query_id, result));
  return Deliver(context, request, std::move(outcome), std::move(result));
}

absl::Status Service::Impl::FinishRun(const QueryContext& context, const Request& request,
                                      int64_t query_id,
                                      const absl::StatusOr<exec::ResultTable>& result) {
  const std::string& collaboration = context.collaboration.name;
  // Delivery: the outcome is recorded, and released, only if the policy the query was checked
  // against is still the policy now — the store compares the digests in the transaction that
  // ends the query. A failure is an outcome too: its message came from a run the policy may no
  // longer allow.
  auto finish = [&](const catalog::QueryRecord& finished) -> absl::Status {
    PARLEY_ASSIGN_OR_RETURN(
        catalog::Delivery delivery,
        store->FinishQuery(collaboration, query_id, finished, context.policy_digest));
    if (delivery.policy_changed) return PolicyChanged(collaboration, query_id);
    return absl::OkStatus();
  };
  catalog::QueryRecord finished;
  if (!result.ok()) {
    // The time limit or an interrupt stopped it: cancelled, not failed.
    bool cancelled =
        absl::IsDeadlineExceeded(result.status()) || absl::IsCancelled(result.status());
    finished.status = cancelled ? catalog::QueryStatus::kCancelled : catalog::QueryStatus::kFailed;
    finished.error = std::string(result.status().message());
    return finish(finished);
  }
  // The result is stored once, for its receivers.
  std::string stem =
      absl::StrCat("result-", std::chrono::system_clock::now().time_since_epoch().count(), "-",
                   crypto::Sha256Hex(absl::StrCat(request.sql, context.member.name)).substr(0, 8));
  std::filesystem::path path = ResultPath(collaboration, stem);
  absl::Status written = WritePrivateFile(path, ResultToJson(*result));
  if (!written.ok()) {
    finished.status = catalog::QueryStatus::kFailed;
    finished.error = std::string(written.message());
    PARLEY_RETURN_IF_ERROR(finish(finished));
    return written;
  }
  finished.status = catalog::QueryStatus::kSucceeded;
  finished.result_path = path.string();
  finished.row_count = static_cast<int64_t>(result->rows.size());
  absl::Status recorded = finish(finished);
  if (!recorded.ok()) {
    std::error_code ignored;
    fs::remove(path, ignored);  // no record of it or no release: no result is left behind
  }
  return recorded;
}

QueryOutcome Service::Impl::WithheldOutcome(QueryOutcome outcome) {
  outcome.result.reset();
  outcome.row_count.reset();
  outcome.run_micros = 0;
  return outcome;
}

absl::StatusOr<QueryOutcome> Service::Impl::Deliver(const QueryContext& context,
                                                    const Request& request, QueryOutcome outcome,
                                                    absl::StatusOr<exec::ResultTable> result) {
  const std::string& actor = context.member.name;
  bool receives = std::find(request.receivers.begin(), request.receivers.end(), actor) !=
                  request.receivers.end();
  if (!receives) {
    // Under a custom rule (or a template) an error can depend on any value of the tables read —
    // there is no threshold whose guards make failures data-independent — so a runner who does
    // not receive the result gets the same answer whether the run succeeded or failed.
    bool custom = !request.template_id.empty() ||
                  outcome.explanation.verdict.rule_kind == policy::RuleKind::kCustom;
    if (!result.ok() && !custom) return result.status();
    return WithheldOutcome(std::move(outcome));
  }
  if (!result.ok()) return result.status();
  outcome.row_count = static_cast<int64_t>(result->rows.size());
  outcome.result = *std::move(result);
  return outcome;
}

}  // namespace parley::service
