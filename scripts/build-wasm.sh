#!/usr/bin/env bash
# Builds crate/ for wasm32 with SIMD and copies it to dist/wasmnet.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-toolchain.sh
find_wasm_toolchain "${1:-}"
echo "build-wasm: using $WASM_TOOLCHAIN" >&2
# mutable-globals: build.rs exports __stack_pointer (a mutable global), which wasm-ld allows only with the feature.
RUSTC="$WASM_RUSTC" RUSTFLAGS="-C target-feature=+simd128,+mutable-globals" \
  "$WASM_CARGO" build --quiet --release --target wasm32-unknown-unknown -p wasmnet-kernels
mkdir -p dist
cp target/wasm32-unknown-unknown/release/wasmnet_kernels.wasm dist/wasmnet.wasm
echo "build-wasm: dist/wasmnet.wasm ($(wc -c < dist/wasmnet.wasm) bytes)" >&2
