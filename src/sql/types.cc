#include "sql/types.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace parley::sql {

int IntegerBits(TypeKind id) {
  switch (id) {
    case TypeKind::kTinyint:
    case TypeKind::kUtinyint:
      return 8;
    case TypeKind::kSmallint:
    case TypeKind::kUsmallint:
      return 16;
    case TypeKind::kInteger:
    case TypeKind::kUinteger:
      return 32;
    case TypeKind::kBigint:
    case TypeKind::kUbigint:
      return 64;
    default:
      return 128;
  }
}

namespace {

using Int128 = __int128;

// Debian's Abseil has its own string_view type; these work on std::string_view.
std::string_view Strip(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Decimal digits of the largest value of an integer type (DuckDB's own table).
int IntegerDigits(TypeKind id) {
  switch (id) {
    case TypeKind::kTinyint:
    case TypeKind::kUtinyint:
      return 3;
    case TypeKind::kSmallint:
    case TypeKind::kUsmallint:
      return 5;
    case TypeKind::kInteger:
    case TypeKind::kUinteger:
      return 10;
    case TypeKind::kBigint:
      return 19;
    case TypeKind::kUbigint:
      return 20;
    default:
      return 39;
  }
}

Int128 Pow10(int exponent) {
  Int128 value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

const Int128 kInt128Max = ~(static_cast<Int128>(1) << 127);

// The range of an integer type; UHUGEINT's upper end is capped at the largest HUGEINT (a literal
// beyond it is typed DOUBLE before it gets here).
void IntegerRange(TypeKind id, Int128& low, Int128& high) {
  int bits = IntegerBits(id);
  if (id >= TypeKind::kUtinyint && id <= TypeKind::kUhugeint) {
    low = 0;
    high = bits >= 128 ? kInt128Max : (static_cast<Int128>(1) << bits) - 1;
    return;
  }
  if (bits >= 128) {
    high = kInt128Max;
    low = -high - 1;
    return;
  }
  high = (static_cast<Int128>(1) << (bits - 1)) - 1;
  low = -high - 1;
}

std::string Int128ToString(Int128 value) {
  if (value == 0) return "0";
  bool negative = value < 0;
  std::string digits;
  while (value != 0) {
    int digit = static_cast<int>(value % 10);
    digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    value /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

// An exact number parsed from a literal: unscaled / 10^scale. `huge` when it has more than 38
// significant digits (then only its sign matters: it is outside every exact type).
struct Number {
  Int128 unscaled = 0;
  int scale = 0;
  bool huge = false;
  bool negative = false;
};

// Parses "[+-]digits[.digits]" (no exponent). Returns false for anything else.
bool ParseNumber(std::string_view text, Number& number) {
  text = Strip(text);
  if (text.empty()) return false;
  size_t i = 0;
  if (text[0] == '+' || text[0] == '-') {
    number.negative = text[0] == '-';
    ++i;
  }
  bool any_digit = false;
  bool fraction = false;
  int significant = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (fraction) return false;
      fraction = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    any_digit = true;
    if (fraction) ++number.scale;
    if (significant == 0 && c == '0') {
      continue;
    }
    ++significant;
    if (significant > 38) {
      number.huge = true;
      continue;
    }
    number.unscaled = number.unscaled * 10 + (c - '0');
  }
  if (!any_digit) return false;
  if (number.huge) {
    // Digits past 38 were dropped: the value is out of range of every exact type either way,
    // unless they were all fraction digits of a small number; treat those by truncation.
    if (number.scale > 0 && significant - number.scale <= 38) {
      number.huge = false;
      int kept_fraction = 38 - (significant - number.scale);
      number.scale = kept_fraction;
    }
  }
  if (number.negative) number.unscaled = -number.unscaled;
  return true;
}

// Rescales to `scale` digits after the point; `exact` tells whether nothing was dropped. Rounds
// toward negative infinity (floor) or positive infinity (ceil) as asked.
Number Rescale(const Number& number, int scale, bool ceil, bool& exact, bool& overflow) {
  Number out = number;
  exact = true;
  overflow = false;
  if (number.scale <= scale) {
    int grow = scale - number.scale;
    Int128 factor = Pow10(std::min(grow, 38));
    Int128 limit = kInt128Max / factor;
    if (grow > 38 || number.unscaled > limit || number.unscaled < -limit) {
      overflow = true;
      return out;
    }
    out.unscaled = number.unscaled * factor;
    out.scale = scale;
    return out;
  }
  Int128 factor = Pow10(number.scale - scale);
  Int128 quotient = number.unscaled / factor;
  Int128 remainder = number.unscaled % factor;
  if (remainder != 0) {
    exact = false;
    // C++ division truncates toward zero.
    if (ceil && remainder > 0) ++quotient;
    if (!ceil && remainder < 0) --quotient;
  }
  out.unscaled = quotient;
  out.scale = scale;
  return out;
}

std::string NumberText(const Number& number) {
  std::string digits = Int128ToString(number.unscaled < 0 ? -number.unscaled : number.unscaled);
  if (number.scale > 0) {
    if (static_cast<int>(digits.size()) <= number.scale) {
      digits.insert(0, std::string(number.scale - digits.size() + 1, '0'));
    }
    digits.insert(digits.size() - number.scale, ".");
  }
  return number.unscaled < 0 ? "-" + digits : digits;
}

bool IsDigits(std::string_view text, size_t from, size_t count) {
  if (from + count > text.size()) return false;
  for (size_t i = from; i < from + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

int Digits(std::string_view text, size_t from, size_t count) {
  int value = 0;
  for (size_t i = from; i < from + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

bool ValidDate(std::string_view text) {
  if (text.size() != 10 || !IsDigits(text, 0, 4) || text[4] != '-' || !IsDigits(text, 5, 2) ||
      text[7] != '-' || !IsDigits(text, 8, 2)) {
    return false;
  }
  int year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1]) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return !(month == 2 && day == 29 && !leap);
}

bool ValidTimestamp(std::string_view text) {
  if (text.size() == 10) return ValidDate(text);
  if (text.size() < 16 || !ValidDate(text.substr(0, 10)) || (text[10] != ' ' && text[10] != 'T')) {
    return false;
  }
  std::string_view time = text.substr(11);
  if (!IsDigits(time, 0, 2) || time[2] != ':' || !IsDigits(time, 3, 2)) return false;
  if (Digits(time, 0, 2) > 23 || Digits(time, 3, 2) > 59) return false;
  if (time.size() == 5) return true;
  if (time[5] != ':' || !IsDigits(time, 6, 2) || Digits(time, 6, 2) > 59) return false;
  if (time.size() == 8) return true;
  if (time[8] != '.' || time.size() == 9 || time.size() > 15) return false;
  return IsDigits(time, 9, time.size() - 9);
}

std::unique_ptr<BoundExpr> Node(BoundExprKind kind, std::string name, int location) {
  auto node = std::make_unique<BoundExpr>();
  node->kind = kind;
  node->name = std::move(name);
  node->location = location;
  return node;
}

std::unique_ptr<BoundExpr> NullConstant(int location) {
  auto node = Node(BoundExprKind::kConstant, "", location);
  node->constant = Constant{ConstantKind::kNull, ""};
  node->type = TypeKind::kNull;
  return node;
}

std::unique_ptr<BoundExpr> BooleanConstant(bool value, int location) {
  auto node = Node(BoundExprKind::kConstant, "", location);
  node->constant = Constant{ConstantKind::kBoolean, value ? "true" : "false"};
  node->type = TypeKind::kBoolean;
  return node;
}

// `value` compared with a constant outside its type's range: the outcome is `outcome` for every
// non-NULL value and NULL for NULL, written so that nothing is converted:
// TRUE: (value IS NOT NULL OR NULL); FALSE: (value IS NULL AND NULL).
std::unique_ptr<BoundExpr> Folded(std::unique_ptr<BoundExpr> value, bool outcome, int location) {
  auto is_null = Node(BoundExprKind::kIsNull, "", location);
  is_null->negated = outcome;
  is_null->type = TypeKind::kBoolean;
  is_null->args.push_back(std::move(value));
  auto combined = Node(BoundExprKind::kBinaryOp, outcome ? "OR" : "AND", location);
  combined->args.push_back(std::move(is_null));
  combined->args.push_back(NullConstant(location));
  combined->type = TypeKind::kBoolean;
  return combined;
}

bool IsLiteral(const BoundExpr& expr) {
  return expr.kind == BoundExprKind::kConstant && expr.constant.kind != ConstantKind::kNull &&
         expr.constant.kind != ConstantKind::kBoolean;
}

bool IsNumericLiteral(const BoundExpr& expr) {
  return expr.kind == BoundExprKind::kConstant && (expr.constant.kind == ConstantKind::kInteger ||
                                                   expr.constant.kind == ConstantKind::kFloat);
}

std::string Mirror(const std::string& op) {
  if (op == "<") return ">";
  if (op == ">") return "<";
  if (op == "<=") return ">=";
  if (op == ">=") return "<=";
  return op;
}

// What happens to a numeric literal that meets an exact numeric type.
enum class Fit { kExact, kFoldTrue, kFoldFalse, kAlwaysTrue, kAlwaysFalse, kDrop };

// Converts `number` for `value <op> number` where value has exact numeric type `target`; on
// kExact, `number` holds the value to compare with (rounded where that keeps the outcome).
// `op` is "" for a context that needs the exact value (IN lists: kDrop when it is not exact).
Fit FitNumber(Number& number, const Type& target, const std::string& op) {
  int scale = target.kind() == TypeKind::kDecimal ? target.scale() : 0;
  bool exact = true, overflow = false;
  bool ceil = op == ">=" || op == "<";
  Number rescaled = number.huge ? number : Rescale(number, scale, ceil, exact, overflow);
  bool equality = op == "=" || op == "IS NOT DISTINCT FROM";
  bool inequality = op == "<>" || op == "!=" || op == "IS DISTINCT FROM";
  bool distinct_form = op == "IS NOT DISTINCT FROM" || op == "IS DISTINCT FROM";
  auto never_equal = [&]() {
    if (op.empty()) return Fit::kDrop;
    if (equality) return distinct_form ? Fit::kAlwaysFalse : Fit::kFoldFalse;
    return distinct_form ? Fit::kAlwaysTrue : Fit::kFoldTrue;
  };
  if (!number.huge && !overflow && !exact && (equality || inequality || op.empty())) {
    return never_equal();
  }
  // Range of the target, at its scale.
  Int128 low, high;
  if (target.kind() == TypeKind::kDecimal) {
    high = Pow10(target.width()) - 1;
    low = -high;
  } else {
    IntegerRange(target.kind(), low, high);
  }
  bool above =
      number.huge ? !number.negative : (overflow ? !number.negative : rescaled.unscaled > high);
  bool below =
      number.huge ? number.negative : (overflow ? number.negative : rescaled.unscaled < low);
  if (!above && !below) {
    number = rescaled;
    return Fit::kExact;
  }
  if (equality || inequality || op.empty()) return never_equal();
  // value < huge, value <= huge: true for every value; value > huge: false. Mirrored below.
  bool less = op == "<" || op == "<=";
  return (above == less) ? Fit::kFoldTrue : Fit::kFoldFalse;
}

class Typer {
 public:
  std::optional<TypeError> error;

  void Fail(std::string message, int location) {
    if (!error) error = TypeError{std::move(message), location};
  }

  // Converts a text literal to `target`; returns false (with an error) when it does not convert.
  // Numeric targets turn it into a numeric literal, to be fitted by the caller.
  bool ConvertText(BoundExpr& literal, const Type& target) {
    const std::string& text = literal.constant.text;
    auto refuse = [&]() {
      Fail(absl::StrCat("the text constant cannot be converted to ", target.ToString(),
                        ", the type of the value it meets"),
           literal.location);
      return false;
    };
    switch (target.kind()) {
      case TypeKind::kVarchar:
      case TypeKind::kUnknown:
      case TypeKind::kNull:
        return true;
      case TypeKind::kBoolean: {
        std::string lower(Strip(text));
        absl::AsciiStrToLower(&lower);
        if (lower == "true" || lower == "t" || lower == "yes" || lower == "y" || lower == "1") {
          literal.constant = Constant{ConstantKind::kBoolean, "true"};
        } else if (lower == "false" || lower == "f" || lower == "no" || lower == "n" ||
                   lower == "0") {
          literal.constant = Constant{ConstantKind::kBoolean, "false"};
        } else {
          return refuse();
        }
        literal.type = TypeKind::kBoolean;
        return true;
      }
      case TypeKind::kDate:
        if (!ValidDate(Strip(text))) return refuse();
        literal.constant.text = std::string(Strip(text));
        literal.type = TypeKind::kDate;
        return true;
      case TypeKind::kTimestamp:
        if (!ValidTimestamp(Strip(text))) return refuse();
        literal.constant.text = std::string(Strip(text));
        literal.type = TypeKind::kTimestamp;
        return true;
      default:
        break;
    }
    if (target.IsNumeric()) {
      Number number;
      if (ParseNumber(text, number)) {
        literal.constant =
            Constant{number.scale > 0 ? ConstantKind::kFloat : ConstantKind::kInteger,
                     std::string(Strip(text))};
        if (literal.constant.text[0] == '+') literal.constant.text.erase(0, 1);
        literal.type = LiteralType(literal.constant);
        return true;
      }
      double ignored;
      if (target.IsFloating() && absl::SimpleAtod(text, &ignored)) {
        literal.type = target;  // rendered CAST('…' AS DOUBLE): folded by the engine
        return true;
      }
      return refuse();
    }
    // Types Parley knows by name only (INTERVAL, TIME, ...): the engine converts the constant
    // once, when it plans the query, whatever the data — so its error is no oracle.
    literal.type = target;
    return true;
  }

  // A literal where a condition is expected (an operand of AND, OR, NOT, a CASE WHEN, WHERE,
  // HAVING): text must be a boolean ('true', 'f', ...), a number is true unless it is zero.
  bool ConvertToBoolean(BoundExpr& literal) {
    if (!IsLiteral(literal)) return true;
    if (literal.constant.kind == ConstantKind::kString)
      return ConvertText(literal, TypeKind::kBoolean);
    Number number;
    bool zero = ParseNumber(literal.constant.text, number) && !number.huge && number.unscaled == 0;
    literal.constant = Constant{ConstantKind::kBoolean, zero ? "false" : "true"};
    literal.type = TypeKind::kBoolean;
    return true;
  }

  // A numeric literal meeting a value of type `target` outside a comparison (IN lists with
  // op "", arithmetic, CASE branches): converted only when it fits exactly.
  void ConvertNumberExactly(BoundExpr& literal, const Type& target) {
    if (target.kind() == TypeKind::kVarchar) {
      literal.constant.kind = ConstantKind::kString;
      literal.type = TypeKind::kVarchar;
      return;
    }
    if (!target.IsExactNumeric()) return;
    Number number;
    if (!ParseNumber(literal.constant.text, number)) return;
    if (FitNumber(number, target, "") == Fit::kExact) SetNumber(literal, number, target);
  }

  static void SetNumber(BoundExpr& literal, const Number& number, const Type& target) {
    literal.constant = Constant{number.scale > 0 ? ConstantKind::kFloat : ConstantKind::kInteger,
                                NumberText(number)};
    literal.type = target;
  }

  // `expr` is a comparison `args[0] op args[1]` with one literal side: converts it, or folds the
  // comparison. `expr` may be replaced.
  void Compare(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    bool literal_left = IsLiteral(*node.args[0]) && !IsLiteral(*node.args[1]);
    bool literal_right = IsLiteral(*node.args[1]) && !IsLiteral(*node.args[0]);
    if (!literal_left && !literal_right) return;
    BoundExpr& literal = literal_left ? *node.args[0] : *node.args[1];
    std::unique_ptr<BoundExpr>& value = literal_left ? node.args[1] : node.args[0];
    std::string op = literal_left ? Mirror(node.name) : node.name;
    Type target = value->type;
    if (literal.constant.kind == ConstantKind::kString) {
      if (!ConvertText(literal, value->type)) return;
    } else if (target.kind() == TypeKind::kVarchar) {
      literal.constant.kind = ConstantKind::kString;  // 5 against text is '5'
      literal.type = TypeKind::kVarchar;
      return;
    } else if (target.IsTemporal() || target.kind() == TypeKind::kBoolean) {
      Fail(absl::StrCat("a number cannot be compared with a value of type ", target.ToString()),
           literal.location);
      return;
    }
    if (!IsNumericLiteral(literal) || !target.IsExactNumeric()) return;
    Number number;
    if (!ParseNumber(literal.constant.text, number)) return;  // exponent: a DOUBLE, safe
    switch (FitNumber(number, target, op)) {
      case Fit::kExact:
        SetNumber(literal, number, target);
        // Rounding may have changed the operator's strictness: x > 1.5 is x > 1, x >= 1.5 is
        // x >= 2 — the same rows either way, so the operator stays.
        return;
      case Fit::kFoldTrue:
      case Fit::kFoldFalse: {
        bool outcome = FitNumber(number, target, op) == Fit::kFoldTrue;
        int location = node.location;
        expr = Folded(std::move(value), outcome, location);
        return;
      }
      case Fit::kAlwaysTrue:
      case Fit::kAlwaysFalse: {
        bool outcome = FitNumber(number, target, op) == Fit::kAlwaysTrue;
        expr = BooleanConstant(outcome, node.location);
        return;
      }
      case Fit::kDrop:
        return;
    }
  }

  // value [NOT] BETWEEN low AND high: converts both bounds; when one does not fit exactly the
  // test becomes (value >= low AND value <= high), each comparison converted on its own.
  void Between(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    for (int i = 1; i <= 2; ++i) {
      BoundExpr& bound = *node.args[i];
      if (!IsLiteral(bound) || IsLiteral(*node.args[0])) continue;
      if (bound.constant.kind == ConstantKind::kString && !ConvertText(bound, node.args[0]->type)) {
        return;
      }
    }
    bool all_fit = true;
    Type target = node.args[0]->type;
    for (int i = 1; i <= 2; ++i) {
      BoundExpr& bound = *node.args[i];
      if (!IsNumericLiteral(bound) || IsLiteral(*node.args[0])) continue;
      if (target.kind() == TypeKind::kVarchar) {
        bound.constant.kind = ConstantKind::kString;
        bound.type = TypeKind::kVarchar;
        continue;
      }
      if (!target.IsExactNumeric()) continue;
      Number number;
      if (!ParseNumber(bound.constant.text, number)) continue;
      if (FitNumber(number, target, "") == Fit::kExact) {
        SetNumber(bound, number, target);
      } else {
        all_fit = false;
      }
    }
    if (all_fit) return;
    int location = node.location;
    auto low = Node(BoundExprKind::kBinaryOp, node.negated ? "<" : ">=", location);
    low->args.push_back(node.args[0]->Clone());
    low->args.push_back(std::move(node.args[1]));
    auto high = Node(BoundExprKind::kBinaryOp, node.negated ? ">" : "<=", location);
    high->args.push_back(std::move(node.args[0]));
    high->args.push_back(std::move(node.args[2]));
    Compare(low);
    low->type = TypeKind::kBoolean;
    Compare(high);
    high->type = TypeKind::kBoolean;
    auto both = Node(BoundExprKind::kBinaryOp, node.negated ? "OR" : "AND", location);
    both->args.push_back(std::move(low));
    both->args.push_back(std::move(high));
    both->type = TypeKind::kBoolean;
    expr = std::move(both);
  }

  // value [NOT] IN (items): literal items are converted to the value's type; numbers that cannot
  // equal any value of it are dropped (x IN (1, 1e40) is x IN (1)).
  void InList(std::unique_ptr<BoundExpr>& expr) {
    BoundExpr& node = *expr;
    if (IsLiteral(*node.args[0])) return;
    Type target = node.args[0]->type;
    std::vector<std::unique_ptr<BoundExpr>> kept;
    kept.push_back(std::move(node.args[0]));
    for (size_t i = 1; i < node.args.size(); ++i) {
      std::unique_ptr<BoundExpr>& item = node.args[i];
      if (IsLiteral(*item)) {
        if (item->constant.kind == ConstantKind::kString && !ConvertText(*item, kept[0]->type)) {
          return;
        }
        if (IsNumericLiteral(*item)) {
          if (target.kind() == TypeKind::kVarchar) {
            item->constant.kind = ConstantKind::kString;
            item->type = TypeKind::kVarchar;
          } else if (target.IsTemporal() || target.kind() == TypeKind::kBoolean) {
            Fail(absl::StrCat("a number cannot be compared with a value of type ",
                              target.ToString()),
                 item->location);
            return;
          } else if (target.IsExactNumeric()) {
            Number number;
            if (ParseNumber(item->constant.text, number)) {
              if (FitNumber(number, target, "") != Fit::kExact) continue;  // never equal
              SetNumber(*item, number, target);
            }
          }
        }
      }
      kept.push_back(std::move(item));
    }
    node.args = std::move(kept);
    if (node.args.size() == 1) {
      expr = Folded(std::move(node.args[0]), node.negated, node.location);
    }
  }

  // CASE results, COALESCE, GREATEST, LEAST, NULLIF: literals take the common type of the other
  // operands, when they convert to it exactly (text must convert).
  void Combine(const std::vector<BoundExpr*>& operands) {
    Type common;
    bool any = false;
    for (const BoundExpr* operand : operands) {
      if (IsLiteral(*operand) || operand->type == TypeKind::kNull || operand->type.is_unknown()) {
        continue;
      }
      common = any ? CommonType(common, operand->type) : operand->type;
      any = true;
      if (common.is_unknown()) return;
    }
    if (common.is_unknown()) return;
    Type target = common;
    for (BoundExpr* operand : operands) {
      if (!IsLiteral(*operand)) continue;
      if (operand->constant.kind == ConstantKind::kString) {
        if (!ConvertText(*operand, common)) return;
      }
      if (IsNumericLiteral(*operand)) ConvertNumberExactly(*operand, target);
    }
  }

  // Arithmetic: a text literal takes the other operand's type; an integer literal takes the
  // other integer operand's type when it fits (as DuckDB's integer literals do).
  void Arithmetic(BoundExpr& node) {
    for (int i = 0; i < 2; ++i) {
      BoundExpr& literal = *node.args[i];
      BoundExpr& other = *node.args[1 - i];
      if (!IsLiteral(literal) || IsLiteral(other)) continue;
      Type target = other.type;
      if (literal.constant.kind == ConstantKind::kString) {
        if (target.IsTemporal()) {
          // date + '1 day' is an interval; date - '2020-01-01' a date: both are constants the
          // engine converts once.
          continue;
        }
        if (!ConvertText(literal, other.type)) return;
      }
      if (literal.constant.kind == ConstantKind::kInteger && target.IsInteger()) {
        ConvertNumberExactly(literal, target);
      }
    }
  }
};

}  // namespace

Type CommonType(const Type& left, const Type& right) {
  if (left.kind() == TypeKind::kUnknown || right.kind() == TypeKind::kUnknown) return Type();
  if (left == right) return left;
  if (left.kind() == TypeKind::kNull) return right;
  if (right.kind() == TypeKind::kNull) return left;
  if (left.IsInteger() && right.IsInteger()) {
    if (left.IsUnsigned() == right.IsUnsigned()) {
      return IntegerBits(left.kind()) >= IntegerBits(right.kind()) ? left : right;
    }
    const Type& sign = left.IsUnsigned() ? right : left;
    const Type& unsign = left.IsUnsigned() ? left : right;
    if (IntegerBits(sign.kind()) > IntegerBits(unsign.kind())) return sign;
    switch (IntegerBits(unsign.kind())) {
      case 8:
        return TypeKind::kSmallint;
      case 16:
        return TypeKind::kInteger;
      case 32:
        return TypeKind::kBigint;
      case 64:
        return TypeKind::kHugeint;
      default:
        return TypeKind::kDouble;
    }
  }
  if (left.IsNumeric() && right.IsNumeric()) {
    if (left.kind() == TypeKind::kDouble || right.kind() == TypeKind::kDouble)
      return TypeKind::kDouble;
    if (left.IsFloating() || right.IsFloating()) return TypeKind::kFloat;
    auto width_of = [](const Type& t) {
      return t.kind() == TypeKind::kDecimal ? t.width() : std::min(IntegerDigits(t.kind()), 38);
    };
    int scale = std::max(left.scale(), right.scale());
    int digits = std::max(width_of(left) - left.scale(), width_of(right) - right.scale());
    return Type::Decimal(std::min(38, digits + scale), scale);
  }
  if ((left.kind() == TypeKind::kDate && right.kind() == TypeKind::kTimestamp) ||
      (left.kind() == TypeKind::kTimestamp && right.kind() == TypeKind::kDate)) {
    return TypeKind::kTimestamp;
  }
  // Text against another type: DuckDB converts the text.
  if (left.kind() == TypeKind::kVarchar && !right.IsOpaque()) return right;
  if (right.kind() == TypeKind::kVarchar && !left.IsOpaque()) return left;
  return Type();
}

bool CastCanFail(const Type& from, const Type& to) {
  if (from.kind() == TypeKind::kNull) return false;
  if (from.kind() == TypeKind::kUnknown || to.kind() == TypeKind::kUnknown) return true;
  if (from == to) return false;
  if (to.kind() == TypeKind::kVarchar) return false;
  if (from.IsInteger() && to.IsInteger()) {
    Int128 from_low, from_high, to_low, to_high;
    IntegerRange(from.kind(), from_low, from_high);
    IntegerRange(to.kind(), to_low, to_high);
    if (from.kind() == TypeKind::kUhugeint) return true;
    return from_low < to_low || from_high > to_high;
  }
  if (from.IsExactNumeric() && to.kind() == TypeKind::kDecimal) {
    if (from.IsInteger()) return IntegerDigits(from.kind()) > to.width() - to.scale();
    return from.width() - from.scale() > to.width() - to.scale();
  }
  if (from.kind() == TypeKind::kDecimal && to.IsInteger()) {
    return to.IsUnsigned() || from.width() - from.scale() >= IntegerDigits(to.kind());
  }
  if (from.IsExactNumeric() && to.IsFloating()) return false;
  if (from.kind() == TypeKind::kFloat && to.kind() == TypeKind::kDouble) return false;
  if (from.kind() == TypeKind::kBoolean && (to.IsNumeric())) return false;
  if (from.kind() == TypeKind::kTimestamp && to.kind() == TypeKind::kDate) return false;
  return true;
}

Type LiteralType(const Constant& constant) {
  switch (constant.kind) {
    case ConstantKind::kNull:
      return TypeKind::kNull;
    case ConstantKind::kBoolean:
      return TypeKind::kBoolean;
    case ConstantKind::kString:
      return TypeKind::kVarchar;
    case ConstantKind::kInteger:
    case ConstantKind::kFloat:
      break;
  }
  Number number;
  if (!ParseNumber(constant.text, number)) return TypeKind::kDouble;  // 1e5
  if (number.huge) return TypeKind::kDouble;
  if (number.scale == 0) {
    for (TypeKind id : {TypeKind::kInteger, TypeKind::kBigint, TypeKind::kHugeint}) {
      Int128 low, high;
      IntegerRange(id, low, high);
      if (number.unscaled >= low && number.unscaled <= high) {
        return Type(id);
      }
    }
    return TypeKind::kDouble;
  }
  std::string text(Strip(constant.text));
  size_t point = text.find('.');
  size_t start = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  int integer_digits = std::max<int>(1, static_cast<int>(point - start));
  int width = integer_digits + number.scale;
  if (width > 38) return TypeKind::kDouble;
  return Type::Decimal(width, number.scale);
}

bool IsComparisonOperator(const std::string& op) {
  static const std::set<std::string> kComparisons = {
      "=", "<>", "!=", "<", ">", "<=", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"};
  return kComparisons.contains(op);
}

namespace {

bool IsArithmetic(const std::string& op) {
  return op == "+" || op == "-" || op == "*" || op == "/" || op == "%";
}

// DuckDB's result type of `left op right` for + - * / %.
Type ArithmeticType(const std::string& op, const Type& left, const Type& right) {
  if (left.kind() == TypeKind::kNull)
    return right.kind() == TypeKind::kNull ? TypeKind::kInteger : right;
  if (right.kind() == TypeKind::kNull) return left;
  if (left.IsTemporal() || right.IsTemporal()) {
    if (left.kind() == TypeKind::kDate && right.IsInteger()) return TypeKind::kDate;
    if (left.IsInteger() && right.kind() == TypeKind::kDate && op == "+") return TypeKind::kDate;
    if (left.kind() == TypeKind::kDate && right.kind() == TypeKind::kDate && op == "-")
      return TypeKind::kBigint;
    if (left.kind() == TypeKind::kTimestamp && right.kind() == TypeKind::kTimestamp && op == "-") {
      return TypeKind::kInterval;
    }
    if (left.kind() == TypeKind::kInterval && right.kind() == TypeKind::kInterval)
      return TypeKind::kInterval;
    if (left.kind() == TypeKind::kInterval || right.kind() == TypeKind::kInterval) {
      if (left.IsNumeric() || right.IsNumeric()) return TypeKind::kInterval;
      return TypeKind::kTimestamp;
    }
    return Type();
  }
  if (!left.IsNumeric() || !right.IsNumeric()) {
    // Text in arithmetic is converted to the other operand's type.
    if (left.kind() == TypeKind::kVarchar && right.IsNumeric())
      return ArithmeticType(op, right, right);
    if (right.kind() == TypeKind::kVarchar && left.IsNumeric())
      return ArithmeticType(op, left, left);
    return Type();
  }
  if (op == "/") {
    if (left.IsFloating() || right.IsFloating()) {
      return CommonType(left, right) == TypeKind::kFloat ? TypeKind::kFloat : TypeKind::kDouble;
    }
    return TypeKind::kDouble;
  }
  if (left.IsFloating() || right.IsFloating()) return CommonType(left, right);
  if (left.IsInteger() && right.IsInteger()) return CommonType(left, right);
  // Decimals (an integer counts as DECIMAL(digits,0)).
  auto width_of = [](const Type& t) {
    return t.kind() == TypeKind::kDecimal ? t.width() : std::min(IntegerDigits(t.kind()), 38);
  };
  int lw = width_of(left), rw = width_of(right);
  if (op == "*") {
    int scale = left.scale() + right.scale();
    int width = lw + rw;
    if (lw <= 18 && rw <= 18 && width > 18) width = 18;
    width = std::min(width, 38);
    if (scale > width) return TypeKind::kDouble;
    return Type::Decimal(width, scale);
  }
  int scale = std::max(left.scale(), right.scale());
  int digits = std::max(lw - left.scale(), rw - right.scale());
  int width = digits + scale;
  if (op == "%") return Type::Decimal(std::min(38, width), scale);
  int required = width + 1;
  if (width <= 18 && required > 18) required = width;
  return Type::Decimal(std::min(38, required), scale);
}

Type FunctionType(const BoundExpr& expr) {
  const std::string& name = expr.name;
  auto arg = [&](size_t i) -> Type { return i < expr.args.size() ? expr.args[i]->type : Type(); };
  if (name == "try") return arg(0);
  if (name == "abs" || name == "ceil" || name == "ceiling" || name == "floor" || name == "trunc") {
    Type t = arg(0);
    if (t.kind() == TypeKind::kDecimal && name != "abs") return Type::Decimal(t.width(), 0);
    return t;
  }
  if (name == "round") {
    Type t = arg(0);
    if (t.kind() == TypeKind::kDecimal) {
      int64_t digits = 0;
      if (expr.args.size() > 1 && expr.args[1]->kind == BoundExprKind::kConstant &&
          absl::SimpleAtoi(expr.args[1]->constant.text, &digits) && digits >= 0 &&
          digits < t.scale()) {
        return Type::Decimal(t.width(), static_cast<int>(digits));
      }
      return expr.args.size() > 1 ? t : Type::Decimal(t.width(), 0);
    }
    return t.IsInteger() || t.IsFloating() ? t : TypeKind::kDouble;
  }
  if (name == "sign") return TypeKind::kTinyint;
  if (name == "ln" || name == "log" || name == "log10" || name == "log2" || name == "sqrt" ||
      name == "power" || name == "pow" || name == "exp") {
    return TypeKind::kDouble;
  }
  if (name == "mod") return ArithmeticType("%", arg(0), arg(1));
  if (name == "upper" || name == "lower" || name == "trim" || name == "ltrim" || name == "rtrim" ||
      name == "substring" || name == "substr" || name == "concat" || name == "left" ||
      name == "right" || name == "replace") {
    return TypeKind::kVarchar;
  }
  if (name == "length") return TypeKind::kBigint;
  if (name == "date_part" || name == "extract") return TypeKind::kBigint;
  if (name == "date_trunc") return TypeKind::kDate;
  if (name == "nullif") return arg(0);
  if (name == "coalesce" || name == "greatest" || name == "least") {
    Type common = TypeKind::kNull;
    for (const auto& a : expr.args) {
      common = CommonType(common, a->type);
      if (common.is_unknown()) return Type();
    }
    return common;
  }
  return Type();
}

Type AggregateType(const BoundExpr& expr) {
  if (expr.name == "count" || expr.name == "count_star") return TypeKind::kBigint;
  // Ranking window functions, typed as DuckDB types them.
  if (expr.name == "row_number" || expr.name == "rank" || expr.name == "dense_rank" ||
      expr.name == "ntile") {
    return TypeKind::kBigint;
  }
  if (expr.name == "percent_rank" || expr.name == "cume_dist") return TypeKind::kDouble;
  if (expr.args.empty()) return Type();
  Type t = expr.args[0]->type;
  if (expr.name == "sum") {
    if (t.IsInteger()) return TypeKind::kHugeint;
    if (t.kind() == TypeKind::kDecimal) return Type::Decimal(38, t.scale());
    if (t.IsFloating()) return TypeKind::kDouble;
    return t;
  }
  if (expr.name == "avg") return t.IsNumeric() ? TypeKind::kDouble : t;
  if (expr.name == "min" || expr.name == "max" || expr.name == "any_value" ||
      expr.name == "first" || expr.name == "last") {
    return t;
  }
  return Type();
}

}  // namespace

std::optional<TypeError> TypeCondition(BoundExpr& condition) {
  Typer typer;
  typer.ConvertToBoolean(condition);
  return typer.error;
}

void DeriveType(BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn:
    case BoundExprKind::kOutputRef:
      return;  // set by the binder from the table's schema
    case BoundExprKind::kConstant:
      if (expr.type.is_unknown()) expr.type = LiteralType(expr.constant);
      return;
    case BoundExprKind::kScalar:
      expr.type = FunctionType(expr);
      return;
    case BoundExprKind::kAggregate:
      expr.type = AggregateType(expr);
      return;
    case BoundExprKind::kWindow:
      expr.type = AggregateType(expr);
      return;
    case BoundExprKind::kUnaryOp:
      if (expr.name == "NOT") {
        expr.type = TypeKind::kBoolean;
      } else {
        expr.type = expr.args[0]->type;
      }
      return;
    case BoundExprKind::kBinaryOp:
      if (IsArithmetic(expr.name)) {
        expr.type = ArithmeticType(expr.name, expr.args[0]->type, expr.args[1]->type);
      } else if (expr.name == "||") {
        expr.type = TypeKind::kVarchar;
      } else {
        expr.type = TypeKind::kBoolean;
      }
      return;
    case BoundExprKind::kIsNull:
    case BoundExprKind::kBetween:
    case BoundExprKind::kInList:
      expr.type = TypeKind::kBoolean;
      return;
    case BoundExprKind::kCase: {
      size_t i = expr.case_has_operand ? 1 : 0;
      size_t end = expr.args.size() - (expr.case_has_else ? 1 : 0);
      Type common = TypeKind::kNull;
      for (; i + 1 < end; i += 2) common = CommonType(common, expr.args[i + 1]->type);
      if (expr.case_has_else) common = CommonType(common, expr.args.back()->type);
      expr.type = common;
      return;
    }
    case BoundExprKind::kCast:
      expr.type = expr.cast_type;
      return;
    case BoundExprKind::kSubquery:
      if (expr.what == "scalar subquery" && expr.subquery && !expr.subquery->select.empty() &&
          expr.subquery->select[0].expr) {
        expr.type = expr.subquery->select[0].expr->type;
      } else {
        expr.type = TypeKind::kBoolean;
      }
      return;
  }
}

std::optional<TypeError> TypeExpression(std::unique_ptr<BoundExpr>& expr) {
  Typer typer;
  BoundExpr& node = *expr;
  switch (node.kind) {
    case BoundExprKind::kUnaryOp:
      if (node.name == "NOT") {
        typer.ConvertToBoolean(*node.args[0]);
        break;
      }
      // -5 is a constant, so that it converts like one.
      if (node.name == "-" && IsNumericLiteral(*node.args[0]) &&
          node.args[0]->constant.text[0] != '-') {
        auto constant = std::move(node.args[0]);
        constant->constant.text = "-" + constant->constant.text;
        constant->type = LiteralType(constant->constant);
        constant->location = node.location;
        expr = std::move(constant);
        return std::nullopt;
      }
      break;
    case BoundExprKind::kBinaryOp:
      if (node.name == "AND" || node.name == "OR") {
        typer.ConvertToBoolean(*node.args[0]) && typer.ConvertToBoolean(*node.args[1]);
      } else if (IsComparisonOperator(node.name)) {
        typer.Compare(expr);
      } else if (IsArithmetic(node.name)) {
        typer.Arithmetic(node);
      } else if (node.name == "LIKE" || node.name == "ILIKE") {
        for (auto& arg : node.args) {
          if (IsNumericLiteral(*arg)) {
            arg->constant.kind = ConstantKind::kString;
            arg->type = TypeKind::kVarchar;
          }
        }
      }
      break;
    case BoundExprKind::kBetween:
      typer.Between(expr);
      break;
    case BoundExprKind::kInList:
      typer.InList(expr);
      break;
    case BoundExprKind::kCase: {
      std::vector<BoundExpr*> results;
      size_t i = node.case_has_operand ? 1 : 0;
      size_t end = node.args.size() - (node.case_has_else ? 1 : 0);
      std::vector<BoundExpr*> operand_and_whens;
      if (node.case_has_operand) operand_and_whens.push_back(node.args[0].get());
      for (; i + 1 < end; i += 2) {
        if (node.case_has_operand) {
          operand_and_whens.push_back(node.args[i].get());
        } else {
          typer.ConvertToBoolean(*node.args[i]);
        }
        results.push_back(node.args[i + 1].get());
      }
      if (node.case_has_else) results.push_back(node.args.back().get());
      if (node.case_has_operand) typer.Combine(operand_and_whens);
      typer.Combine(results);
      break;
    }
    case BoundExprKind::kScalar:
      if (node.name == "coalesce" || node.name == "greatest" || node.name == "least" ||
          node.name == "nullif") {
        std::vector<BoundExpr*> operands;
        for (auto& arg : node.args) operands.push_back(arg.get());
        typer.Combine(operands);
      }
      break;
    default:
      break;
  }
  if (typer.error) return typer.error;
  DeriveType(*expr);
  return std::nullopt;
}

}  // namespace parley::sql
