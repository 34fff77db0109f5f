// Random queries over the oracle's fixture (neighbour_oracle.h) that the rules are likely to
// accept: aggregation queries over retail, loyalty and probe, list queries over audience and
// customers, with nested CASE/COALESCE/NULLIF, AND/OR/NOT, casts, arithmetic and the literals at
// the edges of each type in WHERE, HAVING, SELECT and ORDER BY. Byte-level mutation of SQL text
// rarely produces a query that parses, binds and passes the check; the fuzzer's custom mutator
// mixes these in (neighbour_oracle_fuzzer.cc).
//
//   std::string sql = fuzz::GenerateOracleQuery(seed);
//
// Deterministic: the same seed gives the same text.
#pragma once

#include <cstdint>
#include <string>

namespace parley::fuzz {

std::string GenerateOracleQuery(uint32_t seed);

}  // namespace parley::fuzz
