// The neighbouring-dataset oracle (issue 6): a query that the rules accept must show its runner
// the same outcome — rows, success or failure, error message — on two datasets that differ only
// in one row the thresholds suppress. Any difference is a side channel: it tells the runner that
// a row it may not see exists, or something about its values.
//
// The fixture is one catalog whose tables are materialised twice, as Parquet files written once
// into `directory`: D, and D' = D plus one row of the retailer's table. That row has hostile
// values (the largest BIGINT, INTEGER and HUGEINT, the widest DECIMALs, a date in year 5881580,
// text that does not convert to a number, NULLs) and a value of its own in every dimension, so
// that in any query grouped by plain columns it forms a group of one, below every threshold. The
// runner's own tables hold a crafted row with hostile values too (the same in D and D'); under
// the aggregation rules it joins the hostile row, under the list rules nothing joins it, so the
// hostile row is never in the overlap a list query returns.
//
//   aggregation: retail (retailer), loyalty and probe (supplier, the runner)
//   list:        audience (retailer, the same file as retail), customers (supplier)
//
// Each query goes through the functions the service uses — parse, bind, check (as `supplier`),
// rewrite, render — and, if accepted, runs on both datasets in locked-down sessions opened once.
// Shared by the libFuzzer harness (neighbour_oracle_fuzzer.cc) and the replay test
// (tests/neighbour_oracle_replay_test.cc).
//
//   PARLEY_ASSIGN_OR_RETURN(auto oracle, fuzz::NeighbourOracle::Create("/tmp/oracle"));
//   fuzz::OracleResult result = oracle->Compare("SELECT region, COUNT(*) FROM retail GROUP BY 1");
//   if (result.kind == fuzz::OracleResult::kDiffers) ... result.Describe() ...
//
// Thread safety: one thread at a time (the sessions are not shared).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/duckdb/session.h"

namespace parley::fuzz {

// What the runner sees of one run: the error the service would return to it (today the engine's
// message, which the service passes through unchanged), or the result's columns and rows.
struct RunnerView {
  absl::Status status;
  std::vector<engine::ResultColumn> columns;
  std::vector<std::string> rows;  // each row's cells joined with '|', NULL as "NULL"

  std::string Describe() const;
};

struct OracleResult {
  enum Kind {
    kNotAccepted,   // did not parse, bind or pass the check: nothing ran
    kSame,          // accepted, and both datasets showed the runner the same outcome
    kDiffers,       // accepted, and the outcomes differ: a finding
    kInconclusive,  // a run hit the time limit: the comparison says nothing
  };
  Kind kind = kNotAccepted;
  std::string rule_kind;     // "aggregation" or "list" when accepted
  std::string rendered_sql;  // the SQL the engine ran
  // Whether rows were compared. Rows legitimately differ when the hostile row lands in a group
  // that passes the thresholds; that is excluded only when every GROUP BY key of an aggregation
  // query is a plain column (the hostile row then forms a group of one). List queries never
  // return the hostile row, so their rows are always compared. Errors and messages always are.
  bool rows_compared = false;
  RunnerView on_d;
  RunnerView on_d_prime;

  std::string Describe() const;
};

class NeighbourOracle {
 public:
  // Writes the datasets under `directory` (which must exist), opens one locked session per
  // dataset and reads the tables' schemas back from them, as registration pins them.
  static absl::StatusOr<std::unique_ptr<NeighbourOracle>> Create(const std::string& directory);
  ~NeighbourOracle();

  // Runs `sql` on both datasets in the current sessions (reused across calls, like the
  // service's, and replaced after a failure).
  OracleResult Compare(const std::string& sql);

  // The next Compare starts from fresh sessions. Needed to replay a finding: DuckDB's TRY
  // fallback does not misbehave the same way in a session that has run other queries before, so
  // a finding is reproducible only together with the queries that preceded it in its sessions.
  void ResetSessions();

 private:
  struct Impl;
  explicit NeighbourOracle(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::fuzz
