#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan, UBSan). Crashes land in build/fuzz/.
#   tests/fuzz/run.sh [SECONDS]            the SQL front end, seeded with every corpus query
#   tests/fuzz/run.sh documents [SECONDS]  rule documents and the template scanner
#   tests/fuzz/run.sh oracle [SECONDS]     the neighbouring-dataset oracle: accepted queries run on
#                                          two datasets differing in one suppressed row must show
#                                          the runner the same outcome (neighbour_oracle.h).
#                                          PARLEY_ORACLE_LOG=<file> logs differences instead of
#                                          stopping; add -fork=1 -ignore_crashes=1 after SECONDS
#                                          to go on after engine crashes (tests/fuzz/oracle_crashes)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=sql_front_end
case "${1:-}" in
  documents) target=documents; shift ;;
  oracle) target=neighbour_oracle; shift ;;
esac
seconds=${1:-300}
out=build/fuzz
mkdir -p "$out/seeds"
python3 - "$out/seeds" <<'PY'
import glob, hashlib, sys
for path in glob.glob('tests/policy_corpus/*.test'):
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        if lines[i] == 'sql':
            j = i + 1
            while j < len(lines) and lines[j] != '----':
                j += 1
            sql = '\n'.join(lines[i + 1:j])
            open(f"{sys.argv[1]}/{hashlib.sha1(sql.encode()).hexdigest()}", 'w').write(sql)
            i = j
        i += 1
PY
if [ "$target" = documents ]; then
  # Seeds: every rule document of the corpus.
  grep -h -A1 '^rule ' tests/policy_corpus/*.test | grep '^{' | while read -r doc; do
    printf '%s' "$doc" > "$out/seeds/rule-$(printf '%s' "$doc" | sha1sum | cut -c1-16)"
  done
  sources="src/policy/rule.cc src/service/analysis_template.cc src/crypto/sha256.cc"
  libraries="-lcrypto"
elif [ "$target" = neighbour_oracle ]; then
  # Seeds: hand-written ones (conversions, CASE/COALESCE, OR, overflow, HAVING/ORDER BY, lists) and
  # the regressions; with the corpus queries above. DuckDB is the project's shared library.
  cp tests/fuzz/oracle_seeds/*.sql tests/fuzz/oracle_regressions/*.sql "$out/seeds/" 2>/dev/null || true
  duckdb_dir=${PARLEY_DUCKDB_DIR:-$(sed -n 's/^PARLEY_DUCKDB_DIR:PATH=//p' build/debug/CMakeCache.txt 2>/dev/null)}
  duckdb_dir=${duckdb_dir:-third_party/duckdb}
  # Everything query::Compile reaches, and the engine, found by folder.
  sources="$(ls src/sql/*.cc src/policy/*.cc src/rewrite/*.cc src/render/*.cc src/render/duckdb/*.cc src/query/*.cc src/engine/*.cc src/engine/duckdb/*.cc | grep -v '_test\.cc$')
    tests/fuzz/neighbour_oracle.cc tests/fuzz/oracle_query_generator.cc
    -I$duckdb_dir/include -Itests"
  libraries="-lpg_query -L$duckdb_dir/lib -lduckdb -Wl,-rpath,$(cd "$duckdb_dir/lib" && pwd) -lpthread -lcrypto"
  extra_flags="-dict=tests/fuzz/neighbour_oracle.dict -timeout=60"
  # DuckDB's own allocations are not instrumented; what it keeps until exit is not a finding.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
else
  # Everything query::Compile reaches (parse, bind, check, rewrite, render), found by folder so
  # the list cannot fall behind the code.
  sources=$(ls src/sql/*.cc src/policy/*.cc src/rewrite/*.cc src/render/*.cc src/render/duckdb/*.cc src/query/*.cc | grep -v '_test\.cc$')
  libraries="-lpg_query"
fi
absl=$(ls /usr/lib/*/libabsl_*.so | sed 's|.*/lib\(absl_[a-z0-9_]*\)\.so|-l\1|' | tr '\n' ' ')
binary="$out/${target}_fuzzer"
if [ ! -x "$binary" ] || [ -n "$(find src tests/fuzz \( -name '*.cc' -o -name '*.h' \) -newer "$binary" | head -1)" ]; then
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc "tests/fuzz/${target}_fuzzer.cc" $sources $libraries $absl -o "$binary"
fi
mkdir -p "$out/corpus-$target"
# Extra libFuzzer flags may follow the seconds (e.g. -fork=1 -ignore_crashes=1).
shift || true
"$binary" -max_total_time="$seconds" -max_len=2048 -timeout=10 ${extra_flags:-} "$@" \
  -artifact_prefix="$out/" "$out/corpus-$target" "$out/seeds"
