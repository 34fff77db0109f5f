#include "rewrite/render.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::rewrite {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;

std::string Quote(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

std::string Identifier(std::string_view name) { return Quote(name, '"'); }

std::string TableAlias(int index) { return absl::StrCat("\"t", index, "\""); }

// PostgreSQL names that DuckDB spells differently.
std::string FunctionName(const std::string& name) {
  if (name == "extract") return "date_part";
  if (name == "ceiling") return "ceil";
  return name;
}

class Renderer {
 public:
  explicit Renderer(const sql::BoundQuery& query) : query_(query) {}

  std::string Render() {
    std::string out = query_.distinct ? "SELECT DISTINCT " : "SELECT ";
    std::vector<std::string> items;
    for (const sql::BoundSelectItem& item : query_.select) {
      items.push_back(absl::StrCat(Expr(*item.expr), " AS ", Identifier(item.output_name)));
    }
    absl::StrAppend(&out, absl::StrJoin(items, ", "));
    std::vector<std::string> roots;
    for (const auto& root : query_.from) roots.push_back(From(*root));
    absl::StrAppend(&out, " FROM ", absl::StrJoin(roots, ", "));
    if (query_.where) absl::StrAppend(&out, " WHERE ", Expr(*query_.where));
    if (!query_.group_by.empty()) {
      std::vector<std::string> groups;
      for (const auto& group : query_.group_by) groups.push_back(Expr(*group));
      absl::StrAppend(&out, " GROUP BY ", absl::StrJoin(groups, ", "));
    }
    if (query_.having) absl::StrAppend(&out, " HAVING ", Expr(*query_.having));
    if (!query_.order_by.empty()) {
      std::vector<std::string> orders;
      for (const sql::BoundOrderItem& order : query_.order_by) {
        // PostgreSQL puts NULLs last ascending and first descending; say so explicitly.
        bool nulls_first = order.nulls_first.value_or(order.descending);
        orders.push_back(absl::StrCat(Expr(*order.expr), order.descending ? " DESC" : " ASC",
                                      nulls_first ? " NULLS FIRST" : " NULLS LAST"));
      }
      absl::StrAppend(&out, " ORDER BY ", absl::StrJoin(orders, ", "));
    }
    if (query_.limit) absl::StrAppend(&out, " LIMIT ", *query_.limit);
    if (query_.offset) absl::StrAppend(&out, " OFFSET ", *query_.offset);
    return out;
  }

 private:
  std::string From(const sql::BoundFrom& from) {
    if (!from.is_join) {
      const sql::BoundTable& table = query_.tables[from.table_index];
      return absl::StrCat(Identifier(table.schema->name), " AS ", TableAlias(table.index));
    }
    const char* join = "INNER JOIN";
    switch (from.join_type) {
      case sql::JoinType::kLeft: join = "LEFT JOIN"; break;
      case sql::JoinType::kRight: join = "RIGHT JOIN"; break;
      case sql::JoinType::kFull: join = "FULL JOIN"; break;
      case sql::JoinType::kCross: join = "CROSS JOIN"; break;
      case sql::JoinType::kInner: break;
    }
    std::string right = From(*from.right);
    if (from.right->is_join) right = absl::StrCat("(", right, ")");
    std::string out = absl::StrCat(From(*from.left), " ", join, " ", right);
    if (from.on) absl::StrAppend(&out, " ON ", Expr(*from.on));
    return out;
  }

  std::string Constant(const sql::Constant& constant) {
    switch (constant.kind) {
      case sql::ConstantKind::kNull: return "NULL";
      case sql::ConstantKind::kInteger:
      case sql::ConstantKind::kFloat: return constant.text;
      case sql::ConstantKind::kString: return Quote(constant.text, '\'');
      case sql::ConstantKind::kBoolean: return constant.text == "true" ? "TRUE" : "FALSE";
    }
    return "NULL";
  }

  std::string Args(const BoundExpr& expr, size_t from = 0) {
    std::vector<std::string> args;
    for (size_t i = from; i < expr.args.size(); ++i) args.push_back(Expr(*expr.args[i]));
    return absl::StrJoin(args, ", ");
  }

  std::string Expr(const BoundExpr& expr) {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        return absl::StrCat(TableAlias(expr.table_index), ".", Identifier(expr.column));
      case BoundExprKind::kConstant:
        return Constant(expr.constant);
      case BoundExprKind::kScalar:
        return absl::StrCat(FunctionName(expr.name), "(", Args(expr), ")");
      case BoundExprKind::kAggregate:
        if (expr.star_argument) return absl::StrCat(expr.name, "(*)");
        return absl::StrCat(expr.name, "(", expr.distinct ? "DISTINCT " : "", Args(expr), ")");
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
        for (; i + 1 < end + 1 && i < end; i += 2) {
          absl::StrAppend(&out, " WHEN ", Expr(*expr.args[i]), " THEN ", Expr(*expr.args[i + 1]));
        }
        if (expr.case_has_else) absl::StrAppend(&out, " ELSE ", Expr(*expr.args.back()));
        return out + " END";
      }
      case BoundExprKind::kCast:
        return absl::StrCat("CAST(", Expr(*expr.args[0]), " AS ", expr.type_name, ")");
      case BoundExprKind::kOpaque:
        break;
    }
    // Opaque nodes are rejected by the checker before anything is rendered.
    return "NULL";
  }

  const sql::BoundQuery& query_;
};

}  // namespace

std::string RenderDuckDb(const sql::BoundQuery& query) { return Renderer(query).Render(); }

}  // namespace parley::rewrite
