#!/usr/bin/env bash
# Idempotent set-up for a fresh clone on a fresh machine: the Rust wasm32
# toolchain (rustup's target, else Debian's packages), npm packages, the build.
# Usage: scripts/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=${1:-}
say() { [ "$quiet" = --quiet ] || echo "setup: $*" >&2; }

. scripts/wasm-toolchain.sh
find_wasm_toolchain --install
say "Rust for wasm32: $WASM_TOOLCHAIN"

# Chromium for the browser tests: Debian's package (never a browser download).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium for the browser tests…"
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  else
    echo "setup: warning: no /usr/bin/chromium and no apt-get; the browser tests will fail" >&2
  fi
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "building…"
bash scripts/build.sh >&2
say "ready."
