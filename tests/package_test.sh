#!/bin/bash
# `make package` (issue 9): builds the Debian package from a build tree with CPack, checks the
# runtime dependencies it declares, unpacks it into a clean directory root (dpkg-deb -x: no
# installation on this machine) and runs `parley --version` and a real command from there, with
# an environment that knows nothing of the build tree.
# Usage: tests/package_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$build" && cpack -G DEB -B "$work/pkg" > "$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/pkg/parley_*.deb)

depends=$(dpkg-deb -f "$deb" Depends)
for needed in libsqlite3-0 libssl3 libabsl20220623 libpg-query libstdc++6; do
  case "$depends" in
    *"$needed"*) ;;
    *) echo "FAIL: Depends lacks $needed: $depends"; exit 1 ;;
  esac
done
[ "$(dpkg-deb -f "$deb" Package)" = parley ] || { echo "FAIL: package name"; exit 1; }

root="$work/root"
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin/parley"
[ -x "$bin" ] || { echo "FAIL: no usr/bin/parley in the package"; exit 1; }
[ -f "$root/usr/share/doc/parley/LICENSE" ] || { echo "FAIL: no LICENSE"; exit 1; }

# DuckDB comes from the package itself, not from the build tree.
duckdb=$(realpath "$(env -i PATH=/usr/bin:/bin ldd "$bin" | awk '/libduckdb/ {print $3}')")
case "$duckdb" in
  "$root"/usr/lib/parley/libduckdb.so) ;;
  *) echo "FAIL: libduckdb resolved to '$duckdb'"; exit 1 ;;
esac

version=$(env -i PATH=/usr/bin:/bin "$bin" --version)
[ "$version" = "parley 0.1.0" ] || { echo "FAIL: --version said '$version'"; exit 1; }

# A real command, with the engine: a room, a table and a query.
printf 'k,v\n1,a\n2,b\n' > "$work/t.csv"
p() { env -i PATH=/usr/bin:/bin "$bin" --home "$work/home" --as owner "$@"; }
p collaboration create room > /dev/null
p table add -c room t --source "$work/t.csv" > /dev/null
p rule set -c room t --json '{"kind": "custom", "any_query": true, "allowed_analysis_providers": ["owner"]}' > /dev/null
out=$(p query run -c room --sql "SELECT v FROM t ORDER BY v" --output - 2> /dev/null)
[ "$out" = $'v\na\nb' ] || { echo "FAIL: the query from the package said '$out'"; exit 1; }
echo "package ok: $(basename "$deb"), Depends: $depends"
