#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: checks (and on Debian, as root, installs)
# what the build needs, then formatting, lints, every test, the verifier-only build and the
# fuzz targets' build. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

. scripts/deps.sh
zegel_deps
zegel_test_deps

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy (workspace, all targets, -D warnings)"
# `--profile test` keeps clippy's profile equal to the test build's. RocksDB is still built
# twice on a fresh clone (about 20 minutes each on 2 cores): in check mode the build script's
# own dependencies (regex, libc, ...) are host-only units without debug info, while the test
# build shares them with the target and gives them debug info. See docs/ARCHITECTURE.md.
cargo clippy --workspace --all-targets --locked --profile test -- -D warnings

say "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

say "zegel-verify builds without the server stack"
cargo build --locked --no-default-features --bin zegel-verify

if [ -f fuzz/Cargo.toml ]; then
  say "fuzz targets build (plain check; running them needs cargo-fuzz, see fuzz/README.md)"
  cargo check --locked --manifest-path fuzz/Cargo.toml --all-targets
fi

say "all checks passed"
