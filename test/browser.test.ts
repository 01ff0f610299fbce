// The playground in real Chromium (Debian's, driven by playwright-core): the library loads from
// a static folder, trains in a Web Worker, predicts drawn digits, and agrees with Node bit for bit.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequentialNet, Tensor, courseCnn, lenet5, loadMnist } from 'wasmnet';
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
  state: { history: { loss: number; accuracy: number }[]; done: boolean; testAccuracy: number; padProbabilities: number[] | null; batches: unknown[] };
  train(o: { n: number; epochs: number; batchSize: number; model?: string; seed?: number; workers?: number }): Promise<unknown>;
  loadModel(bytes: Uint8Array): void;
  predictTest(count: number): number[];
  modelBytes(): Uint8Array;
};

/**
 * The page's current model file. As base64: playwright serializes a number array as JSON, which
 * takes about a minute for the course's 6.5 MB file (weights plus Adam's state).
 */
async function pageModelBytes(p: Page): Promise<Uint8Array> {
  const base64 = await p.evaluate(() => {
    const bytes = (window as never as { playground: Playground }).playground.modelBytes();
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  });
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

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

  it('trains LeNet-5 picked through ?model=lenet5 from the Train button and says so', async () => {
    const p = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`${url}?model=lenet5&n=1000&epochs=1&batch=50&seed=5`);
    await p.evaluate(() => (window as never as { playground: { ready: Promise<void> } }).playground.ready);
    expect(await p.locator('#train-model').inputValue()).toBe('lenet5');
    expect(await p.locator('header').textContent()).toContain('LeNet-5');
    expect(await p.locator('header').textContent()).toContain('conv 6×5×5 pad 2 ReLU → avg-pool 2×2 → conv 16×5×5 ReLU');
    expect(await p.locator('#model-info').textContent()).toBe('in use: LeNet-5, untrained');
    const before = await p.evaluate(() => (window as never as { playground: Playground }).playground.state.testAccuracy);
    await p.click('#train-button');
    await p.waitForFunction(() => (window as never as { playground: Playground }).playground.state.done, null, { timeout: 60_000 });
    const { history, batches, testAccuracy } = await p.evaluate(() => {
      const s = (window as never as { playground: Playground }).playground.state;
      return { history: s.history, batches: s.batches as { loss: number; accuracy: number }[], testAccuracy: s.testAccuracy };
    });
    expect(history).toHaveLength(1);
    expect(batches).toHaveLength(20);
    // One epoch: compare the first and last five batches.
    const mean = (bs: { loss: number; accuracy: number }[], key: 'loss' | 'accuracy') => bs.reduce((a, b) => a + b[key], 0) / bs.length;
    expect(mean(batches.slice(-5), 'loss')).toBeLessThan(mean(batches.slice(0, 5), 'loss'));
    expect(mean(batches.slice(-5), 'accuracy')).toBeGreaterThan(mean(batches.slice(0, 5), 'accuracy'));
    expect(testAccuracy).toBeGreaterThan(Math.max(0.5, before + 0.3));
    expect(await p.locator('#status').textContent()).toContain('LeNet-5: trained 1,000 digits × 1 epoch in');
    expect(await p.locator('#model-info').textContent()).toBe('in use: LeNet-5, trained on 1,000 digits × 1 epoch');
    // The trained network in the page is LeNet-5: its file has LeNet-5's parameters.
    const net = SequentialNet.load(await pageModelBytes(p));
    const reference = lenet5({ seed: 5 });
    const layout = (n: SequentialNet) => n.parameters().map((q) => `${q.name}: ${q.value.length}`);
    expect(layout(net)).toEqual(layout(reference));
    net.dispose();
    reference.dispose();
    expect(errors).toEqual([]);
    await p.screenshot({ path: join(artifacts, 'lenet5.png'), fullPage: true });
    await p.close();
  }, 90_000);

  it('an unknown model name comes back from the worker as a ValueError naming the zoo', async () => {
    // A string, not a function: vitest would rewrite a dynamic import() in the test's own code.
    const message = await page.evaluate(`(async () => {
      const { Tensor, trainInWorker, ValueError } = await import('./wasmnet/browser.js');
      const worker = new Worker('./wasmnet/worker.js', { type: 'module' });
      try {
        await trainInWorker(worker, Tensor.zeros([2, 1, 28, 28]), Tensor.oneHot([1, 2], 10), { model: 'resnet' });
        return 'resolved';
      } catch (e) {
        return (e instanceof ValueError) + ' ' + e.message;
      } finally {
        worker.terminate();
      }
    })()`);
    expect(message).toBe('true training in the worker failed: model must be one of "course", "lenet5", "vgg-mini", got "resnet"');
  });

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

  it('the same seed gives bit-identical weights in Node (1 worker) and in Chromium (2 replica workers)', async () => {
    const { xTrain, yTrain } = await loadMnist({ limit: 500, testLimit: 1 });
    const net = courseCnn({ seed: 11 });
    await net.train(xTrain, yTrain, { batchSize: 50, epochs: 2, workers: 1 });
    const inNode = net.parameters().map((p) => Array.from(p.value.view()));
    net.dispose();
    // The playground's server sends COOP/COEP: the page is cross-origin isolated, so its training worker can start replicas.
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    await page.evaluate(() => (window as never as { playground: Playground }).playground.train({ n: 500, epochs: 2, batchSize: 50, seed: 11, workers: 2 }));
    expect(await page.locator('#status').textContent()).toContain('on 2 workers');
    const inPage = SequentialNet.load(await pageModelBytes(page));
    expect(inPage.parameters().map((p) => Array.from(p.value.view()))).toEqual(inNode);
    inPage.dispose();
  }, 120_000);

  it('every layer kind, option, optimizer and schedule gives the same bits in Node and in Chromium', async () => {
    // One function, run by Node on the package and by the page on its browser build (passed as source).
    const buildAndTrain = async (w: typeof import('wasmnet')): Promise<Uint8Array> => {
      await w.init();
      const rng = new w.Rng(21);
      const n = 40;
      const x = new w.Tensor(Float32Array.from({ length: n * 2 * 11 * 11 }, () => rng.uniform()), [n, 2, 11, 11]);
      const y = w.Tensor.oneHot(Array.from({ length: n }, () => rng.int(4)), 4);
      const net = new w.SequentialNet([2, 11, 11], { seed: 5 });
      net.addConv2D([4, 3, 3], { padding: 'same', afun: new w.Identity(), optim: new w.AdamW(0.01) });
      net.addBatchNorm({ afun: new w.ReLU(), optim: new w.SGD(0.05, { momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) });
      net.addPool2D([3, 3], { stride: 2 });
      net.addConv2D([5, 2, 2], { stride: [2, 1], afun: new w.Tanh(), optim: new w.Adam(0.01, { weightDecay: 1e-4 }) });
      net.addAvgPool2D([2, 2], { stride: 1 });
      net.addFlatten();
      net.addDropout(0.3);
      net.addDense(4, { afun: new w.SoftMax(), optim: new w.Adam(0.01) });
      await net.train(x, y, { batchSize: 16, epochs: 3, lrSchedule: new w.CosineAnnealing({ tMax: 3 }) });
      const bytes = net.save();
      net.dispose();
      return bytes;
    };
    const inNode = Buffer.from(await buildAndTrain(await import('wasmnet'))).toString('base64');
    // A string, not a function: vitest would rewrite a dynamic import() inside a function for Node.
    const inPage: string = await page.evaluate(`(async () => {
      const w = await import(new URL('./wasmnet/browser.js', location.href).href);
      const bytes = await (${buildAndTrain.toString()})(w);
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    })()`);
    expect(inPage.length).toBeGreaterThan(1000);
    expect(inPage === inNode, 'the model files trained in Node and in Chromium differ').toBe(true);
  }, 60_000);

  it("the page's own thread trains with 3 replica workers to the bits Node gets with 1 (batch norm included)", async () => {
    const buildAndTrain = async (w: typeof import('wasmnet'), workers: number): Promise<Uint8Array> => {
      await w.init();
      const rng = new w.Rng(4);
      const n = 90;
      const x = new w.Tensor(Float32Array.from({ length: n * 2 * 10 * 10 }, () => rng.uniform()), [n, 2, 10, 10]);
      const y = w.Tensor.oneHot(Array.from({ length: n }, () => rng.int(3)), 3);
      const net = new w.SequentialNet([2, 10, 10], { seed: 8 });
      net.addConv2D([4, 3, 3], { padding: 1, afun: new w.ReLU(), optim: new w.Adam(0.01) });
      net.addPool2D([2, 2]);
      net.addConv2D([6, 3, 3], { padding: 1, afun: new w.Identity(), optim: new w.Adam(0.01) });
      net.addBatchNorm({ afun: new w.ReLU(), optim: new w.Adam(0.01) });
      net.addFlatten();
      net.addDropout(0.25);
      net.addDense(12, { afun: new w.Tanh(), optim: new w.Adam(0.01) });
      net.addBatchNorm({ optim: new w.SGD(0.05) });
      net.addDense(3, { afun: new w.SoftMax(), optim: new w.AdamW(0.01) });
      await net.train(x, y, { batchSize: 64, epochs: 2, workers });
      const bytes = net.save();
      net.dispose();
      return bytes;
    };
    const inNode = Buffer.from(await buildAndTrain(await import('wasmnet'), 1)).toString('base64');
    // The page is cross-origin isolated: its workers share one memory, instances of the threads core it fetches.
    const threadsCore: number[] = [];
    const onResponse = (r: { url(): string; status(): number }) => r.url().endsWith('/wasmnet-threads.wasm') && threadsCore.push(r.status());
    page.on('response', onResponse);
    const inPage: string = await page.evaluate(`(async () => {
      const w = await import(new URL('./wasmnet/browser.js', location.href).href);
      const bytes = await (${buildAndTrain.toString()})(w, 3);
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    })()`);
    page.off('response', onResponse);
    expect(inPage === inNode, 'the model files trained in Node (1 worker) and in Chromium (3 workers) differ').toBe(true);
    expect(threadsCore, 'the page fetched the threads core once, for its workers').toEqual([200]);
  }, 60_000);

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

  it('looks right on a phone-sized screen (with VGG-mini chosen: the longest header and a hint)', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(`${url}?model=vgg-mini`);
    await phone.evaluate(() => (window as never as { playground: Playground & { ready: Promise<void> } }).playground.ready);
    expect(await phone.locator('header').textContent()).toContain('VGG-mini — [conv 32×3×3 same → BN ReLU] ×2');
    expect(await phone.locator('#model-hint').isVisible()).toBe(true);
    expect(await phone.locator('#model-hint').textContent()).toContain('Try 1,000 digits first');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: join(artifacts, 'phone.png'), fullPage: true });
    await phone.close();
  }, 60_000);
});
