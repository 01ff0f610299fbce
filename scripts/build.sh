#!/usr/bin/env bash
# Builds the TypeScript bundles (tsup) and the WebAssembly core into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsup --silent
bash scripts/build-wasm.sh "$@"
