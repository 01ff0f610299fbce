#!/usr/bin/env bash
# Builds the TypeScript bundles (tsup) and the WebAssembly core into dist/.
# tsup runs only when a source or its configuration is newer than the last bundles (it takes about 12 s, which
# every `npm run train` paid before it started); `cargo` decides for the wasm itself.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.bundled
inputs=(ts tsup.config.ts tsconfig.json package.json package-lock.json)
if [ ! -f "$stamp" ] || [ ! -f dist/index.js ] || [ ! -f dist/cli.js ] || [ ! -f dist/browser.js ] \
  || [ -n "$(find "${inputs[@]}" -newer "$stamp" -print -quit)" ]; then
  npx tsup --silent
  touch "$stamp"
fi
bash scripts/build-wasm.sh "$@"
