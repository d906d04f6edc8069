#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: checks (and on Debian, as root, installs)
# what the build needs, then formatting, lints, every test, the verifier-only build and the
# fuzz targets' build. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# System packages: a C compiler for zstd's bundled C sources, clang/libclang for the RocksDB
# bindings of the server build, pkg-config for -sys crates.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v clang >/dev/null 2>&1 || missing+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them (Debian: sudo apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust stable from https://rustup.rs and run again" >&2
  exit 1
fi

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

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
