#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: checks (and on Debian, as root, installs)
# what the build needs, then formatting, lints, every test, the check that zegel-verify links
# no server crate, and the fuzz targets' build. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

. scripts/deps.sh
zegel_deps
zegel_test_deps

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy (workspace, all targets, -D warnings)"
# `--profile test` keeps clippy's profile equal to the test build's, and dependencies carry
# no debug info (Cargo.toml), so the RocksDB build script's dependencies are the same units in
# check mode and in the test build: RocksDB's C++ is compiled once (about 20 minutes on 2
# cores) and the test build reuses it. See docs/ARCHITECTURE.md.
cargo clippy --workspace --all-targets --locked --profile test -- -D warnings

say "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

say "zegel-verify links none of the server stack"
# The verifier courts are handed is its own package (verify/) on zegel-format alone: no
# database, async runtime or HTTP crate may enter its dependency tree. The test build above
# made its binary (verify/tests runs it); a separate build would only recompile shared
# dependencies with the verifier's own feature set.
server_crates=$(cargo tree --locked -p zegel-verify -e normal,build --prefix none \
  | grep -Ei '^(rocksdb|librocksdb-sys|tokio|axum|hyper|object_store|ureq|zegel) ' || true)
if [ -n "$server_crates" ]; then
  echo "zegel-verify depends on the server stack:" >&2
  echo "$server_crates" >&2
  exit 1
fi
verifier=${CARGO_TARGET_DIR:-target}/debug/zegel-verify
[ -x "$verifier" ] || { echo "$verifier is missing: the workspace test build should have made it" >&2; exit 1; }
if command -v nm >/dev/null 2>&1 && nm "$verifier" | grep -qiE 'rocksdb|tokio|axum'; then
  echo "$verifier links server-stack symbols (nm | grep -iE 'rocksdb|tokio|axum')" >&2
  exit 1
fi

if [ -f fuzz/Cargo.toml ]; then
  say "fuzz targets build (plain check; running them needs cargo-fuzz, see fuzz/README.md)"
  cargo check --locked --manifest-path fuzz/Cargo.toml --all-targets
fi

say "all checks passed"
