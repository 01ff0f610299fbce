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

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

say "building…"
bash scripts/build.sh >&2
say "ready."
