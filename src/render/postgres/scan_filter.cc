#include "render/postgres/scan_filter.h"

#include <regex>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::render {
namespace {

using sql::BoundExpr;
using sql::BoundExprKind;
using sql::BoundQuery;
using sql::ConstantKind;
using sql::TypeKind;

std::string Identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Every literal this accepts is short; longer text is never matched (std::regex recurses per
// character, and a hostile literal can be long).
bool Matches(const std::string& text, const char* pattern) {
  return text.size() <= 64 && std::regex_match(text, std::regex(pattern));
}

// The literal `literal` as PostgreSQL reads it with the value DuckDB gives it against a column of
// type `column`; "" when there is no such spelling.
std::string Literal(const BoundExpr& literal, const sql::Type& column) {
  if (literal.kind != BoundExprKind::kConstant) return "";
  const sql::Constant& constant = literal.constant;
  switch (column.kind()) {
    case TypeKind::kSmallint:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kDecimal:
      // The binder fitted the literal exactly to the column's type (or left it alone: then not).
      if ((constant.kind == ConstantKind::kInteger || constant.kind == ConstantKind::kFloat) &&
          literal.type == column && Matches(constant.text, "-?[0-9]+(\\.[0-9]+)?")) {
        return constant.text;
      }
      return "";
    case TypeKind::kDouble:
      // Only integers both engines hold exactly as doubles: a decimal literal is converted by
      // DuckDB through its own arithmetic, which may differ from PostgreSQL's in the last bit.
      if (constant.kind == ConstantKind::kInteger && Matches(constant.text, "-?[0-9]{1,15}")) {
        return absl::StrCat(constant.text, "::float8");
      }
      return "";
    case TypeKind::kBoolean:
      if (constant.kind == ConstantKind::kBoolean) {
        return constant.text == "true" ? "TRUE" : "FALSE";
      }
      return "";
    case TypeKind::kVarchar: {
      if (constant.kind != ConstantKind::kString) return "";
      if (constant.text.find('\0') != std::string::npos) return "";
      std::string out = "'";
      for (char c : constant.text) {
        if (c == '\'') out += '\'';
        out += c;
      }
      return out + "'";
    }
    case TypeKind::kDate:
      if (constant.kind == ConstantKind::kString &&
          Matches(constant.text, "[0-9]{4}-[0-9]{2}-[0-9]{2}")) {
        return absl::StrCat("'", constant.text, "'::date");
      }
      return "";
    case TypeKind::kTimestamp:
      if (constant.kind == ConstantKind::kString &&
          Matches(
              constant.text,
              "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?)?")) {
        return absl::StrCat("'", constant.text, "'::timestamp");
      }
      return "";
    case TypeKind::kTimestampTz:
      // Both sessions run in UTC, so a timestamp without an offset means the same instant.
      if (constant.kind == ConstantKind::kString &&
          Matches(constant.text,
                  "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,6})?)?"
                  "(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?")) {
        return absl::StrCat("'", constant.text, "'::timestamptz");
      }
      return "";
    case TypeKind::kUuid:
      if (constant.kind == ConstantKind::kString &&
          Matches(constant.text,
                  "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
        return absl::StrCat("'", constant.text, "'::uuid");
      }
      return "";
    default:
      return "";
  }
}

// Types whose comparisons mean the same on both sides (FLOAT, BLOB and the rest stay out).
bool Pushable(const sql::Type& type) {
  switch (type.kind()) {
    case TypeKind::kSmallint:
    case TypeKind::kInteger:
    case TypeKind::kBigint:
    case TypeKind::kDecimal:
    case TypeKind::kDouble:
    case TypeKind::kBoolean:
    case TypeKind::kVarchar:
    case TypeKind::kDate:
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz:
    case TypeKind::kUuid:
      return true;
    default:
      return false;
  }
}

std::string Mirror(const std::string& op) {
  if (op == "<") return ">";
  if (op == ">") return "<";
  if (op == "<=") return ">=";
  if (op == ">=") return "<=";
  return op;
}

class ConditionWriter {
 public:
  explicit ConditionWriter(int table_index) : table_index_(table_index) {}

  // The condition in PostgreSQL, or "" when `expr` is not of a pushable shape.
  std::string Write(const BoundExpr& expr) const {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        if (IsOwnColumn(expr) && expr.type.kind() == TypeKind::kBoolean) {
          return Identifier(expr.column);
        }
        return "";
      case BoundExprKind::kBinaryOp: {
        if ((expr.name == "AND" || expr.name == "OR") && expr.args.size() == 2) {
          std::string left = Write(*expr.args[0]);
          std::string right = Write(*expr.args[1]);
          if (left.empty() || right.empty()) return "";
          return absl::StrCat("(", left, " ", expr.name, " ", right, ")");
        }
        return Comparison(expr);
      }
      case BoundExprKind::kIsNull:
        if (expr.args.size() == 1 && IsOwnColumn(*expr.args[0]) && Pushable(expr.args[0]->type)) {
          return absl::StrCat("(", Identifier(expr.args[0]->column),
                              expr.negated ? " IS NOT NULL)" : " IS NULL)");
        }
        return "";
      case BoundExprKind::kInList: {
        if (expr.args.size() < 2 || !IsOwnColumn(*expr.args[0])) return "";
        const sql::Type& type = expr.args[0]->type;
        if (!Pushable(type)) return "";
        std::vector<std::string> items;
        for (size_t i = 1; i < expr.args.size(); ++i) {
          std::string item = Literal(*expr.args[i], type);
          if (item.empty()) return "";
          items.push_back(item);
        }
        return absl::StrCat("(", Identifier(expr.args[0]->column),
                            expr.negated ? " NOT IN (" : " IN (", absl::StrJoin(items, ", "), "))");
      }
      case BoundExprKind::kBetween: {
        if (expr.negated || expr.args.size() != 3 || !IsOwnColumn(*expr.args[0])) return "";
        const sql::Type& type = expr.args[0]->type;
        if (!Pushable(type) || type.kind() == TypeKind::kUuid) return "";
        std::string low = Literal(*expr.args[1], type);
        std::string high = Literal(*expr.args[2], type);
        if (low.empty() || high.empty()) return "";
        std::string column = ColumnFor(*expr.args[0], true);
        return absl::StrCat("(", column, " >= ", low, " AND ", column, " <= ", high, ")");
      }
      default:
        return "";
    }
  }

 private:
  bool IsOwnColumn(const BoundExpr& expr) const {
    return expr.kind == BoundExprKind::kColumn && expr.outer_depth == 0 &&
           expr.table_index == table_index_;
  }

  // The column, in the "C" collation where the comparison orders text.
  static std::string ColumnFor(const BoundExpr& column, bool ordering) {
    std::string name = Identifier(column.column);
    if (ordering && column.type.kind() == TypeKind::kVarchar) {
      return absl::StrCat(name, " COLLATE \"C\"");
    }
    return name;
  }

  std::string Comparison(const BoundExpr& expr) const {
    static const std::set<std::string> kOps = {"=", "<>", "!=", "<", "<=", ">", ">="};
    if (expr.negated || expr.args.size() != 2 || !kOps.contains(expr.name)) return "";
    bool column_left = IsOwnColumn(*expr.args[0]);
    const BoundExpr& column = column_left ? *expr.args[0] : *expr.args[1];
    const BoundExpr& literal = column_left ? *expr.args[1] : *expr.args[0];
    if (!IsOwnColumn(column) || !Pushable(column.type)) return "";
    std::string op = column_left ? expr.name : Mirror(expr.name);
    if (op == "!=") op = "<>";
    bool ordering = op != "=" && op != "<>";
    if (ordering && column.type.kind() == TypeKind::kUuid) return "";
    std::string value = Literal(literal, column.type);
    if (value.empty()) return "";
    return absl::StrCat("(", ColumnFor(column, ordering), " ", op, " ", value, ")");
  }

  int table_index_;
};

void SplitConjuncts(const BoundExpr& expr, std::vector<const BoundExpr*>& out) {
  if (expr.kind == BoundExprKind::kBinaryOp && expr.name == "AND" && expr.args.size() == 2) {
    SplitConjuncts(*expr.args[0], out);
    SplitConjuncts(*expr.args[1], out);
    return;
  }
  out.push_back(&expr);
}

// Marks the tables on the nullable side of an outer join in `from`.
void MarkNullable(const sql::BoundFrom& from, bool nullable, std::set<int>& out) {
  if (!from.is_join) {
    if (nullable) out.insert(from.table_index);
    return;
  }
  bool left_nullable =
      nullable || from.join_type == sql::JoinType::kRight || from.join_type == sql::JoinType::kFull;
  bool right_nullable =
      nullable || from.join_type == sql::JoinType::kLeft || from.join_type == sql::JoinType::kFull;
  MarkNullable(*from.left, left_nullable, out);
  MarkNullable(*from.right, right_nullable, out);
}

// Per table name, each occurrence's condition ("" for none).
void Visit(const BoundQuery& query, std::map<std::string, std::vector<std::string>>& found) {
  for (const sql::BoundCte& cte : query.ctes) Visit(*cte.query, found);
  if (query.set_operation != sql::SetOperation::kNone) {
    if (query.set_left) Visit(*query.set_left, found);
    if (query.set_right) Visit(*query.set_right, found);
    return;
  }
  std::set<int> nullable;
  for (const auto& root : query.from) MarkNullable(*root, false, nullable);
  std::vector<const BoundExpr*> conjuncts;
  if (query.where) SplitConjuncts(*query.where, conjuncts);
  for (const sql::BoundTable& table : query.tables) {
    if (!table.is_base()) {
      if (table.cte_id < 0 && table.derived) Visit(*table.derived, found);
      continue;
    }
    std::vector<std::string> parts;
    if (!nullable.contains(table.index)) {
      ConditionWriter writer(table.index);
      for (const BoundExpr* conjunct : conjuncts) {
        std::string part = writer.Write(*conjunct);
        if (!part.empty()) parts.push_back(std::move(part));
      }
    }
    found[table.schema->name].push_back(absl::StrJoin(parts, " AND "));
  }
}

}  // namespace

std::map<std::string, std::string> PostgresScanFilters(const sql::BoundQuery& statement) {
  std::map<std::string, std::vector<std::string>> found;
  Visit(statement, found);
  std::map<std::string, int> occurrences;
  for (const sql::BoundTable* table : statement.BaseTables()) ++occurrences[table->schema->name];
  std::map<std::string, std::string> filters;
  for (const auto& [name, conditions] : found) {
    // A table also read where the walk does not look (a subquery in an expression): nothing.
    if (static_cast<int>(conditions.size()) != occurrences[name]) continue;
    bool every = true;
    for (const std::string& condition : conditions) every = every && !condition.empty();
    if (!every) continue;
    if (conditions.size() == 1) {
      filters[name] = conditions[0];
    } else {
      std::vector<std::string> each;
      for (const std::string& condition : conditions) each.push_back("(" + condition + ")");
      filters[name] = absl::StrJoin(each, " OR ");
    }
  }
  return filters;
}

}  // namespace parley::render
