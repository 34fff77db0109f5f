#!/usr/bin/env bash
# Installs what Parley needs to build and test on Debian 12, fetches DuckDB 1.4.4 and builds the
# web console (web/: `npm ci` from its lock file, then the esbuild bundle in web/dist that
# `parley serve` serves). Idempotent: installs only missing packages, downloads DuckDB only when
# it is absent or does not match the pinned integrity hash, runs `npm ci` only when
# web/package-lock.json changed and rebuilds the bundle only when a source is newer. Uses sudo
# when not run as root.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
third_party="$here/third_party"

packages=(
  build-essential cmake ninja-build pkg-config
  libpg-query-dev libsqlite3-dev libssl-dev openssl libsodium-dev libicu-dev
  nlohmann-json3-dev libcli11-dev libabsl-dev libcpp-httplib-dev zlib1g-dev libpq-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql
  clickhouse-server clickhouse-client
  nodejs npm
  python3-pandas python3-numpy python3-sklearn python3-matplotlib python3-seaborn python3-nbclient python3-nbconvert python3-ipykernel r-base-core r-cran-ggplot2 bubblewrap
  chromium
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node and npm fetch DuckDB and build the console; a machine that has them from elsewhere is fine.
if command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# DuckDB 1.4.4: the official shared library from the npm registry, the C API header from the
# duckdb source package. Both are checked against pinned sha512 integrity hashes.
case "$(uname -m)" in
  x86_64) lib_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.4" ;;
  aarch64|arm64) lib_pkg="@duckdb/node-bindings-linux-arm64@1.4.4-r.3" ;;
  *) echo "bootstrap: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
header_pkg="duckdb@1.4.4"
duckdb_dir="$third_party/duckdb"
stamp="$duckdb_dir/.fetched-$(echo "$lib_pkg $header_pkg" | tr '/@ ' '___')"
fetch_duckdb() {

declare -A integrity=(
  ["@duckdb/node-bindings-linux-x64@1.4.4-r.4"]="sha512-jBTL/WvfwxLToFa/pVHfT6elMtltJGnc3wSuxZD9OfMltit9YUdVFS37vBFQzXMT1Z8OWjtSjMh+zPKxOwHLHA=="
  ["@duckdb/node-bindings-linux-arm64@1.4.4-r.3"]="sha512-qF2/WhB+i+8is60RrpTY/5ZnywIUayuBiVXSuQ4rrRn1m1gvfKqPvjySbiDjYgQo/6OXu/fax0KC1gXnNWoLEA=="
  ["duckdb@1.4.4"]="sha512-hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog=="
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() {  # fetch PKG: npm pack into $work, verify the pinned integrity, print the tarball path
  local pkg=$1 json got want
  json=$(cd "$work" && npm pack --json --silent "$pkg")
  got=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')
  want=${integrity[$pkg]}
  if [ "$got" != "$want" ]; then
    echo "bootstrap: integrity mismatch for $pkg (got $got)" >&2
    exit 1
  fi
  printf '%s/%s\n' "$work" "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["filename"])')"
}
echo "bootstrap: fetching DuckDB ($lib_pkg, $header_pkg)"
lib_tgz=$(fetch "$lib_pkg")
header_tgz=$(fetch "$header_pkg")
rm -rf "$duckdb_dir.tmp" && mkdir -p "$duckdb_dir.tmp/lib" "$duckdb_dir.tmp/include"
tar -xzf "$lib_tgz" -C "$work" package/libduckdb.so
mv "$work/package/libduckdb.so" "$duckdb_dir.tmp/lib/"
tar -xzf "$header_tgz" -C "$work" package/src/duckdb/src/include/duckdb.h
mv "$work/package/src/duckdb/src/include/duckdb.h" "$duckdb_dir.tmp/include/"
touch "$duckdb_dir.tmp/$(basename "$stamp")"
rm -rf "$duckdb_dir" && mkdir -p "$third_party" && mv "$duckdb_dir.tmp" "$duckdb_dir"
echo "bootstrap: DuckDB ready in $duckdb_dir"
}
if ! { [ -f "$stamp" ] && [ -f "$duckdb_dir/lib/libduckdb.so" ] && [ -f "$duckdb_dir/include/duckdb.h" ]; }; then
  fetch_duckdb
fi

# The web console: its npm packages exactly as web/package-lock.json pins them (integrity
# hashes checked by npm ci), then the bundle (web/build.mjs skips it when web/dist is newer than
# every source). Nothing is fetched at run time: `parley serve` serves web/dist.
web="$here/web"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "bootstrap: installing the console's npm packages (npm ci)"
  (cd "$web" && npm ci --no-audit --no-fund)
fi
(cd "$web" && node build.mjs --if-stale)
