#!/usr/bin/env bash
# Benchmarks with the shared rows (../shared/bench/gen_rows.py), figures into docs/BENCHMARKS.md.
# Usage: scripts/bench.sh formats|server|tier|audit [ROWS]   (default 100000 rows, seed 7)
# ZEGEL_PROFILE=dev uses the debug build (dependencies optimised) instead of --release.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-formats}
rows=${2:-100000}
gen=../shared/bench/gen_rows.py
[ -f "$gen" ] || { echo "need $gen (the shared benchmark row generator)" >&2; exit 1; }
for tool in sha256sum zstd; do
  command -v "$tool" >/dev/null 2>&1 || { echo "baseline tool $tool missing: apt-get install ${tool/sha256sum/coreutils}" >&2; exit 1; }
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 "$gen" "$rows" 7 > "$scratch/rows.ndjson"
if [ "${ZEGEL_PROFILE:-release}" = dev ]; then
  # The test build's own binary: same features as scripts/test.sh, so RocksDB is not rebuilt.
  cargo test --workspace --locked --no-run >/dev/null; zegel=./target/debug/zegel
else
  cargo build --release --locked --bin zegel --bin zegel-verify; zegel=./target/release/zegel
fi
case "$what" in
  formats) ZEGEL_BENCH_COMMAND="scripts/bench.sh formats $rows" $zegel bench formats --rows "$scratch/rows.ndjson" --write docs/BENCHMARKS.md ;;
  server) ZEGEL_BENCH_COMMAND="scripts/bench.sh server $rows" $zegel bench server --rows "$scratch/rows.ndjson" --write docs/BENCHMARKS.md ;;
  tier) ZEGEL_BENCH_COMMAND="scripts/bench.sh tier $rows" $zegel bench tier --rows "$scratch/rows.ndjson" --write docs/BENCHMARKS.md ;;
  audit) ZEGEL_BENCH_COMMAND="scripts/bench.sh audit $rows" $zegel bench audit --rows "$scratch/rows.ndjson" --write docs/BENCHMARKS.md ;;
  *) echo "unknown benchmark $what (known: formats, server, tier, audit)" >&2; exit 1 ;;
esac
