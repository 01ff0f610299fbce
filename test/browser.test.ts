// The playground in real Chromium (Debian's, driven by playwright-core): the library loads from
// a static folder, trains in a Web Worker, predicts drawn digits, and agrees with Node bit for bit.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequentialNet, Tensor, courseCnn, loadMnist } from 'wasmnet';
// @ts-expect-error: a plain .mjs script without types
import { buildSite, serve } from '../scripts/playground.mjs';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, '..', 'artifacts', 'browser');
let server: Server;
let url: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  ({ server, url } = await serve(buildSite(), 0));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}?n=1000&epochs=2&batch=50&seed=7`);
  await page.evaluate(() => (window as never as { playground: { ready: Promise<void> } }).playground.ready);
  expect(errors).toEqual([]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

type Playground = {
  state: { history: { loss: number; accuracy: number }[]; done: boolean; testAccuracy: number; padProbabilities: number[] | null };
  train(o: { n: number; epochs: number; batchSize: number; seed?: number }): Promise<unknown>;
  loadModel(bytes: Uint8Array): void;
  predictTest(count: number): number[];
  modelBytes(): Uint8Array;
};

describe('the playground in Chromium', () => {
  it('trains in a worker from the Train button: the loss falls and accuracy rises', async () => {
    const before = await page.evaluate(() => (window as never as { playground: Playground }).playground.state.testAccuracy);
    await page.click('#train-button');
    await page.waitForFunction(() => (window as never as { playground: Playground }).playground.state.done, null, { timeout: 120_000 });
    const { history, testAccuracy } = await page.evaluate(() => {
      const s = (window as never as { playground: Playground }).playground.state;
      return { history: s.history, testAccuracy: s.testAccuracy };
    });
    expect(history).toHaveLength(2);
    expect(history[1].loss).toBeLessThan(history[0].loss);
    expect(history[1].accuracy).toBeGreaterThan(history[0].accuracy);
    expect(testAccuracy).toBeGreaterThan(Math.max(0.6, before + 0.3));
    expect(await page.locator('#status').textContent()).toContain('trained 1,000 digits × 2 epochs');
    expect(await page.locator('#grid .digit').count()).toBe(48);
    await page.screenshot({ path: join(artifacts, 'trained.png'), fullPage: true });
  }, 150_000);

  it('predicts a digit drawn with real mouse events on the canvas', async () => {
    const box = (await page.locator('#pad').boundingBox())!;
    // A "1": one vertical stroke.
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.15 + 0.07 * i));
    await page.mouse.up();
    await page.waitForFunction(() => (window as never as { playground: Playground }).playground.state.padProbabilities !== null);
    const p = await page.evaluate(() => (window as never as { playground: Playground }).playground.state.padProbabilities!);
    expect(p).toHaveLength(10);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(await page.locator('#bars .bar.top').count()).toBe(1);
    expect(p.indexOf(Math.max(...p))).toBe(1);
    await page.locator('#draw-panel').screenshot({ path: join(artifacts, 'drawn.png') });
  });

  it('a model saved in Node predicts the same in the page, uploaded through the file input', async () => {
    const { xTrain, yTrain, xTest } = await loadMnist({ limit: 300, testLimit: 20 });
    const net = courseCnn({ seed: 3 });
    await net.train(xTrain, yTrain, { batchSize: 100, epochs: 1 });
    const bytes = net.save();
    const inNode = Array.from(net.evaluate(xTest).data);
    net.dispose();
    await page.setInputFiles('#upload', { name: 'node.wnet', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await page.waitForFunction(() => document.getElementById('model-info')!.textContent!.includes('loaded a model'));
    const inPage = await page.evaluate(() => (window as never as { playground: Playground }).playground.predictTest(20));
    expect(inPage).toEqual(inNode);
  }, 60_000);

  it('the same seed gives bit-identical weights in Node and in Chromium', async () => {
    const { xTrain, yTrain } = await loadMnist({ limit: 500, testLimit: 1 });
    const net = courseCnn({ seed: 11 });
    await net.train(xTrain, yTrain, { batchSize: 50, epochs: 2 });
    const inNode = net.parameters().map((p) => Array.from(p.value.view()));
    net.dispose();
    const bytes = await page.evaluate(async () => {
      const p = (window as never as { playground: Playground }).playground;
      await p.train({ n: 500, epochs: 2, batchSize: 50, seed: 11 });
      return Array.from(p.modelBytes());
    });
    const inPage = SequentialNet.load(Uint8Array.from(bytes));
    expect(inPage.parameters().map((p) => Array.from(p.value.view()))).toEqual(inNode);
    inPage.dispose();
  }, 120_000);

  it('works through a bundler: esbuild resolves the browser build, with no Node built-in', async () => {
    const { build } = await import('esbuild');
    const dir = join(buildSite(), 'bundled');
    mkdirSync(dir, { recursive: true });
    const result = await build({
      stdin: {
        contents: "import { init, courseCnn, Tensor } from 'wasmnet'; await init(); const net = courseCnn({ seed: 1 }); window.bundled = Array.from(net.evaluate(Tensor.zeros([1, 1, 28, 28])).data);",
        resolveDir: join(import.meta.dirname, '..'),
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'app.js'),
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((f) => f.endsWith('dist/browser.js'))).toBe(true);
    expect(inputs.filter((f) => f.startsWith('node:'))).toEqual([]);
    // The .wasm goes beside the bundle (esbuild leaves `new URL('./wasmnet.wasm', import.meta.url)` as it is).
    copyFileSync(join(import.meta.dirname, '..', 'dist', 'wasmnet.wasm'), join(dir, 'wasmnet.wasm'));
    writeFileSync(join(dir, 'index.html'), '<script type="module" src="app.js"></script>');
    const p = await browser.newPage();
    await p.goto(`${url}bundled/index.html`);
    await p.waitForFunction(() => Array.isArray((window as never as { bundled?: number[] }).bundled), null, { timeout: 30_000 });
    const out = await p.evaluate(() => (window as never as { bundled: number[] }).bundled);
    const net = courseCnn({ seed: 1 });
    expect(out).toEqual(Array.from(net.evaluate(new Tensor(new Float32Array(784), [1, 1, 28, 28])).data));
    net.dispose();
    await p.close();
  }, 60_000);

  it('looks right on a phone-sized screen', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(url);
    await phone.evaluate(() => (window as never as { playground: Playground & { ready: Promise<void> } }).playground.ready);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: join(artifacts, 'phone.png'), fullPage: true });
    await phone.close();
  }, 60_000);
});
