// The vitest configuration `npm run mutate:ts` (StrykerJS, stryker.config.mjs) runs the tests under: the same tests
// as vitest.config.ts, but 'wasmnet' resolves to the TypeScript sources in ts/ (which Stryker mutates) instead of the
// built dist/. Only the .wasm still comes from dist/ (build first: `npm run build`). The replica worker threads of
// training with workers run the sources too: ts/parallel/node-worker.ts, bundled here with esbuild, and told the
// active mutant through their environment, so that a mutant in ts/parallel/replica.ts is live on the threads' side.
// `npm test` does not use this file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** What `import.meta.url` is in the built bundle: ts/core/wasm.ts finds `wasmnet.wasm`, and ts/core/node-io.ts `replica-worker.js`, beside it. */
const distModule = JSON.stringify(pathToFileURL(here('./dist/index.js')).href);

/** Whether a module's `import.meta.url` must point into dist/ (where the .wasm is): the two that look for files beside them. */
const findsDistFiles = /\/ts\/core\/(wasm|node-io)\.ts$/;

/**
 * The replica worker from the sources (under Stryker, the sandbox's instrumented ones), bundled once per run into a
 * fresh temporary folder: a worker thread cannot run TypeScript, and each Stryker run needs its own copy.
 */
function bundleReplicaWorker(): string {
  const outfile = join(mkdtempSync(join(tmpdir(), 'wasmnet-replica-')), 'replica-worker.mjs');
  buildSync({
    entryPoints: [here('./ts/parallel/node-worker.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    logLevel: 'error',
    // Its modules' import.meta.url points into dist/, as in the bundle the library ships (where the .wasm is).
    define: { 'import.meta.url': distModule },
  });
  return outfile;
}
const replicaWorker = bundleReplicaWorker();

/** In ts/core/node-io.ts: where the replica worker is started. The rewrite checks that it is still there. */
const WORKER_START = "new Worker(new URL('./replica-worker.js', import.meta.url), { execArgv })";
// The worker's environment carries the main thread's active mutant (Stryker's instrumented code reads
// __STRYKER_ACTIVE_MUTANT__ when its namespace has none): the thread's copy of replica.ts then runs the same mutant.
const WORKER_START_FROM_SOURCES = `new Worker(new URL(${JSON.stringify(pathToFileURL(replicaWorker).href)}), {
    execArgv,
    env: { ...process.env, __STRYKER_ACTIVE_MUTANT__: String(globalThis.__stryker__?.activeMutant ?? '') },
  })`;

export default defineConfig({
  plugins: [
    {
      // In the sources, `new URL('./wasmnet.wasm', import.meta.url)` points into ts/core/, where no .wasm is built: these
      // two modules look for their files beside the bundle, as they do in dist/; node-io.ts starts the worker bundled above.
      name: 'wasmnet-sources-find-dist-files',
      enforce: 'pre',
      transform(code, id) {
        if (!findsDistFiles.test(id)) return undefined;
        if (id.endsWith('/node-io.ts')) {
          if (!code.includes(WORKER_START)) throw new Error(`vitest.stryker.config.ts: ${id} no longer starts its worker as \`${WORKER_START}\`; update WORKER_START`);
          code = code.replace(WORKER_START, WORKER_START_FROM_SOURCES);
        }
        return code.replaceAll('import.meta.url', distModule);
      },
    },
  ],
  resolve: {
    alias: [
      { find: /^wasmnet$/, replacement: here('./ts/index.ts') },
      { find: /^wasmnet\/internal$/, replacement: here('./ts/internal.ts') },
      { find: /^wasmnet\/onnx$/, replacement: here('./ts/onnx/index.ts') },
    ],
  },
  test: {
    // WASMNET_STRYKER_TESTS=test/words.test.ts,…: only those files (a quick look at one module; its score then counts only them).
    include: process.env.WASMNET_STRYKER_TESTS ? process.env.WASMNET_STRYKER_TESTS.split(',') : ['test/**/*.test.ts'],
    exclude: [
      // These test the built artifacts, not the library's behaviour from its sources: the packed tarball, the examples
      // and bundlers, the browser build in Chromium, the CLI run as a process (dist/cli.js), the docs' printed output,
      // the playground's page, and the kernel ABI read from the wasm and wasm.ts's text. They cannot see a mutant in ts/.
      'test/package.test.ts',
      'test/examples.test.ts',
      'test/browser.test.ts',
      'test/cli.test.ts',
      'test/faults-cli.test.ts',
      'test/onnx-cli.test.ts',
      'test/docs.test.ts',
      'test/playground-layout.test.ts',
      'test/abi.test.ts',
    ],
    // WASMNET_STRYKER_COVER_ALL=ts/parallel/replica.ts: each mutant of that file runs every test file (see the helper).
    setupFiles: ['test/helpers/setup.ts', ...(process.env.WASMNET_STRYKER_COVER_ALL ? ['test/helpers/stryker-cover-all.ts'] : [])],
    // WASMNET_STRYKER_TEST_TIMEOUT=30000: a mutant that stops the replica workers' barrier fails its test then, not
    // after two minutes (Stryker's own timeout counts from the dry run's length, a minute for the workers' tests).
    testTimeout: Number(process.env.WASMNET_STRYKER_TEST_TIMEOUT ?? 120_000),
    hookTimeout: Number(process.env.WASMNET_STRYKER_TEST_TIMEOUT ?? 120_000),
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
