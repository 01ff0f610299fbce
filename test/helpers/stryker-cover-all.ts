// Under Stryker only (vitest.stryker.config.ts, when WASMNET_STRYKER_COVER_ALL names source files): every mutant in
// those files is marked as covered statically, so that each runs every test file of the run. The vitest runner
// reports the coverage it saw on the main thread even with `--coverageAnalysis off`, and the code a replica worker
// thread runs (ts/parallel/replica.ts's shared-memory step) is never covered there: its mutants would be reported
// as uncovered without being tested.
import { readFileSync } from 'node:fs';

interface StrykerNamespace {
  mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
}

const files = (process.env.WASMNET_STRYKER_COVER_ALL ?? '').split(',').filter(Boolean);
const ns = ((globalThis as { __stryker__?: StrykerNamespace }).__stryker__ ??= {});
const coverage = (ns.mutantCoverage ??= { static: {}, perTest: {} });
for (const file of files) {
  // The sandbox's copy is the instrumented one: each mutant is switched on by stryMutAct_9fa48("<id>").
  const ids = [...readFileSync(file, 'utf8').matchAll(/stryMutAct_9fa48\("(\d+)"\)/g)].map((m) => m[1]);
  if (ids.length === 0) throw new Error(`WASMNET_STRYKER_COVER_ALL: ${file} has no Stryker mutants (is this a Stryker sandbox?)`);
  for (const id of ids) coverage.static[id] = (coverage.static[id] ?? 0) + 1;
}
