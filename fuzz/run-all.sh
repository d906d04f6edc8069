#!/usr/bin/env bash
# Runs every fuzz target in turn, one libFuzzer job at a time, and keeps each log.
#
#   fuzz/run-all.sh [seconds per target] [target...]
#
# Extra cargo-fuzz options (e.g. --sanitizer none) go in CARGO_FUZZ_FLAGS. The stable
# toolchain needs RUSTC_BOOTSTRAP=1 for the -Z flags cargo-fuzz passes to rustc.
set -u
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(cbor header sealed proof receipt note verify segment disposition bundle)
fi
mkdir -p fuzz/logs
export RUSTC_BOOTSTRAP=1
# shellcheck disable=SC2086
cargo fuzz build ${CARGO_FUZZ_FLAGS:-} || exit 1
status=0
for t in "${targets[@]}"; do
    log="fuzz/logs/$t${LOG_SUFFIX:-}.log"
    echo "== $t ($secs s) -> $log"
    # shellcheck disable=SC2086
    cargo fuzz run ${CARGO_FUZZ_FLAGS:-} "$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1
    rc=$?
    grep -aE '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs' "$log" | tail -2
    if [ $rc -ne 0 ]; then
        echo "!! $t exited $rc: see $log and fuzz/artifacts/$t/"
        status=1
    fi
done
exit $status
