#!/usr/bin/env bash
# make bench: the campaign benchmark at 1M and 10M rows per side (data generated once into
# bench/data, git-ignored). Usage: bench/run.sh BUILD_DIR [extra campaign_bench flags]
set -euo pipefail
build=${1:-build/release}
shift || true
cd "$(dirname "$0")/.."
"$build/bench/campaign_bench" --rows 1000000 --rows 10000000 --runs 5 --data bench/data "$@"
