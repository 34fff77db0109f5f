#!/usr/bin/env bash
# Fuzzes the SQL front end with libFuzzer (clang, ASan, UBSan), seeded with every query of the
# policy corpus. Usage: tests/fuzz/run.sh [SECONDS]   (default 300). Crashes land in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
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
sources="src/sql/parser.cc src/sql/binder.cc src/sql/ir.cc src/policy/rule.cc src/policy/checker.cc
  src/policy/aggregation_check.cc src/policy/list_check.cc src/policy/custom_check.cc
  src/policy/join_graph.cc src/policy/operators.cc src/policy/violation_builder.cc
  src/rewrite/threshold.cc src/rewrite/render.cc src/rewrite/error_guard.cc src/rewrite/rewrite.cc"
absl=$(ls /usr/lib/*/libabsl_*.so | sed 's|.*/lib\(absl_[a-z0-9_]*\)\.so|-l\1|' | tr '\n' ' ')
if [ ! -x "$out/sql_front_end_fuzzer" ] || [ -n "$(find src tests/fuzz -newer "$out/sql_front_end_fuzzer" -name '*.cc' -o -newer "$out/sql_front_end_fuzzer" -name '*.h' | head -1)" ]; then
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Isrc tests/fuzz/sql_front_end_fuzzer.cc $sources -lpg_query $absl -o "$out/sql_front_end_fuzzer"
fi
mkdir -p "$out/corpus"
"$out/sql_front_end_fuzzer" -max_total_time="$seconds" -max_len=2048 -timeout=10 \
  -artifact_prefix="$out/" "$out/corpus" "$out/seeds"
