#include "sql/binder.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/row_identity.h"
#include "sql/parser.h"
#include "sql/types.h"

namespace parley::sql {
namespace {

// Debian's Abseil has its own string_view type, so convert explicitly.
bool NamesEqual(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

struct CteBinding {
  std::string name;
  int id = 0;
  std::shared_ptr<const BoundQuery> query;
};

// A query block whose tables names may resolve to. A FROM subquery cannot see the block it sits
// in (no LATERAL), but still counts as a level for outer references.
struct Scope {
  BoundQuery* query;
  bool visible;
};

std::string TableLabel(const BoundTable& table) {
  return table.is_base() ? table.schema->name : table.alias;
}

std::vector<ColumnInfo> OutputColumns(const BoundQuery& query) {
  std::vector<ColumnInfo> columns;
  for (const BoundSelectItem& item : query.select) {
    columns.push_back({item.output_name, item.expr ? item.expr->type : Type()});
  }
  return columns;
}

const char* SetOperationName(SetOperation operation) {
  switch (operation) {
    case SetOperation::kUnion:
      return "UNION";
    case SetOperation::kIntersect:
      return "INTERSECT";
    case SetOperation::kExcept:
      return "EXCEPT";
    case SetOperation::kNone:
      break;
  }
  return "";
}

class Binder {
 public:
  Binder(const SchemaProvider& tables, std::string_view source, const BindOptions& options)
      : catalog_(tables), source_(source), options_(options) {}

  absl::StatusOr<BoundQuery> Run(const SelectStatement& statement) {
    PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<BoundQuery> query, BindStatement(statement));
    return std::move(*query);
  }

 private:
  absl::Status Error(std::string message, int location) const {
    std::string position = DescribePosition(source_, location);
    if (!position.empty()) absl::StrAppend(&message, " (", position, ")");
    return absl::InvalidArgumentError(message);
  }

  absl::Status Condition(BoundExpr& condition) const {
    if (std::optional<TypeError> error = TypeCondition(condition)) {
      return Error(error->message, error->location);
    }
    return absl::OkStatus();
  }

  // Constructs are recorded for the top-level query only; a nested query is one construct.
  void AddConstruct(std::string what, const char* clause, int location) {
    if (nesting_ == 0 && top_ != nullptr) {
      top_->constructs.push_back(Construct{std::move(what), clause, location});
    }
  }

  // Binds a statement: its WITH clause, then a set operation or a SELECT block.
  absl::StatusOr<std::shared_ptr<BoundQuery>> BindStatement(const SelectStatement& statement) {
    auto query = std::make_shared<BoundQuery>();
    if (top_ == nullptr) top_ = query.get();
    size_t visible_ctes = ctes_.size();
    if (statement.has_with) {
      AddConstruct("a CTE (WITH)", kClauseSelect, statement.with_location);
      for (size_t i = 0; i < statement.ctes.size(); ++i) {
        const std::string& name = statement.cte_names[i];
        int location = statement.cte_locations[i];
        for (const BoundCte& earlier : query->ctes) {
          if (NamesEqual(earlier.name, name)) {
            return Error(absl::StrCat("WITH query name '", name, "' is used more than once"),
                         location);
          }
        }
        // A CTE body sees no enclosing query: it is self-contained wherever it is referenced.
        std::vector<bool> visibility;
        for (Scope& scope : scopes_) {
          visibility.push_back(scope.visible);
          scope.visible = false;
        }
        ++nesting_;
        absl::StatusOr<std::shared_ptr<BoundQuery>> body = BindStatement(*statement.ctes[i]);
        --nesting_;
        for (size_t j = 0; j < scopes_.size(); ++j) scopes_[j].visible = visibility[j];
        if (!body.ok()) return body.status();
        int id = next_cte_id_++;
        query->ctes.push_back(BoundCte{id, name, *body, location});
        ctes_.push_back(CteBinding{name, id, *body});
      }
    }
    if (statement.set_operation != SetOperation::kNone) {
      PARLEY_RETURN_IF_ERROR(BindSetOperation(statement, *query));
    } else {
      PARLEY_RETURN_IF_ERROR(BindBlock(statement, *query));
    }
    ctes_.resize(visible_ctes);
    return query;
  }

  absl::Status BindSetOperation(const SelectStatement& statement, BoundQuery& query) {
    const char* name = SetOperationName(statement.set_operation);
    AddConstruct(absl::StrCat("a set operation (", name, ")"), kClauseSelect, statement.location);
    for (const std::string& what : statement.unsupported) {
      return Error(absl::StrCat(what, " is not supported"), statement.location);
    }
    ++nesting_;
    absl::StatusOr<std::shared_ptr<BoundQuery>> left = BindStatement(*statement.set_left);
    absl::StatusOr<std::shared_ptr<BoundQuery>> right =
        left.ok() ? BindStatement(*statement.set_right) : left;
    --nesting_;
    if (!left.ok()) return left.status();
    if (!right.ok()) return right.status();
    if ((*left)->select.size() != (*right)->select.size()) {
      return Error(absl::StrCat("each ", name, " query must have the same number of columns (",
                                (*left)->select.size(), " and ", (*right)->select.size(), ")"),
                   statement.set_right->location);
    }
    query.set_operation = statement.set_operation;
    query.set_all = statement.set_all;
    query.set_left = *left;
    query.set_right = *right;
    for (const BoundSelectItem& item : (*left)->select) {
      query.select.push_back(BoundSelectItem{nullptr, item.output_name, item.location, false});
    }
    for (const OrderItem& order : statement.order_by) {
      PARLEY_ASSIGN_OR_RETURN(int index, OutputPosition(*order.expr, query, name));
      auto ref = std::make_unique<BoundExpr>();
      ref->kind = BoundExprKind::kOutputRef;
      ref->output_index = index;
      ref->location = order.expr->location;
      query.order_by.push_back(BoundOrderItem{std::move(ref), order.descending, order.nulls_first,
                                              order.expr->location});
    }
    return BindLimits(statement, query);
  }

  // The output column an ORDER BY item of a set operation names, by position or by name.
  absl::StatusOr<int> OutputPosition(const Expr& expr, const BoundQuery& query, const char* name) {
    if (expr.kind == ExprKind::kConstant && expr.constant.kind == ConstantKind::kInteger) {
      int64_t ordinal = 0;
      if (absl::SimpleAtoi(expr.constant.text, &ordinal) && ordinal >= 1 &&
          ordinal <= static_cast<int64_t>(query.select.size())) {
        return static_cast<int>(ordinal - 1);
      }
    } else if (expr.kind == ExprKind::kColumnRef && expr.name_parts.size() == 1) {
      for (size_t i = 0; i < query.select.size(); ++i) {
        if (NamesEqual(query.select[i].output_name, expr.name_parts[0])) return static_cast<int>(i);
      }
    }
    return Error(
        absl::StrCat("ORDER BY of a ", name, " may only name an output column or its position"),
        expr.location);
  }

  absl::Status BindLimits(const SelectStatement& statement, BoundQuery& query) {
    if (statement.limit) {
      AddConstruct("LIMIT", kClauseLimit, statement.limit->location);
      PARLEY_ASSIGN_OR_RETURN(query.limit, IntegerConstant(*statement.limit, "LIMIT"));
    }
    if (statement.offset) {
      AddConstruct("OFFSET", kClauseLimit, statement.offset->location);
      PARLEY_ASSIGN_OR_RETURN(query.offset, IntegerConstant(*statement.offset, "OFFSET"));
    }
    return absl::OkStatus();
  }

  absl::Status BindBlock(const SelectStatement& statement, BoundQuery& query) {
    scopes_.push_back(Scope{&query, true});
    absl::Status status = BindBlockInScope(statement, query);
    scopes_.pop_back();
    return status;
  }

  absl::Status BindBlockInScope(const SelectStatement& statement, BoundQuery& query) {
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
      PARLEY_ASSIGN_OR_RETURN(auto from, BindFrom(*statement.from[i], query));
      query.from.push_back(std::move(from));
    }
    if (statement.distinct_on) return Error("DISTINCT ON is not supported", statement.location);
    if (statement.distinct) {
      query.distinct = true;
      AddConstruct("SELECT DISTINCT", kClauseSelect, statement.location);
    }
    std::vector<std::pair<size_t, const Expr*>> unnamed;  // output index, expression
    for (const SelectItem& item : statement.select) {
      if (item.expr->kind == ExprKind::kStar) {
        PARLEY_RETURN_IF_ERROR(ExpandStar(*item.expr, query));
        continue;
      }
      BoundSelectItem bound;
      bound.location = item.location;
      PARLEY_ASSIGN_OR_RETURN(bound.expr, BindExpr(*item.expr, kClauseSelect));
      if (item.alias.empty()) {
        unnamed.emplace_back(query.select.size(), item.expr.get());
        bound.output_name = OutputName(*item.expr, query.select.size() + 1, /*detailed=*/false);
      } else {
        bound.output_name = item.alias;
      }
      query.select.push_back(std::move(bound));
    }
    // Two derived names alike (SUM(a), SUM(b)) take what their functions read (sum_a, sum_b).
    std::vector<size_t> alike;
    for (const auto& [index, expr] : unnamed) {
      int sharing = 0;
      for (const BoundSelectItem& other : query.select) {
        sharing += NamesEqual(other.output_name, query.select[index].output_name) ? 1 : 0;
      }
      if (sharing > 1) alike.push_back(index);
    }
    for (const auto& [index, expr] : unnamed) {
      if (std::find(alike.begin(), alike.end(), index) != alike.end()) {
        query.select[index].output_name = OutputName(*expr, index + 1, /*detailed=*/true);
      }
    }
    if (statement.where) {
      PARLEY_ASSIGN_OR_RETURN(query.where, BindExpr(*statement.where, kClauseWhere));
      PARLEY_RETURN_IF_ERROR(Condition(*query.where));
    }
    for (const auto& group : statement.group_by) {
      PARLEY_ASSIGN_OR_RETURN(auto bound, BindGroupOrOrder(*group, kClauseGroupBy, query));
      query.group_by.push_back(std::move(bound));
    }
    if (statement.having) {
      PARLEY_ASSIGN_OR_RETURN(query.having, BindExpr(*statement.having, kClauseHaving));
      PARLEY_RETURN_IF_ERROR(Condition(*query.having));
    }
    for (const OrderItem& order : statement.order_by) {
      BoundOrderItem bound;
      bound.descending = order.descending;
      bound.nulls_first = order.nulls_first;
      bound.location = order.expr->location;
      PARLEY_ASSIGN_OR_RETURN(bound.expr, BindGroupOrOrder(*order.expr, kClauseOrderBy, query));
      query.order_by.push_back(std::move(bound));
    }
    return BindLimits(statement, query);
  }

  // `*` and `t.*` become one output column per column of the tables in scope.
  absl::Status ExpandStar(const Expr& star, BoundQuery& query) {
    AddConstruct("SELECT *", kClauseSelect, star.location);
    std::string qualifier = star.name_parts.empty() ? "" : star.name_parts.back();
    bool matched = false;
    for (const BoundTable& table : query.tables) {
      if (!qualifier.empty() && !NamesEqual(table.alias, qualifier)) continue;
      matched = true;
      for (const ColumnInfo& column : table.columns) {
        auto expr = std::make_unique<BoundExpr>();
        expr->kind = BoundExprKind::kColumn;
        expr->location = star.location;
        expr->table_index = table.index;
        expr->column = column.name;
        expr->type = column.type;
        query.select.push_back(BoundSelectItem{std::move(expr), column.name, star.location, true});
      }
    }
    if (!matched) {
      return Error(absl::StrCat("'", qualifier, "' is not a table or alias in FROM"),
                   star.location);
    }
    return absl::OkStatus();
  }

  absl::Status AddTable(BoundTable table, BoundQuery& query, BoundFrom& from, int location) {
    for (const BoundTable& existing : query.tables) {
      if (NamesEqual(existing.alias, table.alias)) {
        return Error(absl::StrCat("table name '", table.alias,
                                  "' is used more than once in FROM; give each an alias"),
                     location);
      }
    }
    table.index = static_cast<int>(query.tables.size());
    table.render_id = next_render_id_++;
    table.location = location;
    from.table_index = table.index;
    query.tables.push_back(std::move(table));
    return absl::OkStatus();
  }

  // A derived table's columns are referenced by name, so two with one name would make a
  // reference (or SELECT *) pick one silently; PostgreSQL would too only on reference.
  absl::Status CheckDistinctNames(const std::vector<ColumnInfo>& columns, const char* what,
                                  const std::string& name, int location) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (NamesEqual(columns[i].name, columns[j].name)) {
          return Error(absl::StrCat(what, " '", name, "' has two output columns named '",
                                    columns[i].name, "'; give them distinct aliases"),
                       location);
        }
      }
    }
    return absl::OkStatus();
  }

  const CteBinding* FindCte(const std::string& name) const {
    for (auto it = ctes_.rbegin(); it != ctes_.rend(); ++it) {
      if (NamesEqual(it->name, name)) return &*it;
    }
    return nullptr;
  }

  absl::StatusOr<std::unique_ptr<BoundFrom>> BindFrom(const TableRef& ref, BoundQuery& query) {
    auto from = std::make_unique<BoundFrom>();
    from->location = ref.location;
    switch (ref.kind) {
      case TableRefKind::kTable: {
        if (!ref.schema.empty()) {
          return Error(absl::StrCat("schema-qualified table names are not supported ('", ref.schema,
                                    ".", ref.name, "')"),
                       ref.location);
        }
        BoundTable table;
        if (const CteBinding* cte = FindCte(ref.name)) {
          table.alias = ref.alias.empty() ? cte->name : ref.alias;
          table.derived = cte->query;
          table.cte_id = cte->id;
          table.columns = OutputColumns(*cte->query);
          PARLEY_RETURN_IF_ERROR(
              CheckDistinctNames(table.columns, "WITH query", cte->name, ref.location));
        } else {
          const TableSchema* schema = catalog_.FindTable(ref.name);
          if (schema == nullptr) {
            return Error(
                absl::StrCat("table '", ref.name, "' does not exist in this collaboration"),
                ref.location);
          }
          table.schema = schema;
          table.alias = ref.alias.empty() ? schema->name : ref.alias;
          // Parley's hidden columns (base/row_identity.h) are never a catalog column; should one
          // ever reach a schema, it still stays unnamable.
          for (const ColumnInfo& column : schema->columns) {
            if (!IsReservedColumnName(column.name)) table.columns.push_back(column);
          }
        }
        PARLEY_RETURN_IF_ERROR(AddTable(std::move(table), query, *from, ref.location));
        return from;
      }
      case TableRefKind::kSubquery: {
        AddConstruct("a subquery in FROM", kClauseFrom, ref.location);
        if (ref.alias.empty()) {
          return Error("a subquery in FROM must have an alias", ref.location);
        }
        // Not LATERAL: the subquery cannot see the tables of the block it sits in.
        scopes_.back().visible = false;
        ++nesting_;
        absl::StatusOr<std::shared_ptr<BoundQuery>> derived = BindStatement(*ref.subquery);
        --nesting_;
        scopes_.back().visible = true;
        if (!derived.ok()) return derived.status();
        BoundTable table;
        table.alias = ref.alias;
        table.derived = *derived;
        table.columns = OutputColumns(**derived);
        PARLEY_RETURN_IF_ERROR(
            CheckDistinctNames(table.columns, "subquery", ref.alias, ref.location));
        PARLEY_RETURN_IF_ERROR(AddTable(std::move(table), query, *from, ref.location));
        return from;
      }
      case TableRefKind::kJoin: {
        from->is_join = true;
        from->join_type = ref.join_type;
        PARLEY_ASSIGN_OR_RETURN(from->left, BindFrom(*ref.left, query));
        PARLEY_ASSIGN_OR_RETURN(from->right, BindFrom(*ref.right, query));
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
          PARLEY_RETURN_IF_ERROR(Condition(*from->on));
        }
        return from;
      }
      case TableRefKind::kUnsupported:
        break;
    }
    return Error(absl::StrCat(ref.what, " is not supported in FROM"), ref.location);
  }

  // Resolves a column reference in the innermost scope that has it (PostgreSQL's rule), so
  // correlated subqueries can name their enclosing queries' columns.
  absl::StatusOr<std::unique_ptr<BoundExpr>> ResolveColumn(const Expr& expr) {
    auto bound = std::make_unique<BoundExpr>();
    bound->kind = BoundExprKind::kColumn;
    bound->location = expr.location;
    const std::string& column = expr.name_parts.back();
    std::string qualifier = expr.name_parts.size() == 2 ? expr.name_parts[0] : "";
    for (int depth = 0; depth < static_cast<int>(scopes_.size()); ++depth) {
      const Scope& scope = scopes_[scopes_.size() - 1 - depth];
      if (!scope.visible) continue;
      const BoundTable* qualified = nullptr;
      std::vector<std::string> candidates;
      for (const BoundTable& table : scope.query->tables) {
        if (!qualifier.empty() && !NamesEqual(table.alias, qualifier)) continue;
        if (!qualifier.empty()) qualified = &table;
        for (const ColumnInfo& info : table.columns) {
          if (!NamesEqual(info.name, column)) continue;
          candidates.push_back(table.alias);
          bound->table_index = table.index;
          bound->column = info.name;
          bound->type = info.type;
        }
      }
      if (candidates.size() > 1) {
        return Error(absl::StrCat("column reference '", column, "' is ambiguous (",
                                  absl::StrJoin(candidates, ", "), "); qualify it with a table"),
                     expr.location);
      }
      if (candidates.size() == 1) {
        bound->outer_depth = depth;
        return bound;
      }
      if (qualified != nullptr) {
        return Error(absl::StrCat("column '", column, "' does not exist in table '",
                                  TableLabel(*qualified), "'"),
                     expr.location);
      }
    }
    if (!qualifier.empty()) {
      return Error(absl::StrCat("'", qualifier, "' is not a table or alias in FROM"),
                   expr.location);
    }
    std::vector<std::string> names;
    for (const BoundTable& table : scopes_.back().query->tables) {
      std::string name = absl::StrCat("'", TableLabel(table), "'");
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return Error(absl::StrCat("column '", column, "' does not exist in ",
                              names.size() == 1 ? "table " : "any of the tables ",
                              absl::StrJoin(names, ", ")),
                 expr.location);
  }

  absl::StatusOr<std::unique_ptr<BoundExpr>> BindSubquery(const Expr& expr, const char* clause) {
    AddConstruct(absl::StrCat("a subquery (", expr.what, ")"), clause, expr.location);
    ++nesting_;
    absl::StatusOr<std::shared_ptr<BoundQuery>> subquery = BindStatement(*expr.subquery);
    --nesting_;
    if (!subquery.ok()) return subquery.status();
    if (expr.what != "EXISTS" && (*subquery)->select.size() != 1) {
      return Error(
          absl::StrCat("a ", expr.what, " must return exactly one column; this one returns ",
                       (*subquery)->select.size()),
          expr.location);
    }
    auto bound = std::make_unique<BoundExpr>();
    bound->kind = BoundExprKind::kSubquery;
    bound->location = expr.location;
    bound->what = expr.what;
    bound->subquery = *subquery;
    for (const auto& arg : expr.args) {
      PARLEY_ASSIGN_OR_RETURN(auto bound_arg, BindExpr(*arg, clause));
      bound->args.push_back(std::move(bound_arg));
    }
    DeriveType(*bound);
    return bound;
  }

  absl::StatusOr<std::unique_ptr<BoundExpr>> BindParameter(const Expr& expr) {
    if (options_.parameters.empty()) {
      return Error("query parameters ($n) are only allowed in analysis templates", expr.location);
    }
    int index = expr.parameter_index;
    if (index < 1 || index > static_cast<int>(options_.parameters.size())) {
      return Error(absl::StrCat("parameter $", index, " has no value"), expr.location);
    }
    const ParameterValue& value = options_.parameters[index - 1];
    auto constant = std::make_unique<BoundExpr>();
    constant->kind = BoundExprKind::kConstant;
    constant->location = expr.location;
    constant->constant = value.constant;
    constant->type = LiteralType(constant->constant);
    if (value.cast_type.is_unknown()) return constant;
    auto cast = std::make_unique<BoundExpr>();
    cast->kind = BoundExprKind::kCast;
    cast->location = expr.location;
    cast->cast_type = value.cast_type;
    cast->args.push_back(std::move(constant));
    DeriveType(*cast);
    return cast;
  }

  absl::StatusOr<std::unique_ptr<BoundExpr>> BindExpr(const Expr& expr, const char* clause) {
    auto bound = std::make_unique<BoundExpr>();
    bound->location = expr.location;
    switch (expr.kind) {
      case ExprKind::kColumnRef:
        return ResolveColumn(expr);
      case ExprKind::kStar:
        return Error("'*' is only allowed as a whole SELECT item or in COUNT(*)", expr.location);
      case ExprKind::kConstant:
        bound->kind = BoundExprKind::kConstant;
        bound->constant = expr.constant;
        bound->type = LiteralType(bound->constant);
        return bound;
      case ExprKind::kParameter:
        return BindParameter(expr);
      case ExprKind::kSubquery:
        return BindSubquery(expr, clause);
      case ExprKind::kFunctionCall: {
        if (!expr.unsupported_call_part.empty()) {
          return Error(
              absl::StrCat(expr.unsupported_call_part, " on ", expr.name, "() is not supported"),
              expr.location);
        }
        bound->name = expr.name;
        bound->distinct = expr.distinct;
        bound->star_argument = expr.star_argument;
        if (expr.agg_filter && (expr.has_over || !IsAggregateFunction(expr.name))) {
          return Error(
              absl::StrCat("FILTER (WHERE ...) applies to aggregate functions only; ", expr.name,
                           "()", expr.has_over ? " OVER (...)" : "", " is not one"),
              expr.agg_filter->location >= 0 ? expr.agg_filter->location : expr.location);
        }
        if (expr.has_over) {
          AddConstruct(absl::StrCat("a window function (", expr.name, " OVER)"), clause,
                       expr.location);
          bound->kind = BoundExprKind::kWindow;
          if (expr.distinct) {
            return Error("DISTINCT is not supported in window functions", expr.location);
          }
          for (const auto& part : expr.window_partition) {
            PARLEY_ASSIGN_OR_RETURN(auto bound_part, BindExpr(*part, clause));
            bound->partition_by.push_back(std::move(bound_part));
          }
          for (const OrderItem& order : expr.window_order) {
            PARLEY_ASSIGN_OR_RETURN(auto bound_order, BindExpr(*order.expr, clause));
            bound->window_order.push_back(BoundOrderItem{std::move(bound_order), order.descending,
                                                         order.nulls_first, order.expr->location});
          }
          break;
        }
        bound->kind =
            IsAggregateFunction(expr.name) ? BoundExprKind::kAggregate : BoundExprKind::kScalar;
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
        if (std::optional<Type> target = CastTargetType(expr.type_name)) {
          bound->cast_type = *target;
        } else {
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
    // Every bound expression has its result type, and literals are converted here, once, to
    // the type they meet (types.h): a literal that does not convert is refused now, with its
    // position, rather than failing (or not) on the data at run time.
    if (std::optional<TypeError> error = TypeExpression(bound)) {
      return Error(error->message, error->location);
    }
    if (expr.agg_filter)
      PARLEY_RETURN_IF_ERROR(BindAggregateFilter(*expr.agg_filter, *bound, clause));
    return bound;
  }

  // `f(...) FILTER (WHERE condition)`: the condition is read per row, as a WHERE is, so it may
  // hold no aggregate, window function or subquery. Appended to the call's arguments
  // (BoundExpr::has_filter).
  absl::Status BindAggregateFilter(const Expr& filter, BoundExpr& call, const char* clause) {
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<BoundExpr> condition, BindExpr(filter, clause));
    std::function<absl::Status(const BoundExpr&)> row_level =
        [&](const BoundExpr& node) -> absl::Status {
      if (node.kind == BoundExprKind::kAggregate || node.kind == BoundExprKind::kWindow) {
        return Error(absl::StrCat("FILTER (WHERE ...) of ", call.name,
                                  "() is evaluated per row; it may not contain the ",
                                  node.kind == BoundExprKind::kWindow ? "window " : "aggregate ",
                                  "function ", node.name, "()"),
                     node.location);
      }
      if (node.kind == BoundExprKind::kSubquery) {
        return Error(absl::StrCat("a subquery inside FILTER (WHERE ...) is not supported"),
                     node.location);
      }
      for (const auto& arg : node.args) PARLEY_RETURN_IF_ERROR(row_level(*arg));
      return absl::OkStatus();
    };
    PARLEY_RETURN_IF_ERROR(row_level(*condition));
    PARLEY_RETURN_IF_ERROR(Condition(*condition));
    call.args.push_back(std::move(condition));
    call.has_filter = true;
    return absl::OkStatus();
  }

  // GROUP BY and ORDER BY accept an ordinal (1-based position in SELECT) or an output name as
  // well as an expression. GROUP BY prefers input columns, ORDER BY output names, as PostgreSQL.
  absl::StatusOr<std::unique_ptr<BoundExpr>> BindGroupOrOrder(const Expr& expr, const char* clause,
                                                              const BoundQuery& query) {
    bool is_order = std::string_view(clause) == kClauseOrderBy;
    if (expr.kind == ExprKind::kConstant && expr.constant.kind == ConstantKind::kInteger) {
      int64_t ordinal = 0;
      if (!absl::SimpleAtoi(expr.constant.text, &ordinal) || ordinal < 1 ||
          ordinal > static_cast<int64_t>(query.select.size())) {
        return Error(absl::StrCat(clause, " position ", expr.constant.text,
                                  " is not in the select list (1 to ", query.select.size(), ")"),
                     expr.location);
      }
      return query.select[ordinal - 1].expr->Clone();
    }
    if (expr.kind == ExprKind::kColumnRef && expr.name_parts.size() == 1) {
      const BoundSelectItem* by_name = nullptr;
      int matches = 0;
      for (const BoundSelectItem& item : query.select) {
        if (NamesEqual(item.output_name, expr.name_parts[0])) {
          by_name = &item;
          ++matches;
        }
      }
      bool is_input_column = false;
      for (const BoundTable& table : query.tables) {
        for (const ColumnInfo& info : table.columns) {
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

  // The name of an output column written without AS (docs/rules.md, "Output column names"): a
  // column's own name, a function's (count, sum), "case", through casts; any other expression
  // is column_N, N its position in the SELECT list. `detailed` adds what a function reads
  // (sum_amount, count_distinct_household_id), for names that would otherwise be alike.
  static std::string OutputName(const Expr& expr, size_t position, bool detailed) {
    switch (expr.kind) {
      case ExprKind::kColumnRef:
        return expr.name_parts.back();
      case ExprKind::kFunctionCall: {
        if (!detailed) return expr.name;
        std::string name = expr.name;
        if (expr.distinct) absl::StrAppend(&name, "_distinct");
        for (const auto& arg : expr.args) {
          if (arg->kind == ExprKind::kColumnRef || arg->kind == ExprKind::kFunctionCall ||
              arg->kind == ExprKind::kCast) {
            absl::StrAppend(&name, "_", OutputName(*arg, position, true));
          }
        }
        return name;
      }
      case ExprKind::kCast:
        return OutputName(*expr.args[0], position, detailed);
      case ExprKind::kCase:
        return "case";
      default:
        return absl::StrCat("column_", position);
    }
  }

  const SchemaProvider& catalog_;
  std::string_view source_;
  const BindOptions& options_;
  BoundQuery* top_ = nullptr;
  int nesting_ = 0;
  int next_render_id_ = 0;
  int next_cte_id_ = 0;
  std::vector<Scope> scopes_;
  std::vector<CteBinding> ctes_;
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

std::optional<Type> CastTargetType(std::string_view pg_type_name) {
  std::string_view base = pg_type_name.substr(0, pg_type_name.find('('));
  std::string_view modifiers =
      base.size() < pg_type_name.size() ? pg_type_name.substr(base.size()) : "";
  static const std::pair<std::string_view, TypeKind> kTypes[] = {
      {"int2", TypeKind::kSmallint},       {"int4", TypeKind::kInteger},
      {"int8", TypeKind::kBigint},         {"integer", TypeKind::kInteger},
      {"bigint", TypeKind::kBigint},       {"smallint", TypeKind::kSmallint},
      {"float4", TypeKind::kFloat},        {"float8", TypeKind::kDouble},
      {"double", TypeKind::kDouble},       {"real", TypeKind::kFloat},
      {"numeric", TypeKind::kDecimal},     {"decimal", TypeKind::kDecimal},
      {"text", TypeKind::kVarchar},        {"varchar", TypeKind::kVarchar},
      {"bpchar", TypeKind::kVarchar},      {"bool", TypeKind::kBoolean},
      {"boolean", TypeKind::kBoolean},     {"date", TypeKind::kDate},
      {"timestamp", TypeKind::kTimestamp}, {"string", TypeKind::kVarchar}};
  for (const auto& [pg, kind] : kTypes) {
    if (base != pg) continue;
    // Only DECIMAL keeps its precision and scale; VARCHAR(n) is VARCHAR.
    if (kind != TypeKind::kDecimal) return Type(kind);
    // NUMERIC without modifiers is the engine's default decimal, DECIMAL(18,3) in DuckDB (the
    // type Parley has always computed with for it).
    if (modifiers.empty()) return Type::Decimal(18, 3);
    std::string_view inside = modifiers.substr(1, modifiers.size() - 2);
    size_t comma = inside.find(',');
    int width = 0, scale = 0;
    auto number = [](std::string_view text, int* value) {
      return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), value);
    };
    if (modifiers.back() != ')' || !number(inside.substr(0, comma), &width) ||
        (comma != std::string_view::npos && !number(inside.substr(comma + 1), &scale))) {
      return std::nullopt;
    }
    Type decimal = Type::Decimal(width, scale);
    if (decimal.is_unknown()) return std::nullopt;
    return decimal;
  }
  return std::nullopt;
}

absl::StatusOr<BoundQuery> Bind(const SelectStatement& statement, const SchemaProvider& tables,
                                std::string_view source_text, const BindOptions& options) {
  Binder binder(tables, source_text, options);
  return binder.Run(statement);
}

}  // namespace parley::sql
