// The ClickHouse dialect: the SQL that engine/clickhouse runs on a ClickHouse 18.16 cluster, from
// the same checked and rewritten IR as every dialect. ClickHouse differs from DuckDB in structure,
// and several of its differences answer silently wrong rather than fail, so this dialect
// restructures the statement and refuses what it cannot express exactly:
//
// - Names: every table is qualified with the engine's database; a SELECT's left table is the
//   Distributed table itself, unaliased (18.16 cannot alias it), its columns named bare; every
//   other table occurrence is a subquery whose columns get statement-unique names
//   ("__parley_t<id>_<column>", derived tables' outputs "__parley_t<id>_<n>"). No alias of the
//   generated SQL can equal a column name, since ClickHouse substitutes aliases everywhere in a
//   SELECT; the user's output names are given only by an outer wrapper.
// - Joins: one JOIN per SELECT (a join's left side that is itself a join becomes a subquery),
//   ALL INNER or ALL LEFT strictness, by USING: 18.16's ON returns wrong values of the right key,
//   so the right side carries a copy of its key under the left key's name. Only conjunctions of
//   column equalities of one type are accepted; RIGHT and FULL joins are refused (USING merges
//   the keys). A join whose left table is Distributed runs on the shards: the right side is the
//   shard-local table when both are joined on their sharding keys (co-located), otherwise a
//   GLOBAL JOIN ships it to every shard — a plain JOIN there would join each shard with part of
//   the right side and undercount. IN (subquery) in a SELECT that runs on the shards is GLOBAL IN,
//   for the same reason.
// - Aggregates: COUNT(DISTINCT) is uniqExact (exact); SUM, AVG, MIN and MAX read their argument
//   as Nullable, so an empty group gives NULL as in SQL (ClickHouse gives 0 and nan); integer sums
//   add in Decimal(38, 0), which fails on overflow where Int64 would wrap; FILTER is the -If
//   combinator. The once-per-group weighting (rewrite/once_per_group.h) needs row_number(), which
//   18.16 lacks: its flag is rendered as the tuple of the window's partition, and the masked
//   aggregate as the aggregate over the group's distinct (partition, value) pairs — the same rows.
// - Conversions: only those that give exactly DuckDB's value; guarded conversions (TRY_CAST) of
//   text are refused, because 18.16's *OrNull functions wrap out-of-range numbers and turn invalid
//   dates into other dates or zero dates instead of NULL; integer narrowing is range-checked.
// - Windows: the differential-privacy plan's row_number() windows (rewrite/differential_privacy.h)
//   are written in stages — the block's other values first, then per window the rows gathered per
//   partition into an arraySort-ed array and numbered by ARRAY JOIN with arrayEnumerate — at the
//   initiator, after every shard's rows arrived, so a privacy unit split over shards is ranked as
//   one (the .cc has the shape). coalesce(sum(x), 0) is a sum of ifNull(x, 0). The once-per-group
//   weighting needs the table's stored row identity (ClickHouseTable::row_id), else is refused.
// - Table CTEs are inlined as subqueries (the IR is deterministic, so each copy gives the same
//   rows); the user's window functions, EXISTS, correlated subqueries, INTERSECT/EXCEPT and
//   functions without an exact counterpart are refused with Refusal naming the engine and the
//   position.
//
//   render::ClickHouseDialect dialect(layout);
//   PARLEY_ASSIGN_OR_RETURN(std::string sql, dialect.Render(rewritten));
//
// Thread safety: immutable; Render may be called from several threads at once.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "render/dialect.h"
#include "sql/ir.h"

namespace parley::render {

// Where a catalog table lives on the cluster.
struct ClickHouseTable {
  std::string distributed;   // the Distributed table queries read
  std::string local;         // its shard-local table (empty: never joined locally)
  std::string sharding_key;  // the column its rows are sharded by (empty: unknown)
  // Whether its rows carry Parley's hidden row identity (kRowIdColumn, base/row_identity.h), as
  // a column of the table. 18.16 has no other way to tell two equal rows apart within a scan, so
  // without it the once-per-group weighting of a sum over a join (which counts each row of the
  // table once per group) is refused.
  bool row_id = false;
};

struct ClickHouseLayout {
  std::string database;
  std::map<std::string, ClickHouseTable> tables;  // by catalog table name, lower case
};

class ClickHouseDialect : public Dialect {
 public:
  explicit ClickHouseDialect(ClickHouseLayout layout) : layout_(std::move(layout)) {}
  std::string_view name() const override { return "clickhouse"; }
  // 64-bit integers at most (18.16 has no Int128, and Decimal(38, 0) in GROUP BY keys crashes it,
  // so the error guard widens to DOUBLE instead); decimals up to 38 digits; guarded conversions
  // exist (the dialect refuses those it cannot make exact).
  const Capabilities& capabilities() const override;
  absl::StatusOr<std::string> Render(const sql::BoundQuery& query) const override;

 private:
  ClickHouseLayout layout_;
};

}  // namespace parley::render
