#!/usr/bin/env bash
# The whole test suite from a fresh clone: set-up (toolchain, packages,
# build), the kernels' native Rust tests, then vitest against the built .wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/wasm-toolchain.sh
find_wasm_toolchain
echo "== cargo test (native, $WASM_TOOLCHAIN)" >&2
RUSTC="$WASM_RUSTC" "$WASM_CARGO" test --quiet --release -p wasmnet-kernels
echo "== typecheck" >&2
npx tsc --noEmit -p .
echo "== vitest" >&2
npx vitest run "$@"
