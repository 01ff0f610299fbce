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
# The API reference builds, and every public class, member and option has a doc comment (about 15 s).
echo "== docs (typedoc --treatWarningsAsErrors)" >&2
npx typedoc --treatWarningsAsErrors --logLevel Warn
mkdir -p .cache
# The gradient-check suite over every registered layer kind (exit code 1 on a failure).
echo "== wasmnet gradcheck" >&2
node dist/cli.js gradcheck > .cache/gradcheck.txt || { cat .cache/gradcheck.txt >&2; exit 1; }
tail -n 1 .cache/gradcheck.txt >&2
# The benchmark's smoke test: the harness and every peer still run (no timing assertions).
echo "== bench --quick" >&2
node scripts/bench.mjs --quick --json .cache/bench-quick.json > .cache/bench-quick.txt
tail -n 25 .cache/bench-quick.txt >&2
echo "== vitest" >&2
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest.json "$@" || status=$?
# One plain closing line for CI: "vitest: N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".cache/vitest.json", "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit $status
