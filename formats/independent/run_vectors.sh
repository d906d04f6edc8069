#!/bin/sh
# Run every conformance vector of check "bundle" or "certificate" (formats/vectors/README.md
# §3.6, §3.7) through the independent verifier, in one call. With --with-package, the
# vectors of every other check (§3.1-§3.5) too.
# Exit 0 when every vector gives its expected outcome and first failed check, 1 otherwise,
# 2 on usage error. Prints one block per vector and a summary line.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
vectors="$here/../vectors"
pattern='"check": "(bundle|certificate)"'
case "${1:-}" in
  --with-package) pattern='"check": "[a-z]+"' ;;
  "") ;;
  *) echo "usage: $0 [--with-package]" >&2; exit 2 ;;
esac
files=$(grep -lE "$pattern" "$vectors"/*.json)
[ -n "$files" ] || { echo "no vectors found in $vectors" >&2; exit 2; }
# shellcheck disable=SC2086
exec python3 "$here/zegel_verify.py" vector $files
