#include "policy/custom_check.h"

#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/custom_controls.h"
#include "policy/derived.h"
#include "policy/equivalence.h"
#include "policy/operators.h"
#include "policy/summary.h"
#include "policy/violation_builder.h"

namespace parley::policy {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;

// Pure functions a custom query may call: aggregates, window functions and common scalar
// functions. Anything that reads files, touches settings or has side effects is absent, and
// what is absent is refused.
const std::set<std::string>& CustomFunctions() {
  static const std::set<std::string> kFunctions = {
      // aggregates
      "count", "sum", "avg", "min", "max", "stddev", "stddev_pop", "stddev_samp", "variance",
      "var_pop", "var_samp", "median", "mode", "bool_and", "bool_or", "corr", "covar_pop",
      "covar_samp", "approx_count_distinct", "quantile_cont", "quantile_disc", "any_value",
      "arg_min", "arg_max", "min_by", "max_by", "product", "string_agg",
      // window functions
      "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
      "first_value", "last_value", "nth_value",
      // numbers
      "abs", "ceil", "ceiling", "floor", "round", "trunc", "ln", "log", "log10", "log2", "sqrt",
      "cbrt", "power", "pow", "exp", "sign", "mod", "greatest", "least",
      // conditionals
      "coalesce", "nullif",
      // text
      "upper", "lower", "trim", "ltrim", "rtrim", "length", "char_length", "substring", "substr",
      "concat", "concat_ws", "left", "right", "replace", "lpad", "rpad", "reverse", "strpos",
      "starts_with", "split_part", "md5", "sha256", "regexp_matches", "regexp_replace",
      "regexp_extract",
      // dates
      "date_trunc", "date_part", "extract", "date_diff", "datediff", "make_date", "year", "month",
      "day", "dayofweek", "quarter", "week", "strftime"};
  return kFunctions;
}

// Calls `visit` on every expression of every query in the statement, with the clause it is in.
class StatementWalker {
 public:
  using Visit = std::function<void(const BoundExpr&)>;
  explicit StatementWalker(Visit visit) : visit_(std::move(visit)) {}

  void Query(const BoundQuery& query) {
    for (const sql::BoundCte& cte : query.ctes) Query(*cte.query);
    if (query.set_left) Query(*query.set_left);
    if (query.set_right) Query(*query.set_right);
    for (const sql::BoundTable& table : query.tables) {
      if (table.derived && table.cte_id < 0) Query(*table.derived);
    }
    std::function<void(const sql::BoundFrom&)> from = [&](const sql::BoundFrom& node) {
      if (node.left) from(*node.left);
      if (node.right) from(*node.right);
      if (node.on) Expr(*node.on);
    };
    for (const auto& root : query.from) from(*root);
    for (const sql::BoundSelectItem& item : query.select) {
      if (item.expr) Expr(*item.expr);
    }
    if (query.where) Expr(*query.where);
    for (const auto& group : query.group_by) Expr(*group);
    if (query.having) Expr(*query.having);
    for (const sql::BoundOrderItem& order : query.order_by) Expr(*order.expr);
  }

 private:
  void Expr(const BoundExpr& expr) {
    visit_(expr);
    for (const auto& arg : expr.args) Expr(*arg);
    for (const auto& part : expr.partition_by) Expr(*part);
    for (const sql::BoundOrderItem& order : expr.window_order) Expr(*order.expr);
    if (expr.subquery) Query(*expr.subquery);
  }

  Visit visit_;
};

class CustomChecker {
 public:
  CustomChecker(const BoundQuery& query, const RuleProvider& rules, const CheckContext& context,
                std::string_view source_text, Verdict& verdict)
      : query_(query),
        rules_(rules),
        context_(context),
        source_text_(source_text),
        verdict_(verdict) {}

  void Run() {
    std::set<std::string> seen;
    for (const sql::BoundTable* table : query_.BaseTables()) {
      if (!seen.insert(table->schema->name).second) continue;
      const Rule* rule = rules_.RuleFor(table->schema->name);
      if (rule == nullptr || rule->kind != RuleKind::kCustom) continue;
      CheckAnalysis(*table->schema, rule->custom, table->location);
      CheckReceivers(*table->schema, rule->custom);
    }
    CheckFunctions();
    CheckOutputs();
    CheckCustomControls(query_, rules_, source_text_, verdict_);
  }

 private:
  void Add(std::string code, const sql::TableSchema* table, std::string column, std::string clause,
           int location, std::string message, std::string hint = "") {
    Attribution who = table != nullptr ? AttributeTo(*table) : Attribution{};
    verdict_.violations.push_back(MakeViolation("custom", std::move(code), std::move(who),
                                                std::move(column), std::move(clause), location,
                                                std::move(message), std::move(hint)));
  }

  void CheckAnalysis(const sql::TableSchema& table, const CustomRule& rule, int location) {
    // A table's owner may analyse its own table, and a listed provider may send any query — so
    // also any template; disallowed output columns still apply to both.
    if (MaySendFreeFormQuery(rule, table.owner, context_.runner)) return;
    if (!context_.template_id.empty() && rule.derived_from) {
      // A saved result's table: every co-owner approves, each for themselves.
      std::vector<std::string> pending =
          PendingApprovals(*rule.derived_from, table.owner, context_.template_id);
      if (pending.empty()) return;
      Add("analysis_not_approved", &table, "", "", -1,
          absl::StrCat("table '", table.name, "' holds a saved query result and analysis template ",
                       context_.template_id.substr(0, 12),
                       " has not been approved by all its co-owners"),
          absl::StrCat("waiting for ", absl::StrJoin(pending, ", "),
                       " to approve it (parley template approve)"));
      return;
    }
    if (!context_.template_id.empty()) {
      if (rule.allowed_analyses.contains(context_.template_id)) return;
      Add("analysis_not_approved", &table, "", "", -1,
          absl::StrCat("table '", table.name, "' has not approved analysis template ",
                       context_.template_id.substr(0, 12)),
          absl::StrCat("its owner '", table.owner, "' can approve it"));
      return;
    }
    if (!rule.any_query) {
      Add("query_not_allowed", &table, "", sql::kClauseFrom, location,
          absl::StrCat("table '", table.name,
                       rule.derived_from
                           ? "' holds a saved query result and may only be read by analysis "
                             "templates all its co-owners approved"
                           : "' may only be read by analysis templates its owner approved"),
          "run an approved template");
      return;
    }
    Add("query_not_allowed", &table, "", sql::kClauseFrom, location,
        absl::StrCat("member '", context_.runner,
                     "' is not an allowed analysis provider of table '", table.name, "'"),
        absl::StrCat("allowed providers: ", absl::StrJoin(rule.allowed_analysis_providers, ", ")));
  }

  void CheckReceivers(const sql::TableSchema& table, const CustomRule& rule) {
    if (rule.allowed_result_receivers.empty()) return;
    for (const std::string& receiver : context_.receivers) {
      if (rule.allowed_result_receivers.contains(receiver)) continue;
      Add("receiver_not_allowed", &table, "", "", -1,
          absl::StrCat("member '", receiver, "' may not receive results computed from table '",
                       table.name, "'"),
          absl::StrCat("allowed receivers: ", absl::StrJoin(rule.allowed_result_receivers, ", ")));
    }
  }

  void CheckFunctions() {
    StatementWalker walker([this](const BoundExpr& expr) {
      switch (expr.kind) {
        case BoundExprKind::kScalar:
        case BoundExprKind::kAggregate:
        case BoundExprKind::kWindow:
          if (!CustomFunctions().contains(expr.name)) {
            Add("function_not_allowed", nullptr, "", "", expr.location,
                absl::StrCat("function ", absl::AsciiStrToUpper(expr.name),
                             " is not allowed in custom queries"),
                "custom queries may call common aggregate, window, numeric, text and date "
                "functions");
          }
          break;
        case BoundExprKind::kUnaryOp:
        case BoundExprKind::kBinaryOp:
          if (!IsOperatorAllowed(RuleKind::kCustom, expr.name)) {
            Add("operator_not_allowed", nullptr, "", "", expr.location,
                absl::StrCat("operator '", expr.name, "' is not allowed in custom queries"));
          }
          break;
        default:
          break;
      }
    });
    walker.Query(query_);
  }

  bool IsDisallowed(const sql::TableSchema& table, const std::string& column) const {
    const Rule* rule = rules_.RuleFor(table.name);
    return rule != nullptr && rule->kind == RuleKind::kCustom &&
           rule->custom.disallowed_output_columns.contains(column);
  }

  // Nothing derived from a disallowed column may be output, nor anything the query compares
  // equal to one (equivalence.h).
  void CheckOutputs() {
    ProtectionTracer tracer(query_,
                            [this](const sql::TableSchema& table, const std::string& column) {
                              return IsDisallowed(table, column);
                            });
    for (size_t i = 0; i < query_.select.size(); ++i) {
      const sql::BoundSelectItem& item = query_.select[i];
      ValueSources sources = tracer.Output(i);
      for (const BaseColumn& column : sources.columns) {
        if (!IsDisallowed(*column.first, column.second)) continue;
        Add("disallowed_output_column", column.first, column.second, sql::kClauseSelect,
            item.location,
            absl::StrCat("output column '", item.output_name, "' is derived from column '",
                         column.second, "' of table '", column.first->name,
                         "', which may not be output"),
            "disallowed columns may be used in joins, filters, GROUP BY and the final ORDER BY, "
            "but nothing derived from them may be returned — including window functions "
            "partitioned or ordered by them");
      }
      for (const auto& [key, reason] : sources.equalities) {
        // An output derived from the column itself is reported as such, once.
        if (sources.columns.contains(reason.protected_column)) continue;
        Add("protected_by_equality", reason.protected_column.first, reason.protected_column.second,
            sql::kClauseSelect, item.location,
            ProtectedByEqualityMessage(absl::StrCat("output column '", item.output_name, "'"),
                                       reason, source_text_),
            kProtectedByEqualityHint);
      }
    }
  }

  const BoundQuery& query_;
  const RuleProvider& rules_;
  const CheckContext& context_;
  std::string_view source_text_;
  Verdict& verdict_;
};

}  // namespace

void CheckCustom(const sql::BoundQuery& query, const RuleProvider& rules,
                 const CheckContext& context, std::string_view source_text, Verdict& verdict) {
  CustomChecker(query, rules, context, source_text, verdict).Run();
}

}  // namespace parley::policy
