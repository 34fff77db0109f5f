#include "render/duckdb/duckdb_dialect.h"

#include "absl/strings/str_cat.h"
#include "render/sql_writer.h"

namespace parley::render {
namespace {

class DuckDbWriter : public SqlWriter {
 public:
  DuckDbWriter() : SqlWriter("duckdb") {}

 protected:
  // PostgreSQL names that DuckDB spells differently.
  std::string FunctionName(const std::string& name) override {
    if (name == "extract") return "date_part";
    if (name == "ceiling") return "ceil";
    return name;
  }

  std::string Cast(const std::string& operand, const sql::Type& type,
                   bool null_on_failure) override {
    return absl::StrCat(null_on_failure ? "TRY_CAST(" : "CAST(", operand, " AS ", TypeName(type),
                        ")");
  }
};

}  // namespace

const Capabilities& DuckDbDialect::capabilities() const {
  static constexpr Capabilities kDuckDb{.widest_integer_bits = 128,
                                        .decimal_narrow_width = 18,
                                        .decimal_max_width = 38,
                                        .null_on_failed_conversion = true};
  return kDuckDb;
}

absl::StatusOr<std::string> DuckDbDialect::Render(const sql::BoundQuery& query) const {
  return DuckDbWriter().Write(query);
}

std::string RenderDuckDb(const sql::BoundQuery& query) {
  absl::StatusOr<std::string> sql = DuckDbDialect().Render(query);
  return sql.ok() ? *sql : std::string();
}

}  // namespace parley::render
