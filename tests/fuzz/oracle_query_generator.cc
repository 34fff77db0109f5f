#include "fuzz/oracle_query_generator.h"

#include <random>
#include <string>
#include <vector>

namespace parley::fuzz {
namespace {

struct Column {
  const char* name;
  enum Kind { kText, kInteger, kDecimal, kFloat, kDate, kTimestamp, kBoolean } kind;
};

// Dimension (or list) columns per table alias, and the aggregates the rules allow.
const std::vector<Column> kRetailDimensions = {
    {"age_band", Column::kText},          {"income_bracket", Column::kText},
    {"household_size", Column::kInteger}, {"region", Column::kText},
    {"segment", Column::kText},           {"big_id", Column::kInteger},
    {"signup_date", Column::kDate},       {"last_seen", Column::kTimestamp},
    {"active", Column::kBoolean},         {"code", Column::kText},
    {"level", Column::kInteger},          {"price", Column::kDecimal},
    {"ratio", Column::kDecimal},          {"score", Column::kFloat}};
const std::vector<Column> kProbeDimensions = {
    {"wide_ratio", Column::kDecimal}, {"moment", Column::kTimestamp}, {"visit", Column::kDate},
    {"tier", Column::kText},          {"label", Column::kText},       {"points", Column::kInteger},
    {"spend", Column::kFloat},        {"flag", Column::kBoolean},     {"n", Column::kInteger}};
const std::vector<Column> kLoyaltyDimensions = {{"loyalty_tier", Column::kText}};
const std::vector<Column> kCustomerColumns = {{"customer_id", Column::kInteger},
                                              {"loyalty_tier", Column::kText},
                                              {"brand_purchases", Column::kInteger},
                                              {"lifetime_value", Column::kFloat},
                                              {"note", Column::kText},
                                              {"since", Column::kDate}};
const std::vector<Column> kAudienceColumns = {
    {"household_id", Column::kInteger},   {"age_band", Column::kText},
    {"household_size", Column::kInteger}, {"region", Column::kText},
    {"annual_spend", Column::kFloat},     {"big_id", Column::kInteger},
    {"signup_date", Column::kDate},       {"last_seen", Column::kTimestamp},
    {"active", Column::kBoolean},         {"code", Column::kText},
    {"level", Column::kInteger},          {"price", Column::kDecimal},
    {"ratio", Column::kDecimal},          {"wide", Column::kDecimal},
    {"units", Column::kInteger},          {"total", Column::kInteger}};

const char* kAggregates[] = {"COUNT(DISTINCT r.household_id)",
                             "COUNT(r.household_id)",
                             "SUM(r.annual_spend)",
                             "AVG(r.online_spend)",
                             "SUM(r.amount)",
                             "AVG(r.wide)",
                             "SUM(r.huge_total)",
                             "SUM(r.units)",
                             "AVG(r.total)",
                             "SUM(DISTINCT r.total)",
                             "COUNT(r.units)"};
const char* kProbeAggregates[] = {"SUM(p.big)", "AVG(p.huge)", "SUM(p.small_money)", "COUNT(p.day)",
                                  "COUNT(DISTINCT p.hashed_email)"};
const char* kLoyaltyAggregates[] = {"SUM(l.brand_purchases)", "AVG(l.brand_purchases)",
                                    "COUNT(DISTINCT l.hashed_email)"};

// Literals by kind, ordinary and hostile (extremes, widths and scales that force conversions).
const std::vector<std::string> kLiteralsOf[] = {
    /* kText */ {"'x'", "'12'", "'1.5'", "'2020-01-01'", "'not-a-number'", "''", "'north'"},
    /* kInteger */
    {"0", "1", "2", "5000", "-1", "2147483647", "9223372036854775807", "-9223372036854775808",
     "99999999999999999999", "170141183460469231731687303715884105727"},
    /* kDecimal */
    {"1.5", "0.1234567890123456789012345", "0.00000000001", "12345678901234567.5", "-0.5"},
    /* kFloat */ {"1e308", "1.5e10", "-2.5e-3"},
    /* kDate */ {"DATE '2020-01-01'", "DATE '5881580-07-10'", "'2016-01-01'"},
    /* kTimestamp */
    {"TIMESTAMP '2020-01-01 12:00:00'", "'2020-01-01 00:00:00'",
     "TIMESTAMP '294246-12-31 23:59:59'"},
    /* kBoolean */ {"true", "false", "NULL"},
};
const char* kNumericTypes[] = {"INTEGER",        "BIGINT",       "SMALLINT",
                               "TINYINT",        "DOUBLE",       "DECIMAL(18,2)",
                               "DECIMAL(38,10)", "DECIMAL(4,1)", "HUGEINT"};
const char* kComparisons[] = {"=", "<>", "<", ">", "<=", ">="};
const char* kArithmetic[] = {"+", "-", "*", "/", "%"};
const char* kNumericFunctions[] = {"ABS", "ROUND", "CEIL", "FLOOR", "SIGN", "SQRT", "LN", "EXP"};
const char* kTextFunctions[] = {"UPPER", "LOWER", "TRIM"};

using Kind = Column::Kind;

bool Numeric(Kind kind) {
  return kind == Column::kInteger || kind == Column::kDecimal || kind == Column::kFloat;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : random_(seed) {}

  std::string Query() { return Pick(3) == 0 ? List() : Aggregation(); }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }
  bool Chance(int percent) { return Pick(100) < static_cast<size_t>(percent); }
  template <typename T, size_t N>
  const char* PickOf(T (&items)[N]) {
    return items[Pick(N)];
  }

  struct Scope {
    std::vector<std::pair<std::string, Column>> columns;  // qualified name, column
    bool list = false;
  };

  // A column of `kind` (numeric kinds mix), or empty when the scope has none.
  std::string ColumnOf(const Scope& scope, Kind kind) {
    std::vector<const std::string*> found;
    for (const auto& [name, column] : scope.columns) {
      if (column.kind == kind || (Numeric(kind) && Numeric(column.kind))) found.push_back(&name);
    }
    return found.empty() ? std::string() : *found[Pick(found.size())];
  }

  std::string LiteralOf(Kind kind) {
    if (Numeric(kind)) kind = static_cast<Kind>(Column::kInteger + Pick(3));
    // Now and then a literal of another kind: a text literal converts implicitly.
    if (Chance(10)) kind = Column::kText;
    const std::vector<std::string>& literals = kLiteralsOf[kind];
    return literals[Pick(literals.size())];
  }

  Kind AnyKind() {
    static const Kind kKinds[] = {Column::kText,    Column::kInteger, Column::kDecimal,
                                  Column::kFloat,   Column::kDate,    Column::kTimestamp,
                                  Column::kInteger, Column::kDecimal};
    return kKinds[Pick(std::size(kKinds))];
  }

  std::string Value(const Scope& scope, Kind kind, int depth) {
    if (kind == Column::kBoolean) return Condition(scope, depth);
    if (depth <= 0 || Chance(35)) {
      std::string column = ColumnOf(scope, kind);
      return column.empty() || Chance(25) ? LiteralOf(kind) : column;
    }
    if (scope.list) {  // arithmetic only
      if (!Numeric(kind) && kind != Column::kDate) return Value(scope, kind, 0);
      if (kind == Column::kDate) {
        return "(" + Value(scope, kind, depth - 1) + " + " + LiteralOf(Column::kInteger) + ")";
      }
      return "(" + Value(scope, kind, depth - 1) + " " + PickOf(kArithmetic) + " " +
             Value(scope, kind, depth - 1) + ")";
    }
    switch (Pick(5)) {
      case 0:
        return "CASE WHEN " + Condition(scope, depth - 1) + " THEN " +
               Value(scope, kind, depth - 1) + " ELSE " + Value(scope, kind, depth - 1) + " END";
      case 1:
        return (Chance(60) ? "COALESCE(" : "NULLIF(") + Value(scope, kind, depth - 1) + ", " +
               Value(scope, kind, depth - 1) + ")";
      case 2: {  // a conversion from another kind
        Kind from = AnyKind();
        const char* type = Numeric(kind)           ? PickOf(kNumericTypes)
                           : kind == Column::kText ? "VARCHAR"
                           : kind == Column::kDate ? "DATE"
                                                   : "TIMESTAMP";
        return "CAST(" + Value(scope, from, depth - 1) + " AS " + type + ")";
      }
      default:
        break;
    }
    if (Numeric(kind)) {
      if (Chance(30)) {
        return std::string(PickOf(kNumericFunctions)) + "(" + Value(scope, kind, depth - 1) + ")";
      }
      if (Chance(10)) return "-" + Value(scope, kind, depth - 1);
      return "(" + Value(scope, kind, depth - 1) + " " + PickOf(kArithmetic) + " " +
             Value(scope, kind, depth - 1) + ")";
    }
    if (kind == Column::kText) {
      return std::string(PickOf(kTextFunctions)) + "(" + Value(scope, kind, depth - 1) + ")";
    }
    if (kind == Column::kDate) {
      return "(" + Value(scope, kind, depth - 1) + " + " + LiteralOf(Column::kInteger) + ")";
    }
    return "(" + Value(scope, kind, depth - 1) + " + INTERVAL '1' DAY)";
  }

  std::string Condition(const Scope& scope, int depth) {
    if (depth <= 0 || Chance(30)) {
      Kind kind = AnyKind();
      // Comparing a date with a timestamp converts the date row by row.
      Kind other = kind == Column::kDate && Chance(30)        ? Column::kTimestamp
                   : kind == Column::kTimestamp && Chance(30) ? Column::kDate
                                                              : kind;
      switch (Pick(6)) {
        case 0:
          return Value(scope, kind, 1) + " IS " + (Chance(50) ? "NOT " : "") + "NULL";
        case 1:
          return Value(scope, kind, 1) + " BETWEEN " + LiteralOf(other) + " AND " +
                 LiteralOf(other);
        case 2:
          return Value(scope, kind, 1) + " IN (" + LiteralOf(other) + ", " + LiteralOf(other) + ")";
        case 3: {  // true for every row of D: what follows an OR runs only for other rows
          std::string level = ColumnOf(scope, Column::kInteger);
          return level.empty() ? LiteralOf(Column::kBoolean) : level + " < 5000";
        }
        case 4: {
          std::string flag = ColumnOf(scope, Column::kBoolean);
          return flag.empty() ? LiteralOf(Column::kText) : flag;
        }
        default:
          return Value(scope, kind, 1) + " " + PickOf(kComparisons) + " " + Value(scope, other, 1);
      }
    }
    switch (Pick(scope.list ? 3 : 5)) {
      case 0:
        return "(" + Condition(scope, depth - 1) + " OR " + Condition(scope, depth - 1) + ")";
      case 1:
        return "(" + Condition(scope, depth - 1) + " AND " + Condition(scope, depth - 1) + ")";
      case 2:
        return "NOT (" + Condition(scope, depth - 1) + ")";
      case 3:
        return "CASE WHEN " + Condition(scope, depth - 1) + " THEN " + Condition(scope, depth - 1) +
               " ELSE " + Condition(scope, depth - 1) + " END";
      default:
        return "COALESCE(" + Condition(scope, depth - 1) + ", " + Condition(scope, depth - 1) + ")";
    }
  }

  std::string Literal() { return LiteralOf(static_cast<Kind>(Column::kInteger + Pick(3))); }

  // Aggregates, possibly inside expressions, for SELECT, HAVING and ORDER BY.
  std::string Measure(const std::vector<std::string>& aggregates, int depth) {
    std::string aggregate = aggregates[Pick(aggregates.size())];
    if (depth <= 0 || Chance(40)) return aggregate;
    switch (Pick(4)) {
      case 0:
        return "(" + aggregate + " " + PickOf(kArithmetic) + " " +
               (Chance(50) ? Literal() : Measure(aggregates, depth - 1)) + ")";
      case 1:
        return "ROUND(" + aggregate + ", 2)";
      case 2:
        return "CASE WHEN " + MeasureCondition(aggregates, depth - 1) + " THEN " +
               Measure(aggregates, depth - 1) + " ELSE " + Literal() + " END";
      default:
        return "COALESCE(" + Measure(aggregates, depth - 1) + ", " + Literal() + ")";
    }
  }

  std::string MeasureCondition(const std::vector<std::string>& aggregates, int depth) {
    std::string comparison = Measure(aggregates, depth) + " " + PickOf(kComparisons) + " " +
                             (Chance(70) ? Literal() : Measure(aggregates, depth));
    if (depth <= 0 || Chance(50)) return comparison;
    return "(" + comparison + (Chance(50) ? " OR " : " AND ") +
           MeasureCondition(aggregates, depth - 1) + ")";
  }

  std::string AnyColumn(const Scope& scope) {
    return scope.columns[Pick(scope.columns.size())].first;
  }

  std::string Aggregation() {
    Scope scope;
    std::vector<std::string> aggregates(std::begin(kAggregates), std::end(kAggregates));
    for (const Column& column : kRetailDimensions)
      scope.columns.push_back({"r." + std::string(column.name), column});
    std::string from = "retail r";
    if (Chance(50)) {
      from += " JOIN probe p ON r.hashed_email = p.hashed_email";
      for (const Column& column : kProbeDimensions)
        scope.columns.push_back({"p." + std::string(column.name), column});
      aggregates.insert(aggregates.end(), std::begin(kProbeAggregates), std::end(kProbeAggregates));
    }
    if (Chance(30)) {
      from += " JOIN loyalty l ON r.hashed_email = l.hashed_email";
      for (const Column& column : kLoyaltyDimensions)
        scope.columns.push_back({"l." + std::string(column.name), column});
      aggregates.insert(aggregates.end(), std::begin(kLoyaltyAggregates),
                        std::end(kLoyaltyAggregates));
    }
    // Plain columns as keys, so that the oracle compares rows; sometimes an expression.
    std::vector<std::string> keys;
    for (size_t i = 0, n = Pick(3); i < n; ++i) {
      keys.push_back(Chance(85) ? AnyColumn(scope) : Value(scope, AnyKind(), 2));
    }
    std::string select;
    for (const std::string& key : keys) select += key + ", ";
    select += Measure(aggregates, 2);
    if (Chance(50)) select += ", " + Measure(aggregates, 2);
    std::string sql = "SELECT " + select + " FROM " + from;
    if (Chance(85)) sql += " WHERE " + Condition(scope, 3);
    if (!keys.empty()) {
      sql += " GROUP BY ";
      for (size_t i = 0; i < keys.size(); ++i) sql += (i ? ", " : "") + std::to_string(i + 1);
    }
    if (Chance(40)) sql += " HAVING " + MeasureCondition(aggregates, 2);
    if (Chance(30)) {
      sql += " ORDER BY " + Measure(aggregates, 2);
      for (size_t i = 0; i < keys.size(); ++i) sql += ", " + std::to_string(i + 1);
    }
    return sql;
  }

  std::string List() {
    Scope scope;
    scope.list = true;
    for (const Column& column : kAudienceColumns)
      scope.columns.push_back({"a." + std::string(column.name), column});
    for (const Column& column : kCustomerColumns)
      scope.columns.push_back({"c." + std::string(column.name), column});
    std::string select = "a.household_id";
    for (size_t i = 0, n = Pick(3); i < n; ++i) select += ", " + Value(scope, AnyKind(), 1);
    std::string sql = "SELECT DISTINCT " + select +
                      " FROM audience a JOIN customers c ON a.hashed_email = c.hashed_email";
    if (Chance(90)) sql += " WHERE " + Condition(scope, 3);
    return sql;
  }

  std::mt19937 random_;
};

}  // namespace

std::string GenerateOracleQuery(uint32_t seed) { return Generator(seed).Query(); }

}  // namespace parley::fuzz
