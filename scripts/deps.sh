# Sourced by scripts/test.sh and scripts/serve.sh: checks the system packages the build needs
# (a C compiler for zstd, clang/libclang for the RocksDB bindings, pkg-config) and installs
# them with apt-get when run as root on Debian; otherwise says what is missing and stops.
zegel_deps() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing ${missing[*]} (needed to build RocksDB and zstd)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "missing system packages: ${missing[*]}" >&2
      echo "install them (Debian: sudo apt-get install ${missing[*]}) and run again" >&2
      return 1
    fi
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust stable from https://rustup.rs and run again" >&2
    return 1
  fi
}

# The cold-tier tests start a real S3-compatible server: moto's, from PyPI, at a pinned
# version (it passes object_store's own conformance checks, conditional puts included).
ZEGEL_MOTO_VERSION=5.2.5
# The bundle tests validate BagIt bags with the Library of Congress `bagit` tool (PyPI) and
# take a screenshot of the HTML report with headless Chromium (Debian's package).
ZEGEL_BAGIT_VERSION=1.9.0
# The formats tests run the independent verifier (formats/independent/zegel_verify.py): it
# needs the `cryptography` package (Debian's python3-cryptography; from PyPI at this version
# when python3 is not Debian's) and the `zstd` command.
ZEGEL_CRYPTOGRAPHY_VERSION=48.0.0
zegel_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
zegel_pip() {
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
zegel_test_deps() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is missing (the S3 tests run moto's server): apt-get install python3 python3-pip" >&2
    return 1
  fi
  if ! python3 -c "import sys, importlib.metadata as m; sys.exit(m.version('moto') != '$ZEGEL_MOTO_VERSION')" 2>/dev/null \
     || ! python3 -c "import flask, werkzeug" 2>/dev/null; then
    echo "installing moto[server]==$ZEGEL_MOTO_VERSION (the S3-compatible server the cold-tier tests start)"
    zegel_pip "moto[server]==$ZEGEL_MOTO_VERSION" \
      || { echo "could not install moto[server]==$ZEGEL_MOTO_VERSION from PyPI" >&2; return 1; }
  fi
  if ! python3 -c "import sys, importlib.metadata as m; sys.exit(m.version('bagit') != '$ZEGEL_BAGIT_VERSION')" 2>/dev/null; then
    echo "installing bagit==$ZEGEL_BAGIT_VERSION (validates the BagIt bags of proof bundles)"
    zegel_pip "bagit==$ZEGEL_BAGIT_VERSION" \
      || { echo "could not install bagit==$ZEGEL_BAGIT_VERSION from PyPI" >&2; return 1; }
  fi
  if ! python3 -c "import cryptography.hazmat.primitives.asymmetric.ed25519" 2>/dev/null; then
    echo "installing cryptography (Ed25519 for the independent verifier, formats/independent)"
    zegel_apt python3-cryptography || true
    python3 -c "import cryptography.hazmat.primitives.asymmetric.ed25519" 2>/dev/null \
      || zegel_pip "cryptography==$ZEGEL_CRYPTOGRAPHY_VERSION" \
      || { echo "could not install cryptography: apt-get install python3-cryptography, or pip install cryptography==$ZEGEL_CRYPTOGRAPHY_VERSION" >&2; return 1; }
  fi
  if ! command -v zstd >/dev/null 2>&1; then
    echo "installing zstd (the independent verifier decompresses sealed packages with it)"
    zegel_apt zstd \
      || { echo "zstd is missing (the independent verifier needs it): sudo apt-get install zstd" >&2; return 1; }
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing chromium (headless screenshots of the bundle's HTML report)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || { echo "could not install chromium from Debian" >&2; return 1; }
    else
      echo "chromium is missing (the bundle report test takes a headless screenshot): sudo apt-get install chromium" >&2
      return 1
    fi
  fi
}
