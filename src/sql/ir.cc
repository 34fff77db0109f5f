#include "sql/ir.h"

namespace parley::sql {

std::unique_ptr<BoundExpr> BoundExpr::Clone() const {
  auto copy = std::make_unique<BoundExpr>();
  copy->kind = kind;
  copy->location = location;
  copy->table_index = table_index;
  copy->column = column;
  copy->type = type;
  copy->constant = constant;
  copy->name = name;
  copy->type_name = type_name;
  copy->what = what;
  copy->distinct = distinct;
  copy->star_argument = star_argument;
  copy->negated = negated;
  copy->case_has_operand = case_has_operand;
  copy->case_has_else = case_has_else;
  for (const auto& arg : args) copy->args.push_back(arg->Clone());
  return copy;
}

bool BoundExpr::SameAs(const BoundExpr& other) const {
  if (kind != other.kind || table_index != other.table_index || column != other.column ||
      constant.kind != other.constant.kind || constant.text != other.constant.text ||
      name != other.name || type_name != other.type_name || distinct != other.distinct ||
      star_argument != other.star_argument || negated != other.negated ||
      case_has_operand != other.case_has_operand || case_has_else != other.case_has_else ||
      args.size() != other.args.size()) {
    return false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i]->SameAs(*other.args[i])) return false;
  }
  return true;
}

}  // namespace parley::sql
