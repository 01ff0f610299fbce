import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: ESM for Node and browsers, CJS for require(), with types.
    entry: { index: 'ts/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    // CJS has no import.meta.url; tsup's shim derives it from __filename so the .wasm is found beside the bundle.
    shims: true,
  },
  {
    // The command line, Node only.
    entry: { cli: 'ts/cli/main.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node18',
    sourcemap: true,
    clean: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
