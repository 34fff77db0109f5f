#!/usr/bin/env bash
# make bench: the campaign benchmark at 1M and 10M rows per side and the fixed-cost benchmark
# (data generated once into bench/data, git-ignored).
# Usage: bench/run.sh BUILD_DIR [extra campaign_bench flags]
set -euo pipefail
build=${1:-build/release}
shift || true
cd "$(dirname "$0")/.."
"$build/bench/campaign_bench" --rows 1000000 --rows 10000000 --runs 5 --data bench/data "$@"
# The fixed cost per query in one long-lived process: 200 small queries over 10k-row tables
# through the service, against the same SQL on one reused DuckDB connection.
"$build/bench/fixed_cost_bench" --queries 200 --rows 10000 --data bench/data/fixed
# `parley serve` over loopback: 50 concurrent clients for 10 s, metadata requests and small
# queries 4:1; throughput and p50/p99 per kind (issue 8).
"$build/bench/server_bench" 50 10
# The same mix as an open loop: 400 requests/s on a fixed schedule, latency from when each was due.
"$build/bench/server_bench" 50 10 128 5 400
# The PostgreSQL connector (issue 10): rows/s through the connector against raw COPY read by
# libpq, on a throw-away server loaded with 10M rows.
"$build/bench/postgres_bench" --rows 10000000 --runs 3
# Private set intersection (issue 11): a 1M x 1M session in one process against the bound of its
# group operations (hash-to-group + 2 scalar multiplications per item) measured in the same run.
"$build/bench/psi_bench" --items 1000000
# The campaign query on a 2-shard and a 1-node ClickHouse 18.16 cluster against DuckDB (issue 15):
# 10M rows per side, answers compared, time split into shards, shipping and merge.
"$build/bench/clickhouse_bench" --rows 10000000 --runs 3 --data bench/data/clickhouse
# The web console (issue 13): first paint of a collaboration with 1,000 tables and 10,000 audit
# entries, in Debian's Chromium against `parley serve` on loopback (needs web/ built).
node bench/console/console_bench.mjs --parley "$build/src/cli/parley" --populate "$build/bench/console_populate" \
  --tables 1000 --audit 10000 --runs 5
# Client-side column encryption (issue 11): values per second per core against the raw HMAC /
# AES-GCM, and `parley encrypt` on a 1M-row CSV.
"$build/bench/crypto_bench" --values 1000000 --rounds 5 --file-rows 1000000 --data bench/data/crypto
