// @ts-check
// `npm run mutate:ts`: mutation testing of the TypeScript library (StrykerJS). Each mutant is a small change to ts/
// (an operator, a condition, a string, …); the tests run against the sources through vitest.stryker.config.ts (the
// .wasm and the replica worker from dist/: run `npm run build` first). Slow: before a release, not in CI.
// One module: `npm run mutate:ts -- --mutate ts/core/words.ts`. Report: reports/mutation/ts.html.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // `related: false`: every test file of the run may kill a mutant. With Stryker's default, vitest keeps only the files
  // whose import graph reaches the mutated file, and that graph misses what is reached through a dynamic import() or
  // run in a replica worker thread (ts/parallel/replica.ts's run kept 1 of its 7 test files).
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.stryker.json',
  // Type-checks each mutant's file and its dependants only: a mutant the compiler rejects is not a test gap.
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Stryker's vitest runner runs the tests in worker threads (not vitest.config.ts's forks): the flag goes to the
  // runner's process, whose threads share it. test/memory.test.ts and test/faults-issue14.test.ts collect garbage.
  testRunnerNodeArgs: ['--expose-gc'],
  mutate: [
    'ts/**/*.ts',
    // The CLI's presentation (argument parsing, terminal output, pictures, file prompts): what it prints is checked by
    // test/cli.test.ts against dist/cli.js run as a process, which Stryker cannot mutate in place.
    '!ts/cli/**',
    // Browser-only code: the browser build's Node stand-in, the Vite dev-server lookup, and the Web Worker entry and
    // client run in Chromium (test/browser.test.ts, against dist/), never under vitest in Node.
    '!ts/core/node-io.browser.ts',
    '!ts/core/vite-dev.ts',
    '!ts/worker.ts',
    // The replica worker thread's 10-line entry. The threads run the sources (vitest.stryker.config.ts bundles this
    // entry with the sandbox's mutated ts/ and hands each thread the active mutant), so ts/parallel/replica.ts's
    // mutants are live in them; but Stryker's coverage sees only the main thread: run replica.ts with
    // WASMNET_STRYKER_COVER_ALL (DEVELOPERS.md), or its thread-only code shows as uncovered.
    '!ts/parallel/node-worker.ts',
    // ONNX's schema is generated data (scripts/onnx-schema.mjs), not code.
    '!ts/onnx/schema.ts',
  ],
  // The machine is shared (2 cores): one test runner at a time unless asked (`--concurrency 2`).
  concurrency: 1,
  timeoutMS: 60_000,
  ignorePatterns: ['target', 'docs/api', 'reports', '.cache', 'artifacts', 'crate'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/ts.html' },
  jsonReporter: { fileName: 'reports/mutation/ts.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
