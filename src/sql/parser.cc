#include "sql/parser.h"

#include <pg_query.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parley::sql {
namespace {

using Json = nlohmann::json;

// Reads libpg_query's JSON tree. The tree is PostgreSQL's raw parse tree: each node is an object
// with one key naming its type. Unknown node types become kUnsupported expressions or unsupported
// clauses, never silently dropped.
class TreeReader {
 public:
  explicit TreeReader(std::string_view sql) : sql_(sql) {}

  absl::StatusOr<std::unique_ptr<SelectStatement>> Select(const Json& node) {
    auto statement = std::make_unique<SelectStatement>();
    PARLEY_RETURN_IF_ERROR(ReadSelect(node, *statement));
    return statement;
  }

 private:
  static int Location(const Json& node) {
    auto it = node.find("location");
    return it == node.end() ? -1 : it->get<int>();
  }

  static std::string StringValue(const Json& node) {
    // {"String": {"sval": "x"}}
    auto it = node.find("String");
    if (it == node.end()) return "";
    return it->value("sval", "");
  }

  static std::string LastName(const Json& names) {
    if (!names.is_array() || names.empty()) return "";
    return StringValue(names.back());
  }

  absl::Status ReadSelect(const Json& node, SelectStatement& out) {
    NestingGuard guard(nesting_);
    if (nesting_ > kMaxNesting) {
      return absl::InvalidArgumentError(absl::StrCat(DeepQueries(), " is not supported"));
    }
    std::string op = node.value("op", "SETOP_NONE");
    if (auto with = node.find("withClause"); with != node.end()) {
      out.has_with = true;
      out.with_location = Location(*with);
      if (with->value("recursive", false)) out.unsupported.push_back("WITH RECURSIVE");
      // Each CTE may read the one before it, so a chain is as deep as it is long.
      constexpr size_t kMaxCtes = 64;
      if (with->value("ctes", Json::array()).size() > kMaxCtes) {
        return absl::InvalidArgumentError(
            absl::StrCat("a WITH clause of more than ", kMaxCtes, " queries is not supported"));
      }
      for (const Json& cte : with->value("ctes", Json::array())) {
        const Json& definition = cte["CommonTableExpr"];
        const Json& query = definition["ctequery"];
        auto body = std::make_shared<SelectStatement>();
        if (query.contains("SelectStmt")) {
          PARLEY_RETURN_IF_ERROR(ReadSelect(query["SelectStmt"], *body));
        } else {
          body->unsupported.push_back("a data-modifying CTE");
        }
        if (definition.contains("aliascolnames")) body->unsupported.push_back("CTE column lists");
        if (out.with_location < 0) out.with_location = Location(definition);
        out.ctes.push_back(std::move(body));
        out.cte_names.push_back(definition.value("ctename", ""));
        out.cte_locations.push_back(Location(definition));
      }
    }
    if (op != "SETOP_NONE") {
      out.set_operation = op == "SETOP_UNION"       ? SetOperation::kUnion
                          : op == "SETOP_INTERSECT" ? SetOperation::kIntersect
                                                    : SetOperation::kExcept;
      out.set_all = node.value("all", false);
      out.set_left = std::make_shared<SelectStatement>();
      out.set_right = std::make_shared<SelectStatement>();
      // larg and rarg are typed SelectStmt fields, so the JSON has no node-type wrapper.
      PARLEY_RETURN_IF_ERROR(ReadSelect(node.at("larg"), *out.set_left));
      PARLEY_RETURN_IF_ERROR(ReadSelect(node.at("rarg"), *out.set_right));
      out.location = out.set_left->location;
    }
    if (auto it = node.find("distinctClause"); it != node.end()) {
      out.distinct = true;
      for (const Json& item : *it) {
        if (!item.empty()) out.distinct_on = true;
      }
    }
    if (auto it = node.find("targetList"); it != node.end()) {
      for (const Json& target : *it) {
        const Json& res = target["ResTarget"];
        SelectItem item;
        item.alias = res.value("name", "");
        item.location = Location(res);
        item.expr = ReadExpr(res["val"]);
        out.select.push_back(std::move(item));
      }
      if (!out.select.empty()) out.location = out.select.front().location;
    }
    if (auto it = node.find("fromClause"); it != node.end()) {
      for (const Json& item : *it) out.from.push_back(ReadTableRef(item));
    }
    if (auto it = node.find("whereClause"); it != node.end()) out.where = ReadExpr(*it);
    if (auto it = node.find("groupClause"); it != node.end()) {
      for (const Json& item : *it) out.group_by.push_back(ReadExpr(item));
    }
    if (auto it = node.find("havingClause"); it != node.end()) out.having = ReadExpr(*it);
    if (auto it = node.find("sortClause"); it != node.end()) {
      for (const Json& item : *it) out.order_by.push_back(ReadSortBy(item));
    }
    if (auto it = node.find("limitCount"); it != node.end()) out.limit = ReadExpr(*it);
    if (auto it = node.find("limitOffset"); it != node.end()) out.offset = ReadExpr(*it);
    if (node.value("limitOption", "") == "LIMIT_OPTION_WITH_TIES") {
      out.unsupported.push_back("FETCH ... WITH TIES");
    }
    if (node.contains("windowClause")) out.unsupported.push_back("WINDOW clause");
    if (node.contains("intoClause")) out.unsupported.push_back("SELECT INTO");
    if (node.contains("lockingClause")) out.unsupported.push_back("FOR UPDATE/SHARE");
    if (node.contains("valuesLists")) out.unsupported.push_back("VALUES");
    return absl::OkStatus();
  }

  // One ORDER BY item; `USING op` becomes an unsupported expression.
  OrderItem ReadSortBy(const Json& item) {
    const Json& sort = item["SortBy"];
    OrderItem order;
    order.expr = ReadExpr(sort["node"]);
    std::string direction = sort.value("sortby_dir", "SORTBY_DEFAULT");
    order.descending = direction == "SORTBY_DESC";
    if (direction == "SORTBY_USING")
      order.expr = Unsupported("ORDER BY ... USING", order.expr->location);
    std::string nulls = sort.value("sortby_nulls", "SORTBY_NULLS_DEFAULT");
    if (nulls == "SORTBY_NULLS_FIRST") order.nulls_first = true;
    if (nulls == "SORTBY_NULLS_LAST") order.nulls_first = false;
    return order;
  }

  std::unique_ptr<TableRef> ReadTableRef(const Json& node) {
    NestingGuard guard(nesting_);
    if (nesting_ > kMaxNesting) {
      auto ref = std::make_unique<TableRef>();
      ref->kind = TableRefKind::kUnsupported;
      ref->what = absl::StrCat("nesting joins more than ", kMaxNesting, " levels deep");
      return ref;
    }
    auto ref = std::make_unique<TableRef>();
    if (auto it = node.find("RangeVar"); it != node.end()) {
      const Json& range = *it;
      ref->kind = TableRefKind::kTable;
      ref->location = Location(range);
      ref->name = range.value("relname", "");
      ref->schema = range.value("schemaname", "");
      if (range.contains("catalogname"))
        ref->schema = range.value("catalogname", "") + "." + ref->schema;
      if (auto alias = range.find("alias"); alias != range.end()) {
        ref->alias = alias->value("aliasname", "");
        if (alias->contains("colnames")) {
          ref->kind = TableRefKind::kUnsupported;
          ref->what = "column aliases on a table";
        }
      }
      return ref;
    }
    if (auto it = node.find("JoinExpr"); it != node.end()) {
      const Json& join = *it;
      ref->kind = TableRefKind::kJoin;
      std::string type = join.value("jointype", "JOIN_INNER");
      ref->join_type = type == "JOIN_LEFT"    ? JoinType::kLeft
                       : type == "JOIN_RIGHT" ? JoinType::kRight
                       : type == "JOIN_FULL"  ? JoinType::kFull
                                              : JoinType::kInner;
      ref->natural = join.value("isNatural", false);
      ref->has_using = join.contains("usingClause");
      ref->left = ReadTableRef(join["larg"]);
      ref->right = ReadTableRef(join["rarg"]);
      if (auto quals = join.find("quals"); quals != join.end()) {
        ref->on = ReadExpr(*quals);
      } else if (!ref->natural && !ref->has_using && ref->join_type == JoinType::kInner) {
        ref->join_type = JoinType::kCross;
      }
      ref->location = ref->left->location;
      if (join.contains("alias")) {
        ref->kind = TableRefKind::kUnsupported;
        ref->what = "an alias on a join";
      }
      return ref;
    }
    if (auto it = node.find("RangeSubselect"); it != node.end()) {
      const Json& sub = *it;
      ref->kind = TableRefKind::kSubquery;
      ref->subquery = std::make_shared<SelectStatement>();
      if (auto alias = sub.find("alias"); alias != sub.end()) {
        ref->alias = alias->value("aliasname", "");
      }
      if (!ReadSelect(sub["subquery"]["SelectStmt"], *ref->subquery).ok() ||
          sub.value("lateral", false)) {
        ref->kind = TableRefKind::kUnsupported;
        ref->what = "LATERAL subquery";
      }
      ref->location = ref->subquery->location;
      return ref;
    }
    ref->kind = TableRefKind::kUnsupported;
    ref->what = node.contains("RangeFunction") ? "a table function" : "this FROM item";
    if (!node.empty()) ref->location = Location(node.begin().value());
    if (auto it = node.find("RangeFunction"); it != node.end()) {
      // RangeFunction has no location of its own: {"functions": [{"List": {"items": [call, ..]}}]}
      const Json& functions = it->value("functions", Json::array());
      if (!functions.empty()) {
        const Json& items =
            functions[0].value("List", Json::object()).value("items", Json::array());
        if (!items.empty() && !items[0].empty()) ref->location = Location(items[0].begin().value());
      }
    }
    return ref;
  }

  std::unique_ptr<Expr> Unsupported(std::string what, int location) {
    auto expr = std::make_unique<Expr>();
    expr->kind = ExprKind::kUnsupported;
    expr->what = std::move(what);
    expr->location = location;
    return expr;
  }

  std::unique_ptr<Expr> Make(ExprKind kind, int location) {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->location = location;
    return expr;
  }

  std::unique_ptr<Expr> Binary(std::string op, std::unique_ptr<Expr> left,
                               std::unique_ptr<Expr> right, int location) {
    auto expr = Make(ExprKind::kBinaryOp, location);
    expr->name = std::move(op);
    expr->args.push_back(std::move(left));
    expr->args.push_back(std::move(right));
    return expr;
  }

  // Integer constants are re-read from the source text: the JSON output omits zero values and
  // folds a leading minus sign in ways that lose it, and the text is the ground truth.
  absl::StatusOr<std::string> IntegerText(int location) {
    if (location < 0 || static_cast<size_t>(location) >= sql_.size()) {
      return absl::InvalidArgumentError("could not read an integer constant");
    }
    bool negative = false;
    size_t i = static_cast<size_t>(location);
    while (i < sql_.size() && (sql_[i] == '-' || sql_[i] == '+' ||
                               std::isspace(static_cast<unsigned char>(sql_[i])))) {
      if (sql_[i] == '-') negative = !negative;
      ++i;
    }
    size_t start = i;
    while (i < sql_.size() && std::isdigit(static_cast<unsigned char>(sql_[i]))) ++i;
    if (i == start) return absl::InvalidArgumentError("could not read an integer constant");
    std::string digits(sql_.substr(start, i - start));
    return negative ? "-" + digits : digits;
  }

  std::unique_ptr<Expr> ReadConstant(const Json& node) {
    int location = Location(node);
    auto expr = Make(ExprKind::kConstant, location);
    if (node.value("isnull", false)) {
      expr->constant.kind = ConstantKind::kNull;
    } else if (auto it = node.find("ival"); it != node.end()) {
      absl::StatusOr<std::string> text = IntegerText(location);
      if (!text.ok()) return Unsupported("an integer constant in an unusual form", location);
      expr->constant.kind = ConstantKind::kInteger;
      expr->constant.text = *text;
    } else if (auto it = node.find("fval"); it != node.end()) {
      std::string text = it->value("fval", "");
      bool integral = text.find_first_of(".eE") == std::string::npos;
      expr->constant.kind = integral ? ConstantKind::kInteger : ConstantKind::kFloat;
      expr->constant.text = text;
    } else if (auto it = node.find("sval"); it != node.end()) {
      expr->constant.kind = ConstantKind::kString;
      expr->constant.text = it->value("sval", "");
    } else if (auto it = node.find("boolval"); it != node.end()) {
      expr->constant.kind = ConstantKind::kBoolean;
      expr->constant.text = it->value("boolval", false) ? "true" : "false";
    } else {
      return Unsupported("this kind of constant (bit string)", location);
    }
    return expr;
  }

  std::unique_ptr<Expr> ReadFunctionCall(const Json& call) {
    int location = Location(call);
    const Json& names = call["funcname"];
    if (names.size() > 1 && StringValue(names.front()) != "pg_catalog") {
      return Unsupported("a schema-qualified function", location);
    }
    auto expr = Make(ExprKind::kFunctionCall, location);
    expr->name = absl::AsciiStrToLower(LastName(names));
    // The renderer prints function names as they are: a quoted name such as "abs(0) AS a, abs"
    // must never get that far, whatever the rules allow.
    if (expr->name.empty() || expr->name.find_first_not_of(
                                  "abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return Unsupported("a function whose name is not a plain identifier", location);
    }
    // SQL-standard TRIM(x) and TRIM(BOTH ... FROM x) are PostgreSQL's btrim.
    if (expr->name == "btrim") expr->name = "trim";
    expr->distinct = call.value("agg_distinct", false);
    expr->star_argument = call.value("agg_star", false);
    // Named one by one, so a refusal says which PostgreSQL spelling is not supported.
    if (call.contains("agg_filter")) expr->agg_filter = ReadExpr(call["agg_filter"]);
    if (call.value("agg_within_group", false)) {
      expr->unsupported_call_part = "WITHIN GROUP (ORDER BY ...)";
    } else if (call.contains("agg_order")) {
      expr->unsupported_call_part = "ORDER BY inside the call";
    } else if (call.value("func_variadic", false)) {
      expr->unsupported_call_part = "VARIADIC";
    }
    expr->has_over = call.contains("over");
    if (expr->has_over) {
      const Json& over = call["over"];
      // Only the default frame (RANGE UNBOUNDED PRECEDING to CURRENT ROW) is modelled.
      constexpr int kDefaultFrameOptions = 1058;
      if (over.contains("name") || over.contains("refname")) {
        return Unsupported("a named window", location);
      }
      if (over.value("frameOptions", kDefaultFrameOptions) != kDefaultFrameOptions) {
        return Unsupported("a window frame clause (ROWS/RANGE/GROUPS ...)", location);
      }
      for (const Json& item : over.value("partitionClause", Json::array())) {
        expr->window_partition.push_back(ReadExpr(item));
      }
      for (const Json& item : over.value("orderClause", Json::array())) {
        expr->window_order.push_back(ReadSortBy(item));
      }
    }
    if (auto it = call.find("args"); it != call.end()) {
      for (const Json& arg : *it) {
        if (arg.contains("NamedArgExpr")) return Unsupported("a named function argument", location);
        expr->args.push_back(ReadExpr(arg));
      }
    }
    return expr;
  }

  std::unique_ptr<Expr> ReadAExpr(const Json& node) {
    int location = Location(node);
    std::string kind = node.value("kind", "");
    std::string op = LastName(node.value("name", Json::array()));
    auto lexpr = node.contains("lexpr") ? ReadExpr(node["lexpr"]) : nullptr;
    if (kind == "AEXPR_OP") {
      auto rexpr = ReadExpr(node["rexpr"]);
      if (!lexpr) {
        auto expr = Make(ExprKind::kUnaryOp, location);
        expr->name = op;
        expr->args.push_back(std::move(rexpr));
        return expr;
      }
      return Binary(op, std::move(lexpr), std::move(rexpr), location);
    }
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
      bool ilike = kind == "AEXPR_ILIKE";
      auto expr =
          Binary(ilike ? "ILIKE" : "LIKE", std::move(lexpr), ReadExpr(node["rexpr"]), location);
      expr->negated = op.front() == '!';
      return expr;
    }
    if (kind == "AEXPR_IN") {
      const Json& rexpr = node["rexpr"];
      if (!rexpr.contains("List")) return Unsupported("IN with this right-hand side", location);
      auto expr = Make(ExprKind::kInList, location);
      expr->negated = op == "<>";
      expr->args.push_back(std::move(lexpr));
      for (const Json& item : rexpr["List"]["items"]) expr->args.push_back(ReadExpr(item));
      return expr;
    }
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      auto expr = Make(ExprKind::kBetween, location);
      expr->negated = kind == "AEXPR_NOT_BETWEEN";
      expr->args.push_back(std::move(lexpr));
      for (const Json& item : node["rexpr"]["List"]["items"]) expr->args.push_back(ReadExpr(item));
      return expr;
    }
    if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
      return Binary(kind == "AEXPR_DISTINCT" ? "IS DISTINCT FROM" : "IS NOT DISTINCT FROM",
                    std::move(lexpr), ReadExpr(node["rexpr"]), location);
    }
    if (kind == "AEXPR_NULLIF") {
      auto expr = Make(ExprKind::kFunctionCall, location);
      expr->name = "nullif";
      expr->args.push_back(std::move(lexpr));
      expr->args.push_back(ReadExpr(node["rexpr"]));
      return expr;
    }
    if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") return Unsupported("ANY/ALL", location);
    if (kind == "AEXPR_SIMILAR") return Unsupported("SIMILAR TO", location);
    return Unsupported("BETWEEN SYMMETRIC", location);
  }

  // Every later stage (binder, checkers, renderer) recurses over the tree, so its depth is capped
  // here, once: deeper nesting is refused with a reason instead of exhausting the stack.
  static constexpr int kMaxNesting = 200;
  struct NestingGuard {
    int& depth;
    explicit NestingGuard(int& d) : depth(++d) {}
    ~NestingGuard() { --depth; }
  };

  static std::string DeepQueries() {
    return absl::StrCat("nesting queries more than ", kMaxNesting, " levels deep");
  }

  std::unique_ptr<Expr> ReadExpr(const Json& node) {
    NestingGuard guard(nesting_);
    if (nesting_ > kMaxNesting) {
      return Unsupported(
          absl::StrCat("nesting expressions more than ", kMaxNesting, " levels deep"),
          node.is_object() && !node.empty() ? Location(node.begin().value()) : -1);
    }
    return ReadExprAtDepth(node);
  }

  std::unique_ptr<Expr> ReadExprAtDepth(const Json& node) {
    if (node.is_null() || node.empty()) return Unsupported("an empty expression", -1);
    const std::string& type = node.begin().key();
    const Json& body = node.begin().value();
    int location = Location(body);
    if (type == "ColumnRef") {
      std::vector<std::string> parts;
      bool star = false;
      for (const Json& field : body["fields"]) {
        if (field.contains("A_Star")) {
          star = true;
        } else {
          parts.push_back(StringValue(field));
        }
      }
      auto expr = Make(star ? ExprKind::kStar : ExprKind::kColumnRef, location);
      expr->name_parts = std::move(parts);
      if (!star && (expr->name_parts.empty() || expr->name_parts.size() > 2)) {
        return Unsupported("a column reference with more than two parts", location);
      }
      return expr;
    }
    if (type == "A_Const") return ReadConstant(body);
    if (type == "FuncCall") return ReadFunctionCall(body);
    if (type == "A_Expr") return ReadAExpr(body);
    if (type == "BoolExpr") {
      std::string op = body.value("boolop", "");
      const Json& args = body["args"];
      if (op == "NOT_EXPR") {
        auto expr = Make(ExprKind::kUnaryOp, location);
        expr->name = "NOT";
        expr->args.push_back(ReadExpr(args[0]));
        return expr;
      }
      std::string name = op == "AND_EXPR" ? "AND" : "OR";
      // The chain becomes a left-deep tree of that many levels, so it counts against the cap.
      if (nesting_ + static_cast<int>(args.size()) > kMaxNesting) {
        return Unsupported(
            absl::StrCat("combining more than ", kMaxNesting, " conditions with ", name), location);
      }
      std::unique_ptr<Expr> result = ReadExpr(args[0]);
      for (size_t i = 1; i < args.size(); ++i) {
        result = Binary(name, std::move(result), ReadExpr(args[i]), location);
      }
      return result;
    }
    if (type == "NullTest") {
      auto expr = Make(ExprKind::kIsNull, location);
      expr->negated = body.value("nulltesttype", "") == "IS_NOT_NULL";
      expr->args.push_back(ReadExpr(body["arg"]));
      return expr;
    }
    if (type == "TypeCast") {
      const Json& type_name = body["typeName"];
      // A typed literal (DATE '2024-01-01') is a cast without a location of its own.
      if (location < 0) location = Location(type_name);
      auto expr = Make(ExprKind::kCast, location);
      expr->args.push_back(ReadExpr(body["arg"]));
      expr->type_name = absl::AsciiStrToLower(LastName(type_name["names"]));
      if (type_name.contains("arrayBounds") || type_name.value("setof", false)) {
        return Unsupported("a cast to an array type", location);
      }
      if (auto mods = type_name.find("typmods"); mods != type_name.end()) {
        std::vector<std::string> values;
        for (const Json& mod : *mods) {
          auto constant = mod.contains("A_Const") ? ReadConstant(mod["A_Const"]) : nullptr;
          if (!constant || constant->kind != ExprKind::kConstant ||
              constant->constant.kind != ConstantKind::kInteger) {
            return Unsupported("a cast with a computed type modifier", location);
          }
          values.push_back(constant->constant.text);
        }
        expr->type_name += "(" + absl::StrJoin(values, ",") + ")";
      }
      return expr;
    }
    if (type == "CaseExpr") {
      auto expr = Make(ExprKind::kCase, location);
      if (body.contains("arg")) {
        expr->case_has_operand = true;
        expr->args.push_back(ReadExpr(body["arg"]));
      }
      for (const Json& when : body["args"]) {
        expr->args.push_back(ReadExpr(when["CaseWhen"]["expr"]));
        expr->args.push_back(ReadExpr(when["CaseWhen"]["result"]));
      }
      if (body.contains("defresult")) {
        expr->case_has_else = true;
        expr->args.push_back(ReadExpr(body["defresult"]));
      }
      return expr;
    }
    if (type == "CoalesceExpr" || type == "MinMaxExpr") {
      auto expr = Make(ExprKind::kFunctionCall, location);
      expr->name = type == "CoalesceExpr"                  ? "coalesce"
                   : body.value("op", "") == "IS_GREATEST" ? "greatest"
                                                           : "least";
      for (const Json& arg : body["args"]) expr->args.push_back(ReadExpr(arg));
      return expr;
    }
    if (type == "SubLink") {
      auto expr = Make(ExprKind::kSubquery, location);
      std::string link = body.value("subLinkType", "");
      expr->what = link == "EXISTS_SUBLINK" ? "EXISTS"
                   : link == "EXPR_SUBLINK" ? "scalar subquery"
                   : link == "ANY_SUBLINK"  ? "IN (subquery)"
                                            : "subquery";
      expr->subquery = std::make_shared<SelectStatement>();
      if (absl::Status read = ReadSelect(body["subselect"]["SelectStmt"], *expr->subquery);
          !read.ok()) {
        return Unsupported(nesting_ >= kMaxNesting ? DeepQueries() : "this subquery", location);
      }
      if (body.contains("testexpr")) expr->args.push_back(ReadExpr(body["testexpr"]));
      return expr;
    }
    if (type == "SQLValueFunction")
      return Unsupported("CURRENT_DATE/CURRENT_USER-style values", location);
    if (type == "ParamRef") {
      auto expr = Make(ExprKind::kParameter, location);
      expr->parameter_index = body.value("number", 0);
      return expr;
    }
    if (type == "A_ArrayExpr") return Unsupported("an ARRAY constructor", location);
    if (type == "A_Indirection") return Unsupported("subscripts or field selection", location);
    if (type == "CollateClause") return Unsupported("COLLATE", location);
    if (type == "RowExpr") return Unsupported("a row constructor", location);
    if (type == "BooleanTest") return Unsupported("IS TRUE/IS FALSE/IS UNKNOWN", location);
    if (type == "GroupingSet") return Unsupported("GROUPING SETS/ROLLUP/CUBE", location);
    if (type == "GroupingFunc") return Unsupported("GROUPING()", location);
    return Unsupported("this expression (" + type + ")", location);
  }

  std::string_view sql_;
  int nesting_ = 0;
};

std::string StatementKindName(const std::string& node_type) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"InsertStmt", "INSERT"},
      {"UpdateStmt", "UPDATE"},
      {"DeleteStmt", "DELETE"},
      {"MergeStmt", "MERGE"},
      {"CreateStmt", "CREATE TABLE"},
      {"CreateTableAsStmt", "CREATE TABLE AS"},
      {"ViewStmt", "CREATE VIEW"},
      {"DropStmt", "DROP"},
      {"CopyStmt", "COPY"},
      {"VariableSetStmt", "SET"},
      {"VariableShowStmt", "SHOW"},
      {"ExplainStmt", "EXPLAIN"},
      {"TransactionStmt", "a transaction statement"},
      {"AlterTableStmt", "ALTER TABLE"},
      {"TruncateStmt", "TRUNCATE"},
      {"CallStmt", "CALL"},
      {"DoStmt", "DO"},
      {"PrepareStmt", "PREPARE"},
      {"ExecuteStmt", "EXECUTE"},
      {"LoadStmt", "LOAD"},
      {"GrantStmt", "GRANT"},
  };
  for (const auto& [type, name] : kNames) {
    if (node_type == type) return name;
  }
  std::string name = node_type;
  if (name.size() > 4 && name.ends_with("Stmt")) name.resize(name.size() - 4);
  return absl::AsciiStrToUpper(name);
}

// The byte offset of the 0-based `character` of UTF-8 `text` (its size when past the end).
int ByteOffsetOfCharacter(std::string_view text, int character) {
  int seen = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++seen == character) {
      return static_cast<int>(i);
    }
  }
  return static_cast<int>(text.size());
}

}  // namespace

SourcePosition PositionOf(std::string_view text, int byte_offset) {
  SourcePosition position{1, 1};
  size_t end = std::min(static_cast<size_t>(std::max(byte_offset, 0)), text.size());
  for (size_t i = 0; i < end; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((c & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
      ++position.column;
    }
  }
  return position;
}

std::string DescribePosition(std::string_view text, int byte_offset) {
  if (byte_offset < 0) return "";
  SourcePosition position = PositionOf(text, byte_offset);
  return absl::StrCat("line ", position.line, ", column ", position.column);
}

absl::StatusOr<std::unique_ptr<SelectStatement>> ParseSelect(std::string_view sql) {
  // libpg_query reads a C string: anything after a NUL byte would be silently ignored.
  if (sql.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("the request contains a NUL byte");
  }
  std::string text(sql);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  struct Free {
    PgQueryParseResult& result;
    ~Free() { pg_query_free_parse_result(result); }
  } free_result{result};

  if (result.error != nullptr) {
    // PostgreSQL reports the error position in characters (1-based), not bytes.
    return absl::InvalidArgumentError(absl::StrCat(
        result.error->message, " (",
        DescribePosition(text, ByteOffsetOfCharacter(text, result.error->cursorpos - 1)), ")"));
  }
  Json tree = Json::parse(result.parse_tree, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return absl::InternalError("unreadable parse tree");
  const Json& statements = tree["stmts"];
  if (!statements.is_array() || statements.empty()) {
    return absl::InvalidArgumentError("the request holds no SQL statement");
  }
  if (statements.size() > 1) {
    // A statement starts right after the previous semicolon; point at its first word.
    size_t second = static_cast<size_t>(statements[1].value("stmt_location", 0));
    while (second < text.size() && std::isspace(static_cast<unsigned char>(text[second]))) {
      ++second;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "only one statement per request is allowed; found ", statements.size(),
        " (the second starts at ", DescribePosition(text, static_cast<int>(second)), ")"));
  }
  const Json& statement = statements[0]["stmt"];
  const std::string& type = statement.begin().key();
  if (type != "SelectStmt") {
    return absl::InvalidArgumentError(
        absl::StrCat("only SELECT statements can be run; this is ", StatementKindName(type)));
  }
  TreeReader reader(text);
  return reader.Select(statement["SelectStmt"]);
}

}  // namespace parley::sql
