#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan, UBSan). Crashes land in build/fuzz/.
#   tests/fuzz/run.sh [SECONDS]            the SQL front end, seeded with every corpus query
#   tests/fuzz/run.sh documents [SECONDS]  rule documents and the template scanner
set -euo pipefail
cd "$(dirname "$0")/../.."
target=sql_front_end
if [ "${1:-}" = documents ]; then target=documents; shift; fi
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
"$binary" -max_total_time="$seconds" -max_len=2048 -timeout=10 \
  -artifact_prefix="$out/" "$out/corpus-$target" "$out/seeds"
