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
# The threads core: the same kernels for the workers of one training run, every worker an instance of it in one
# shared memory, so that each reads the others' gradients where they were computed (ts/parallel/replica.ts).
# - atomics and bulk-memory: a shared memory needs them; wasm-ld then initializes the data once, guarded by an
#   atomic flag, whichever instance comes first, and every instance gets its own shadow stack from TypeScript.
# - --no-check-features: Debian's wasm32 std is built without atomics, and wasm-ld refuses to link such objects into
#   a shared memory unless told not to check. What of std this core uses is its allocator, which the crate puts
#   behind a real lock in this build (crate/src/locked_alloc.rs, `--cfg wasmnet_threads`); nothing else of std
#   runs on two threads at once (a kernel that panics traps, see build.rs).
# Its own target directory, so that the two builds do not rebuild each other's artifacts.
RUSTC="$WASM_RUSTC" CARGO_TARGET_DIR=target/threads \
  RUSTFLAGS="--cfg wasmnet_threads -C target-feature=+simd128,+mutable-globals,+atomics,+bulk-memory -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 -C link-arg=--no-check-features" \
  "$WASM_CARGO" build --quiet --release --target wasm32-unknown-unknown -p wasmnet-kernels
cp target/threads/wasm32-unknown-unknown/release/wasmnet_kernels.wasm dist/wasmnet-threads.wasm
echo "build-wasm: dist/wasmnet-threads.wasm ($(wc -c < dist/wasmnet-threads.wasm) bytes)" >&2
