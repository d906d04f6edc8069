#!/usr/bin/env bash
# Runs the archive server with embedded defaults: data in ./zegel-data (RocksDB, a signing key
# generated on first start, the bootstrap admin token in zegel-data/admin.token), listening on
# 127.0.0.1:8080. Extra arguments go to `zegel serve` (see `zegel serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
zegel_deps
cargo build --release --locked -p zegel -p zegel-verify
exec "${CARGO_TARGET_DIR:-target}/release/zegel" serve "$@"
