import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests import 'wasmnet' and get the built package (dist/), with its .wasm:
    // they exercise what users install, not the sources.
    alias: [
      { find: /^wasmnet$/, replacement: fileURLToPath(new URL('./dist/index.js', import.meta.url)) },
      { find: /^wasmnet\/internal$/, replacement: fileURLToPath(new URL('./dist/internal.js', import.meta.url)) },
      { find: /^wasmnet\/onnx$/, replacement: fileURLToPath(new URL('./dist/onnx.js', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // test/memory.test.ts measures the JS heap and FinalizationRegistry clean-up after explicit collections.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
