import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

/** Browser builds get `node-io.browser.ts` for `node-io.ts`: no Node built-in reaches a page or a bundler. */
const browserNodeIo: Plugin = {
  name: 'wasmnet-browser-node-io',
  setup(build) {
    build.onResolve({ filter: /\/node-io\.js$/ }, (args) => ({
      path: new URL(args.path.replace(/node-io\.js$/, 'node-io.browser.ts'), `file://${args.resolveDir}/`).pathname,
    }));
  },
};

export default defineConfig([
  {
    // The library for Node: ESM and CJS, with types; `internal` (the raw kernels, for the bench) and `onnx`
    // (ONNX export and import, with the protobuf library) share its chunk, in CJS too (`splitting`), so that
    // `wasmnet/onnx` works on the very classes and wasm instance of `wasmnet`.
    entry: { index: 'ts/index.ts', internal: 'ts/internal.ts', onnx: 'ts/onnx/index.ts' },
    format: ['esm', 'cjs'],
    splitting: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    // CJS has no import.meta.url; tsup's shim derives it from __filename so the .wasm is found beside the bundle.
    shims: true,
  },
  {
    // The library and the training worker for browsers and bundlers (package.json "browser" condition);
    // `onnx.browser` is `wasmnet/onnx` for them, on the same chunk as `browser`, the protobuf library inside.
    entry: { browser: 'ts/index.ts', worker: 'ts/worker.ts', 'onnx.browser': 'ts/onnx/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    clean: false,
    esbuildPlugins: [browserNodeIo],
    // Self-contained, so a plain <script type="module"> from a static folder works without a bundler.
    noExternal: ['fflate', 'protobufjs'],
  },
  {
    // The command line, and the replica worker of data-parallel training (started from the library's own folder), Node only.
    entry: { cli: 'ts/cli/main.ts', 'replica-worker': 'ts/parallel/node-worker.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node18',
    sourcemap: true,
    clean: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
