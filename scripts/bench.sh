#!/usr/bin/env bash
# Benchmarks with the shared rows (../shared/bench/gen_rows.py), figures into docs/BENCHMARKS.md,
# run by `zegel-bench` (the bench/ package; `zegel-bench --help`).
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
case "$what" in
  formats|server|tier|audit) ;;
  *) echo "unknown benchmark $what (known: formats, server, tier, audit)" >&2; exit 1 ;;
esac
# zegel-bench (bench/) runs `zegel serve` and `zegel-verify` from its own directory: all three
# are built into the same target directory.
target=${CARGO_TARGET_DIR:-target}
if [ "${ZEGEL_PROFILE:-release}" = dev ]; then
  # The test build's own binaries: same features as scripts/test.sh, so RocksDB is not rebuilt.
  cargo test --workspace --locked --no-run >/dev/null; bench=$target/debug/zegel-bench
else
  cargo build --release --locked -p zegel -p zegel-verify -p zegel-bench; bench=$target/release/zegel-bench
fi
ZEGEL_BENCH_COMMAND="scripts/bench.sh $what $rows" "$bench" "$what" --rows "$scratch/rows.ndjson" --write docs/BENCHMARKS.md
