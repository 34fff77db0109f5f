// The standard shape of a rendered statement, for dialects to build on: WITH, set operations,
// SELECT blocks with FROM/JOIN trees, expressions. Identifiers are always quoted; tables get
// positional aliases ("t<render_id>", unique in the statement); CTEs are named "c<id>"; string
// constants are re-quoted; output columns are named explicitly with PostgreSQL's naming.
//
// Each step is a virtual hook, so a dialect overrides a spelling (a function's name, a cast that
// yields NULL on failure) or refuses a construct (Refuse) without copying the rest. A writer is
// used for one statement: Write returns the first refusal, if any.
//
// Thread safety: one writer per call of Write (it keeps the stack of enclosing blocks).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sql/ir.h"
#include "sql/type.h"

namespace parley::render {

class SqlWriter {
 public:
  explicit SqlWriter(std::string_view dialect) : dialect_(dialect) {}
  virtual ~SqlWriter() = default;

  // The statement, or the first refusal a hook recorded.
  absl::StatusOr<std::string> Write(const sql::BoundQuery& query);

 protected:
  virtual std::string Query(const sql::BoundQuery& query);
  virtual std::string Block(const sql::BoundQuery& query);
  virtual std::string From(const sql::BoundFrom& from);
  virtual std::string Expr(const sql::BoundExpr& expr);
  // The engine's name for a function PostgreSQL names `name`.
  virtual std::string FunctionName(const std::string& name);
  // A conversion; `null_on_failure` for the guard's conversions that yield NULL instead of
  // failing (sql::BoundExpr kCast named "try_cast").
  virtual std::string Cast(const std::string& operand, const sql::Type& type, bool null_on_failure);
  // The engine's name for a type.
  virtual std::string TypeName(const sql::Type& type);

  // Records that the dialect cannot express `construct` at `location`; Write then fails with
  // render::Refusal. Returns a placeholder to keep writing (the text is discarded).
  std::string Refuse(std::string_view construct, int location);

  std::string OrderList(const std::vector<sql::BoundOrderItem>& items);
  std::string OrderAndLimits(const sql::BoundQuery& query);
  std::string Constant(const sql::Constant& constant);
  std::string TypedConstant(const sql::BoundExpr& expr);
  std::string Args(const sql::BoundExpr& expr, size_t from = 0);
  static std::string Identifier(std::string_view name);
  static std::string Quote(std::string_view text, char quote);
  static std::string TableAlias(int index);

  // The enclosing SELECT blocks, innermost last: a column reference `outer_depth` levels out
  // finds its table's alias here.
  std::vector<const sql::BoundQuery*> stack_;

 private:
  std::string dialect_;
  absl::Status refusal_;
};

}  // namespace parley::render
