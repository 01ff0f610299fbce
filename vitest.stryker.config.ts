// The vitest configuration `npm run mutate:ts` (StrykerJS, stryker.config.mjs) runs the tests under: the same tests
// as vitest.config.ts, but 'wasmnet' resolves to the TypeScript sources in ts/ (which Stryker mutates) instead of the
// built dist/. Only the .wasm and the replica worker still come from dist/ (build first: `npm run build`).
// `npm test` does not use this file.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** What `import.meta.url` is in the built bundle: ts/core/wasm.ts finds `wasmnet.wasm`, and ts/core/node-io.ts `replica-worker.js`, beside it. */
const distModule = JSON.stringify(pathToFileURL(here('./dist/index.js')).href);

export default defineConfig({
  plugins: [
    {
      // In the sources, `new URL('./wasmnet.wasm', import.meta.url)` points into ts/core/, where no .wasm is built; and a
      // worker thread cannot run TypeScript. These two modules look for their files beside the bundle, as they do in dist/.
      name: 'wasmnet-sources-find-dist-files',
      enforce: 'pre',
      transform(code, id) {
        if (/\/ts\/core\/(wasm|node-io)\.ts$/.test(id)) return code.replaceAll('import.meta.url', distModule);
        return undefined;
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
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
