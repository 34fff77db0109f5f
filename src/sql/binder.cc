#include "sql/binder.h"

#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/parser.h"

namespace parley::sql {
namespace {

// Debian's Abseil has its own string_view type, so convert explicitly.
bool NamesEqual(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// Collects every table name a statement reads, in subqueries and set branches too, so that the
// checker can judge a query the binder does not bind in full (CTEs, set operations).
void CollectTableNames(const SelectStatement& statement, std::vector<std::string>& names);

void CollectFromExpr(const Expr* expr, std::vector<std::string>& names) {
  if (expr == nullptr) return;
  if (expr->subquery) CollectTableNames(*expr->subquery, names);
  for (const auto& arg : expr->args) CollectFromExpr(arg.get(), names);
}

void CollectFromRef(const TableRef* ref, std::vector<std::string>& names) {
  if (ref == nullptr) return;
  if (ref->kind == TableRefKind::kTable) names.push_back(ref->name);
  if (ref->subquery) CollectTableNames(*ref->subquery, names);
  CollectFromRef(ref->left.get(), names);
  CollectFromRef(ref->right.get(), names);
  CollectFromExpr(ref->on.get(), names);
}

void CollectTableNames(const SelectStatement& statement, std::vector<std::string>& names) {
  for (const auto& cte : statement.ctes) CollectTableNames(*cte, names);
  for (const auto& ref : statement.from) CollectFromRef(ref.get(), names);
  for (const auto& item : statement.select) CollectFromExpr(item.expr.get(), names);
  CollectFromExpr(statement.where.get(), names);
  for (const auto& group : statement.group_by) CollectFromExpr(group.get(), names);
  CollectFromExpr(statement.having.get(), names);
  for (const auto& order : statement.order_by) CollectFromExpr(order.expr.get(), names);
  if (statement.set_left) CollectTableNames(*statement.set_left, names);
  if (statement.set_right) CollectTableNames(*statement.set_right, names);
}

// The first subquery in FROM, in joins too; nullptr when there is none.
const TableRef* FindFromSubquery(const TableRef* ref) {
  if (ref == nullptr) return nullptr;
  if (ref->kind == TableRefKind::kSubquery) return ref;
  if (const TableRef* left = FindFromSubquery(ref->left.get())) return left;
  return FindFromSubquery(ref->right.get());
}

class Binder {
 public:
  Binder(const SchemaProvider& tables, std::string_view source)
      : catalog_(tables), source_(source) {}

  absl::StatusOr<BoundQuery> Run(const SelectStatement& statement) {
    if (statement.has_with || statement.set_operation != SetOperation::kNone) {
      return BindOpaqueStatement(statement);
    }
    // Names in the outer query may refer to a FROM subquery's output columns, which Parley does
    // not model: such a statement is judged on its constructs and tables alone.
    for (const auto& ref : statement.from) {
      if (const TableRef* subquery = FindFromSubquery(ref.get())) {
        AddConstruct("a subquery in FROM", kClauseFrom, subquery->location);
        return BindOpaqueStatement(statement);
      }
    }
    for (const std::string& what : statement.unsupported) {
      return Error(absl::StrCat(what, " is not supported"), statement.location);
    }
    if (statement.from.empty()) {
      return Error("the query reads no table: a FROM clause is required", statement.location);
    }
    for (size_t i = 0; i < statement.from.size(); ++i) {
      if (i > 0) {
        AddConstruct("a comma-separated FROM list (an implicit cross join)", kClauseFrom,
                     statement.from[i]->location);
      }
      PARLEY_ASSIGN_OR_RETURN(auto from, BindFrom(*statement.from[i]));
      query_.from.push_back(std::move(from));
    }
    if (statement.distinct_on) return Error("DISTINCT ON is not supported", statement.location);
    if (statement.distinct) {
      query_.distinct = true;
      AddConstruct("SELECT DISTINCT", kClauseSelect, statement.location);
    }
    for (const SelectItem& item : statement.select) {
      BoundSelectItem bound;
      bound.location = item.location;
      PARLEY_ASSIGN_OR_RETURN(bound.expr, BindExpr(*item.expr, kClauseSelect));
      bound.output_name = item.alias.empty() ? OutputName(*item.expr) : item.alias;
      query_.select.push_back(std::move(bound));
    }
    if (statement.where) {
      PARLEY_ASSIGN_OR_RETURN(query_.where, BindExpr(*statement.where, kClauseWhere));
    }
    for (const auto& group : statement.group_by) {
      PARLEY_ASSIGN_OR_RETURN(auto bound, BindGroupOrOrder(*group, kClauseGroupBy));
      query_.group_by.push_back(std::move(bound));
    }
    if (statement.having) {
      PARLEY_ASSIGN_OR_RETURN(query_.having, BindExpr(*statement.having, kClauseHaving));
    }
    for (const OrderItem& order : statement.order_by) {
      BoundOrderItem bound;
      bound.descending = order.descending;
      bound.nulls_first = order.nulls_first;
      bound.location = order.expr->location;
      PARLEY_ASSIGN_OR_RETURN(bound.expr, BindGroupOrOrder(*order.expr, kClauseOrderBy));
      query_.order_by.push_back(std::move(bound));
    }
    if (statement.limit) {
      AddConstruct("LIMIT", kClauseLimit, statement.limit->location);
      PARLEY_ASSIGN_OR_RETURN(query_.limit, IntegerConstant(*statement.limit, "LIMIT"));
    }
    if (statement.offset) {
      AddConstruct("OFFSET", kClauseLimit, statement.offset->location);
      PARLEY_ASSIGN_OR_RETURN(query_.offset, IntegerConstant(*statement.offset, "OFFSET"));
    }
    // Tables read by subqueries are added last, so that they never take part in resolving the
    // outer query's names; they are there for the checker to find their rules.
    for (BoundTable& table : subquery_tables_) {
      table.index = static_cast<int>(query_.tables.size());
      query_.tables.push_back(std::move(table));
    }
    return std::move(query_);
  }

 private:
  absl::Status Error(std::string message, int location) const {
    std::string position = DescribePosition(source_, location);
    if (!position.empty()) absl::StrAppend(&message, " (", position, ")");
    return absl::InvalidArgumentError(message);
  }

  void AddConstruct(std::string what, const char* clause, int location) {
    query_.constructs.push_back(Construct{std::move(what), clause, location});
  }

  // A statement with CTEs or set operations: its tables are recorded so the checker can find
  // their rules, and the construct is listed; nothing else is bound.
  absl::StatusOr<BoundQuery> BindOpaqueStatement(const SelectStatement& statement) {
    if (statement.has_with) AddConstruct("a CTE (WITH)", kClauseSelect, statement.with_location);
    if (statement.set_operation != SetOperation::kNone) {
      const char* names[] = {"", "UNION", "INTERSECT", "EXCEPT"};
      AddConstruct(
          absl::StrCat("a set operation (", names[static_cast<int>(statement.set_operation)], ")"),
          kClauseSelect, statement.location);
    }
    std::vector<std::string> names;
    CollectTableNames(statement, names);
    std::unordered_set<std::string> seen;
    for (const std::string& name : names) {
      const TableSchema* schema = catalog_.FindTable(name);
      if (schema == nullptr || !seen.insert(schema->name).second) continue;
      query_.tables.push_back(BoundTable{static_cast<int>(query_.tables.size()), schema, name, -1});
    }
    return std::move(query_);
  }

  absl::StatusOr<std::unique_ptr<BoundFrom>> BindFrom(const TableRef& ref) {
    auto from = std::make_unique<BoundFrom>();
    from->location = ref.location;
    switch (ref.kind) {
      case TableRefKind::kTable: {
        if (!ref.schema.empty()) {
          return Error(absl::StrCat("schema-qualified table names are not supported ('", ref.schema,
                                    ".", ref.name, "')"),
                       ref.location);
        }
        const TableSchema* schema = catalog_.FindTable(ref.name);
        if (schema == nullptr) {
          return Error(absl::StrCat("table '", ref.name, "' does not exist in this collaboration"),
                       ref.location);
        }
        std::string alias = ref.alias.empty() ? schema->name : ref.alias;
        for (const BoundTable& table : query_.tables) {
          if (NamesEqual(table.alias, alias)) {
            return Error(absl::StrCat("table name '", alias,
                                      "' is used more than once in FROM; give each an alias"),
                         ref.location);
          }
        }
        from->table_index = static_cast<int>(query_.tables.size());
        query_.tables.push_back(BoundTable{from->table_index, schema, alias, ref.location});
        return from;
      }
      case TableRefKind::kJoin: {
        from->is_join = true;
        from->join_type = ref.join_type;
        PARLEY_ASSIGN_OR_RETURN(from->left, BindFrom(*ref.left));
        PARLEY_ASSIGN_OR_RETURN(from->right, BindFrom(*ref.right));
        if (ref.natural || ref.has_using) {
          return Error("NATURAL JOIN and JOIN ... USING are not supported; write JOIN ... ON",
                       ref.location);
        }
        switch (ref.join_type) {
          case JoinType::kLeft:
            AddConstruct("a LEFT JOIN", kClauseFrom, ref.location);
            break;
          case JoinType::kRight:
            AddConstruct("a RIGHT JOIN", kClauseFrom, ref.location);
            break;
          case JoinType::kFull:
            AddConstruct("a FULL JOIN", kClauseFrom, ref.location);
            break;
          case JoinType::kCross:
            AddConstruct("a CROSS JOIN", kClauseFrom, ref.location);
            break;
          case JoinType::kInner:
            break;
        }
        if (ref.on) {
          PARLEY_ASSIGN_OR_RETURN(from->on, BindExpr(*ref.on, kClauseJoinOn));
        }
        return from;
      }
      case TableRefKind::kSubquery:  // Run() binds such statements opaquely
      case TableRefKind::kUnsupported:
        break;
    }
    return Error(absl::StrCat(ref.what, " is not supported in FROM"), ref.location);
  }

  absl::StatusOr<std::unique_ptr<BoundExpr>> ResolveColumn(const Expr& expr) {
    auto bound = std::make_unique<BoundExpr>();
    bound->kind = BoundExprKind::kColumn;
    bound->location = expr.location;
    const std::string& column = expr.name_parts.back();
    std::string qualifier = expr.name_parts.size() == 2 ? expr.name_parts[0] : "";
    std::vector<std::string> candidates;
    for (const BoundTable& table : query_.tables) {
      if (!qualifier.empty() && !NamesEqual(table.alias, qualifier)) continue;
      if (!qualifier.empty()) bound->table_index = table.index;
      for (const ColumnInfo& info : table.schema->columns) {
        if (!NamesEqual(info.name, column)) continue;
        candidates.push_back(table.alias);
        bound->table_index = table.index;
        bound->column = info.name;
        bound->type = info.type;
      }
    }
    if (!qualifier.empty() && bound->table_index < 0) {
      return Error(absl::StrCat("'", qualifier, "' is not a table or alias in FROM"),
                   expr.location);
    }
    if (candidates.empty()) {
      if (!qualifier.empty()) {
        return Error(absl::StrCat("column '", column, "' does not exist in table '",
                                  query_.tables[bound->table_index].schema->name, "'"),
                     expr.location);
      }
      std::vector<std::string> names;
      for (const BoundTable& table : query_.tables) {
        std::string name = absl::StrCat("'", table.schema->name, "'");
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
      return Error(absl::StrCat("column '", column, "' does not exist in ",
                                names.size() == 1 ? "table " : "any of the tables ",
                                absl::StrJoin(names, ", ")),
                   expr.location);
    }
    if (candidates.size() > 1) {
      return Error(absl::StrCat("column reference '", column, "' is ambiguous (",
                                absl::StrJoin(candidates, ", "), "); qualify it with a table"),
                   expr.location);
    }
    return bound;
  }

  absl::StatusOr<std::unique_ptr<BoundExpr>> BindExpr(const Expr& expr, const char* clause) {
    auto bound = std::make_unique<BoundExpr>();
    bound->location = expr.location;
    switch (expr.kind) {
      case ExprKind::kColumnRef:
        return ResolveColumn(expr);
      case ExprKind::kStar:
        AddConstruct("SELECT *", clause, expr.location);
        bound->kind = BoundExprKind::kOpaque;
        bound->what = "*";
        return bound;
      case ExprKind::kConstant:
        bound->kind = BoundExprKind::kConstant;
        bound->constant = expr.constant;
        return bound;
      case ExprKind::kSubquery: {
        AddConstruct(absl::StrCat("a subquery (", expr.what, ")"), clause, expr.location);
        std::vector<std::string> names;
        CollectTableNames(*expr.subquery, names);
        for (const std::string& name : names) {
          if (const TableSchema* schema = catalog_.FindTable(name)) {
            subquery_tables_.push_back(BoundTable{0, schema, name, expr.location, true});
          }
        }
        bound->kind = BoundExprKind::kOpaque;
        bound->what = "subquery";
        return bound;
      }
      case ExprKind::kFunctionCall: {
        if (expr.has_filter_or_order) {
          return Error(absl::StrCat("FILTER, WITHIN GROUP, VARIADIC and ORDER BY inside ",
                                    expr.name, "() are not supported"),
                       expr.location);
        }
        if (expr.has_over) {
          AddConstruct(absl::StrCat("a window function (", expr.name, " OVER)"), clause,
                       expr.location);
          bound->kind = BoundExprKind::kOpaque;
          bound->what = "window function";
          return bound;
        }
        bound->kind =
            IsAggregateFunction(expr.name) ? BoundExprKind::kAggregate : BoundExprKind::kScalar;
        bound->name = expr.name;
        bound->distinct = expr.distinct;
        bound->star_argument = expr.star_argument;
        if (bound->kind == BoundExprKind::kScalar && (expr.distinct || expr.star_argument)) {
          return Error(absl::StrCat(expr.name,
                                    "() is not an aggregate function; DISTINCT and * "
                                    "are only allowed in aggregates"),
                       expr.location);
        }
        break;
      }
      case ExprKind::kUnaryOp:
        bound->kind = BoundExprKind::kUnaryOp;
        bound->name = expr.name;
        break;
      case ExprKind::kBinaryOp:
        bound->kind = BoundExprKind::kBinaryOp;
        bound->name = expr.name;
        bound->negated = expr.negated;
        break;
      case ExprKind::kIsNull:
        bound->kind = BoundExprKind::kIsNull;
        bound->negated = expr.negated;
        break;
      case ExprKind::kBetween:
        bound->kind = BoundExprKind::kBetween;
        bound->negated = expr.negated;
        break;
      case ExprKind::kInList:
        bound->kind = BoundExprKind::kInList;
        bound->negated = expr.negated;
        break;
      case ExprKind::kCase:
        bound->kind = BoundExprKind::kCase;
        bound->case_has_operand = expr.case_has_operand;
        bound->case_has_else = expr.case_has_else;
        break;
      case ExprKind::kCast:
        bound->kind = BoundExprKind::kCast;
        bound->type_name = DuckDbTypeFor(expr.type_name);
        if (bound->type_name.empty()) {
          return Error(absl::StrCat("casting to type '", expr.type_name, "' is not supported"),
                       expr.location);
        }
        break;
      case ExprKind::kUnsupported:
        return Error(absl::StrCat(expr.what, " is not supported"), expr.location);
    }
    for (const auto& arg : expr.args) {
      PARLEY_ASSIGN_OR_RETURN(auto bound_arg, BindExpr(*arg, clause));
      bound->args.push_back(std::move(bound_arg));
    }
    return bound;
  }

  // GROUP BY and ORDER BY accept an ordinal (1-based position in SELECT) or an output name as
  // well as an expression. GROUP BY prefers input columns, ORDER BY output names, as PostgreSQL.
  absl::StatusOr<std::unique_ptr<BoundExpr>> BindGroupOrOrder(const Expr& expr,
                                                              const char* clause) {
    bool is_order = std::string_view(clause) == kClauseOrderBy;
    if (expr.kind == ExprKind::kConstant && expr.constant.kind == ConstantKind::kInteger) {
      int64_t ordinal = 0;
      if (!absl::SimpleAtoi(expr.constant.text, &ordinal) || ordinal < 1 ||
          ordinal > static_cast<int64_t>(query_.select.size())) {
        return Error(absl::StrCat(clause, " position ", expr.constant.text,
                                  " is not in the select list (1 to ", query_.select.size(), ")"),
                     expr.location);
      }
      auto bound = query_.select[ordinal - 1].expr->Clone();
      return bound;
    }
    if (expr.kind == ExprKind::kColumnRef && expr.name_parts.size() == 1) {
      const BoundSelectItem* by_name = nullptr;
      int matches = 0;
      for (const BoundSelectItem& item : query_.select) {
        if (NamesEqual(item.output_name, expr.name_parts[0])) {
          by_name = &item;
          ++matches;
        }
      }
      bool is_input_column = false;
      for (const BoundTable& table : query_.tables) {
        for (const ColumnInfo& info : table.schema->columns) {
          if (NamesEqual(info.name, expr.name_parts[0])) is_input_column = true;
        }
      }
      if (matches == 1 && (is_order || !is_input_column)) {
        auto bound = by_name->expr->Clone();
        bound->location = expr.location;
        return bound;
      }
    }
    return BindExpr(expr, clause);
  }

  absl::StatusOr<std::optional<int64_t>> IntegerConstant(const Expr& expr, const char* what) {
    int64_t value = 0;
    if (expr.kind != ExprKind::kConstant || expr.constant.kind != ConstantKind::kInteger ||
        !absl::SimpleAtoi(expr.constant.text, &value)) {
      return Error(absl::StrCat(what, " must be an integer constant"), expr.location);
    }
    return std::optional<int64_t>(value);
  }

  static std::string OutputName(const Expr& expr) {
    switch (expr.kind) {
      case ExprKind::kColumnRef:
        return expr.name_parts.back();
      case ExprKind::kFunctionCall:
        return expr.name;
      case ExprKind::kCast:
        return OutputName(*expr.args[0]);
      case ExprKind::kCase:
        return "case";
      default:
        return "?column?";
    }
  }

  const SchemaProvider& catalog_;
  std::string_view source_;
  BoundQuery query_;
  std::vector<BoundTable> subquery_tables_;
};

}  // namespace

bool IsAggregateFunction(std::string_view name) {
  static const std::unordered_set<std::string_view> kAggregates = {"count",
                                                                   "sum",
                                                                   "avg",
                                                                   "min",
                                                                   "max",
                                                                   "stddev",
                                                                   "stddev_pop",
                                                                   "stddev_samp",
                                                                   "variance",
                                                                   "var_pop",
                                                                   "var_samp",
                                                                   "median",
                                                                   "mode",
                                                                   "string_agg",
                                                                   "array_agg",
                                                                   "list",
                                                                   "bool_and",
                                                                   "bool_or",
                                                                   "bit_and",
                                                                   "bit_or",
                                                                   "bit_xor",
                                                                   "every",
                                                                   "corr",
                                                                   "covar_pop",
                                                                   "covar_samp",
                                                                   "approx_count_distinct",
                                                                   "first",
                                                                   "last",
                                                                   "any_value",
                                                                   "arg_min",
                                                                   "arg_max",
                                                                   "argmin",
                                                                   "argmax",
                                                                   "min_by",
                                                                   "max_by",
                                                                   "quantile",
                                                                   "quantile_cont",
                                                                   "quantile_disc",
                                                                   "percentile_cont",
                                                                   "percentile_disc",
                                                                   "histogram",
                                                                   "product",
                                                                   "entropy",
                                                                   "kurtosis",
                                                                   "skewness",
                                                                   "regr_slope",
                                                                   "regr_intercept",
                                                                   "json_agg",
                                                                   "jsonb_agg",
                                                                   "xmlagg",
                                                                   "group_concat",
                                                                   "listagg",
                                                                   "fsum",
                                                                   "sumkahan",
                                                                   "kahan_sum",
                                                                   "favg",
                                                                   "count_star",
                                                                   "countif",
                                                                   "sum_no_overflow"};
  return kAggregates.contains(name);
}

std::string DuckDbTypeFor(std::string_view pg_type_name) {
  std::string_view base = pg_type_name.substr(0, pg_type_name.find('('));
  std::string_view modifiers =
      base.size() < pg_type_name.size() ? pg_type_name.substr(base.size()) : "";
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"int2", "SMALLINT"},       {"int4", "INTEGER"},    {"int8", "BIGINT"},
      {"integer", "INTEGER"},     {"bigint", "BIGINT"},   {"smallint", "SMALLINT"},
      {"float4", "REAL"},         {"float8", "DOUBLE"},   {"double", "DOUBLE"},
      {"real", "REAL"},           {"numeric", "DECIMAL"}, {"decimal", "DECIMAL"},
      {"text", "VARCHAR"},        {"varchar", "VARCHAR"}, {"bpchar", "VARCHAR"},
      {"bool", "BOOLEAN"},        {"boolean", "BOOLEAN"}, {"date", "DATE"},
      {"timestamp", "TIMESTAMP"}, {"string", "VARCHAR"}};
  for (const auto& [pg, duck] : kTypes) {
    if (base != pg) continue;
    // Only DECIMAL keeps its precision and scale; VARCHAR(n) is VARCHAR in DuckDB.
    if (duck == "DECIMAL") return std::string(duck) + std::string(modifiers);
    return std::string(duck);
  }
  return "";
}

absl::StatusOr<BoundQuery> Bind(const SelectStatement& statement, const SchemaProvider& tables,
                                std::string_view source_text) {
  Binder binder(tables, source_text);
  return binder.Run(statement);
}

}  // namespace parley::sql
