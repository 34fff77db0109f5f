#include "render/sql_writer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "render/dialect.h"
#include "sql/duckdb_types.h"
#include "sql/types.h"

namespace parley::render {

using sql::BoundExpr;
using sql::BoundExprKind;

absl::Status Refusal(std::string_view dialect, std::string_view construct, int location) {
  std::string where =
      location >= 0 ? absl::StrCat(" (at character ", location + 1, ")") : std::string();
  return absl::InvalidArgumentError(absl::StrCat(
      "the ", std::string(dialect), " engine cannot run ", std::string(construct), where));
}

absl::StatusOr<std::string> SqlWriter::Write(const sql::BoundQuery& query) {
  refusal_ = absl::OkStatus();
  stack_.clear();
  std::string text = Query(query);
  if (!refusal_.ok()) return refusal_;
  return text;
}

std::string SqlWriter::Refuse(std::string_view construct, int location) {
  if (refusal_.ok()) refusal_ = Refusal(dialect_, construct, location);
  return "NULL";
}

std::string SqlWriter::Quote(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

std::string SqlWriter::Identifier(std::string_view name) { return Quote(name, '"'); }

std::string SqlWriter::TableAlias(int index) { return absl::StrCat("\"t", index, "\""); }

// Standard SQL spells functions as PostgreSQL does; dialects rename what their engine spells
// differently.
std::string SqlWriter::FunctionName(const std::string& name) { return name; }

// The standard names (BIGINT, DECIMAL(18,2), VARCHAR, DATE, TIMESTAMP), spelled as DuckDB prints
// them; a dialect whose engine names types otherwise overrides this.
std::string SqlWriter::TypeName(const sql::Type& type) { return sql::DuckDbTypeName(type); }

std::string SqlWriter::Cast(const std::string& operand, const sql::Type& type,
                            bool null_on_failure) {
  if (null_on_failure) return Refuse("a conversion that yields NULL when it fails", -1);
  return absl::StrCat("CAST(", operand, " AS ", TypeName(type), ")");
}

std::string SqlWriter::Query(const sql::BoundQuery& query) {
  std::string out;
  if (!query.ctes.empty()) {
    std::vector<std::string> ctes;
    for (const sql::BoundCte& cte : query.ctes) {
      ctes.push_back(absl::StrCat("\"c", cte.id, "\" AS (", Query(*cte.query), ")"));
    }
    absl::StrAppend(&out, "WITH ", absl::StrJoin(ctes, ", "), " ");
  }
  if (query.set_operation != sql::SetOperation::kNone) {
    const char* op = query.set_operation == sql::SetOperation::kUnion       ? "UNION"
                     : query.set_operation == sql::SetOperation::kIntersect ? "INTERSECT"
                                                                            : "EXCEPT";
    absl::StrAppend(&out, "(", Query(*query.set_left), ") ", op, query.set_all ? " ALL" : "", " (",
                    Query(*query.set_right), ")");
    absl::StrAppend(&out, OrderAndLimits(query));
    return out;
  }
  stack_.push_back(&query);
  absl::StrAppend(&out, Block(query));
  stack_.pop_back();
  return out;
}

std::string SqlWriter::Block(const sql::BoundQuery& query) {
  std::string out = query.distinct ? "SELECT DISTINCT " : "SELECT ";
  std::vector<std::string> items;
  for (const sql::BoundSelectItem& item : query.select) {
    items.push_back(absl::StrCat(Expr(*item.expr), " AS ", Identifier(item.output_name)));
  }
  absl::StrAppend(&out, absl::StrJoin(items, ", "));
  std::vector<std::string> roots;
  for (const auto& root : query.from) roots.push_back(From(*root));
  absl::StrAppend(&out, " FROM ", absl::StrJoin(roots, ", "));
  if (query.where) absl::StrAppend(&out, " WHERE ", Expr(*query.where));
  if (!query.group_by.empty()) {
    std::vector<std::string> groups;
    for (const auto& group : query.group_by) groups.push_back(Expr(*group));
    absl::StrAppend(&out, " GROUP BY ", absl::StrJoin(groups, ", "));
  }
  if (query.having) absl::StrAppend(&out, " HAVING ", Expr(*query.having));
  return out + OrderAndLimits(query);
}

std::string SqlWriter::OrderList(const std::vector<sql::BoundOrderItem>& items) {
  std::vector<std::string> orders;
  for (const sql::BoundOrderItem& order : items) {
    // PostgreSQL puts NULLs last ascending and first descending; say so explicitly.
    bool nulls_first = order.nulls_first.value_or(order.descending);
    orders.push_back(absl::StrCat(Expr(*order.expr), order.descending ? " DESC" : " ASC",
                                  nulls_first ? " NULLS FIRST" : " NULLS LAST"));
  }
  return absl::StrJoin(orders, ", ");
}

std::string SqlWriter::OrderAndLimits(const sql::BoundQuery& query) {
  std::string out;
  if (!query.order_by.empty()) absl::StrAppend(&out, " ORDER BY ", OrderList(query.order_by));
  if (query.limit) absl::StrAppend(&out, " LIMIT ", *query.limit);
  if (query.offset) absl::StrAppend(&out, " OFFSET ", *query.offset);
  return out;
}

std::string SqlWriter::From(const sql::BoundFrom& from) {
  if (!from.is_join) {
    const sql::BoundTable& table = stack_.back()->tables[from.table_index];
    std::string source;
    if (table.is_base()) {
      source = Identifier(table.schema->name);
    } else if (table.cte_id >= 0) {
      source = absl::StrCat("\"c", table.cte_id, "\"");
    } else {
      source = absl::StrCat("(", Query(*table.derived), ")");
    }
    return absl::StrCat(source, " AS ", TableAlias(table.render_id));
  }
  const char* join = "INNER JOIN";
  switch (from.join_type) {
    case sql::JoinType::kLeft:
      join = "LEFT JOIN";
      break;
    case sql::JoinType::kRight:
      join = "RIGHT JOIN";
      break;
    case sql::JoinType::kFull:
      join = "FULL JOIN";
      break;
    case sql::JoinType::kCross:
      join = "CROSS JOIN";
      break;
    case sql::JoinType::kInner:
      break;
  }
  std::string right = From(*from.right);
  if (from.right->is_join) right = absl::StrCat("(", right, ")");
  std::string out = absl::StrCat(From(*from.left), " ", join, " ", right);
  if (from.on) absl::StrAppend(&out, " ON ", Expr(*from.on));
  return out;
}

std::string SqlWriter::Constant(const sql::Constant& constant) {
  switch (constant.kind) {
    case sql::ConstantKind::kNull:
      return "NULL";
    case sql::ConstantKind::kInteger:
    case sql::ConstantKind::kFloat:
      return constant.text;
    case sql::ConstantKind::kString:
      return Quote(constant.text, '\'');
    case sql::ConstantKind::kBoolean:
      return constant.text == "true" ? "TRUE" : "FALSE";
  }
  return "NULL";
}

// A literal converted when the query was bound (a text compared with a DATE, a number with a
// DECIMAL column) is rendered with its type, so that the engine converts the constant once and
// never the column's values to the literal's type. Integer literals adapt to the integer type
// they meet in DuckDB, so they stay plain.
std::string SqlWriter::TypedConstant(const BoundExpr& expr) {
  std::string text = Constant(expr.constant);
  const sql::Type& type = expr.type;
  switch (expr.constant.kind) {
    case sql::ConstantKind::kString:
      if (type.kind() == sql::TypeKind::kVarchar || type.is_unknown()) return text;
      break;
    case sql::ConstantKind::kInteger:
    case sql::ConstantKind::kFloat:
      // A number too wide for DECIMAL(38) is a DOUBLE to Parley, but DuckDB reads up to 39
      // digits as HUGEINT and then computes in a DECIMAL that cannot hold it, failing only where
      // evaluation reaches it (issue 6, oracle finding 8): spell the type Parley checked.
      if (sql::LiteralType(expr.constant).kind() == sql::TypeKind::kDouble &&
          expr.constant.text.find_first_of("eE") == std::string::npos) {
        return Cast(text, sql::TypeKind::kDouble, false);
      }
      if (type.kind() != sql::TypeKind::kDecimal || type == sql::LiteralType(expr.constant)) {
        return text;
      }
      break;
    default:
      return text;
  }
  return Cast(text, type, false);
}

std::string SqlWriter::Args(const BoundExpr& expr, size_t from) {
  std::vector<std::string> args;
  for (size_t i = from; i < expr.args.size(); ++i) args.push_back(Expr(*expr.args[i]));
  return absl::StrJoin(args, ", ");
}

std::string SqlWriter::Expr(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn: {
      const sql::BoundQuery& owner = *stack_[stack_.size() - 1 - expr.outer_depth];
      return absl::StrCat(TableAlias(owner.tables[expr.table_index].render_id), ".",
                          Identifier(expr.column));
    }
    case BoundExprKind::kConstant:
      return TypedConstant(expr);
    case BoundExprKind::kScalar:
      return absl::StrCat(FunctionName(expr.name), "(", Args(expr), ")");
    case BoundExprKind::kAggregate: {
      std::string call;
      if (expr.star_argument) {
        call = absl::StrCat(expr.name, "(*)");
      } else {
        std::vector<std::string> args;
        for (size_t i = 0; i < expr.value_args(); ++i) args.push_back(Expr(*expr.args[i]));
        call = absl::StrCat(expr.name, "(", expr.distinct ? "DISTINCT " : "",
                            absl::StrJoin(args, ", "), ")");
      }
      if (expr.has_filter) absl::StrAppend(&call, " FILTER (WHERE ", Expr(*expr.filter()), ")");
      return call;
    }
    case BoundExprKind::kWindow: {
      std::vector<std::string> window;
      if (!expr.partition_by.empty()) {
        std::vector<std::string> parts;
        for (const auto& part : expr.partition_by) parts.push_back(Expr(*part));
        window.push_back("PARTITION BY " + absl::StrJoin(parts, ", "));
      }
      if (!expr.window_order.empty()) window.push_back("ORDER BY " + OrderList(expr.window_order));
      std::string call = expr.star_argument
                             ? absl::StrCat(expr.name, "(*)")
                             : absl::StrCat(FunctionName(expr.name), "(",
                                            expr.distinct ? "DISTINCT " : "", Args(expr), ")");
      return absl::StrCat(call, " OVER (", absl::StrJoin(window, " "), ")");
    }
    case BoundExprKind::kUnaryOp:
      return absl::StrCat("(", expr.name, " ", Expr(*expr.args[0]), ")");
    case BoundExprKind::kBinaryOp: {
      std::string op = expr.name == "!=" ? "<>" : expr.name;
      if (expr.negated) op = "NOT " + op;
      return absl::StrCat("(", Expr(*expr.args[0]), " ", op, " ", Expr(*expr.args[1]), ")");
    }
    case BoundExprKind::kIsNull:
      return absl::StrCat("(", Expr(*expr.args[0]), expr.negated ? " IS NOT NULL)" : " IS NULL)");
    case BoundExprKind::kBetween:
      return absl::StrCat("(", Expr(*expr.args[0]), expr.negated ? " NOT" : "", " BETWEEN ",
                          Expr(*expr.args[1]), " AND ", Expr(*expr.args[2]), ")");
    case BoundExprKind::kInList:
      return absl::StrCat("(", Expr(*expr.args[0]), expr.negated ? " NOT IN (" : " IN (",
                          Args(expr, 1), "))");
    case BoundExprKind::kCase: {
      std::string out = "CASE";
      size_t i = 0;
      if (expr.case_has_operand) absl::StrAppend(&out, " ", Expr(*expr.args[i++]));
      size_t end = expr.args.size() - (expr.case_has_else ? 1 : 0);
      for (; i + 1 < end; i += 2) {
        absl::StrAppend(&out, " WHEN ", Expr(*expr.args[i]), " THEN ", Expr(*expr.args[i + 1]));
      }
      if (expr.case_has_else) absl::StrAppend(&out, " ELSE ", Expr(*expr.args.back()));
      return out + " END";
    }
    case BoundExprKind::kCast:
      return Cast(Expr(*expr.args[0]), expr.cast_type, expr.name == "try_cast");
    case BoundExprKind::kSubquery: {
      std::string body = Query(*expr.subquery);
      if (expr.what == "EXISTS") return absl::StrCat("EXISTS (", body, ")");
      if (!expr.args.empty()) return absl::StrCat("(", Expr(*expr.args[0]), " IN (", body, "))");
      return absl::StrCat("(", body, ")");
    }
    case BoundExprKind::kOutputRef:
      return std::to_string(expr.output_index + 1);
  }
  return "NULL";
}

}  // namespace parley::render
