// trainInWorker sends a worker only the values it trains on: a slice() view must not take the
// whole buffer behind it along (1,000 MNIST digits used to ship all 188 MB of the 60,000).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Tensor, ValueError, WasmnetError, trainInWorker } from 'wasmnet';

/** A stand-in for a Worker that records what is posted and answers 'done'. */
function recordingWorker() {
  const posted: { message: Record<string, unknown>; transfer: Transferable[] }[] = [];
  const listeners: ((e: { data: unknown }) => void)[] = [];
  const worker = {
    postMessage(message: Record<string, unknown>, transfer: Transferable[] = []) {
      // What structured cloning would copy: a view's whole buffer unless the array is its buffer.
      posted.push({ message, transfer });
      queueMicrotask(() => listeners.forEach((l) => l({ data: { type: 'done', model: new Uint8Array(1), history: [] } })));
    },
    addEventListener(type: string, l: (e: { data: unknown }) => void) {
      if (type === 'message') listeners.push(l);
    },
    removeEventListener() {},
  };
  return { worker: worker as unknown as Worker, posted };
}

describe('trainInWorker: only the rows it trains on cross to the worker', () => {
  const all = new Tensor(new Float32Array(1000 * 784).fill(0.5), [1000, 1, 28, 28]);
  const labels = Tensor.oneHot(Array.from({ length: 1000 }, (_, i) => i % 10), 10);

  it('a slice() view is sent as a copy of its own rows, transferred, not as the buffer behind it', async () => {
    const x = all.slice(100, 150);
    const y = labels.slice(100, 150);
    const v = [all.slice(0, 10), labels.slice(0, 10)] as const;
    const { worker, posted } = recordingWorker();
    await trainInWorker(worker, x, y, { validationData: v });
    const m = posted[0].message as { x: Float32Array; y: Float32Array; validation: { x: Float32Array; y: Float32Array } };
    for (const [sent, want] of [
      [m.x, x],
      [m.y, y],
      [m.validation.x, v[0]],
      [m.validation.y, v[1]],
    ] as const) {
      expect(sent.buffer.byteLength).toBe(want.data.byteLength);
      expect(Array.from(sent.subarray(0, 5))).toEqual(Array.from(want.data.subarray(0, 5)));
      expect(posted[0].transfer).toContain(sent.buffer);
    }
    // The caller's tensors keep their data (the copies were transferred, not the originals).
    expect(all.data.buffer.byteLength).toBe(1000 * 784 * 4);
    expect(x.data.length).toBe(50 * 784);
  });

  it('a tensor that is its whole buffer is posted as it is (cloned once), not detached from the caller', async () => {
    const x = new Tensor(new Float32Array(20 * 784), [20, 1, 28, 28]);
    const y = Tensor.oneHot(Array.from({ length: 20 }, () => 1), 10);
    const { worker, posted } = recordingWorker();
    await trainInWorker(worker, x, y);
    expect(posted[0].message.x).toBe(x.data);
    expect(posted[0].transfer).toEqual([]);
  });
});

/** A stand-in Worker that records what is posted and lets the test answer, or fail, as the real one would. */
function scriptedWorker() {
  const posted: { message: Record<string, unknown>; transfer: Transferable[] }[] = [];
  const listeners: { type: string; l: (e: unknown) => void }[] = [];
  const worker = {
    postMessage(message: Record<string, unknown>, transfer: Transferable[] = []) {
      posted.push({ message, transfer });
    },
    addEventListener(type: string, l: (e: unknown) => void) {
      listeners.push({ type, l });
    },
    removeEventListener(type: string, l: (e: unknown) => void) {
      const i = listeners.findIndex((x) => x.type === type && x.l === l);
      if (i >= 0) listeners.splice(i, 1);
    },
  };
  const send = (type: string, event: unknown) => listeners.filter((x) => x.type === type).forEach((x) => x.l(event));
  return { worker: worker as unknown as Worker, posted, reply: (data: unknown) => send('message', { data }), fail: (message: string) => send('error', { message }) };
}

describe('trainInWorker: the request, the progress and the failures', () => {
  const x = new Tensor(new Float32Array(6 * 4).fill(0.25), [6, 1, 2, 2]);
  const y = Tensor.oneHot([0, 1, 2, 0, 1, 2], 3);

  it('sends the shapes, the validation data and the settings, and resolves to the model and history', async () => {
    const { worker, posted, reply } = scriptedWorker();
    const vx = x.slice(0, 2);
    const vy = y.slice(0, 2);
    const done = trainInWorker(worker, x, y, { validationData: [vx, vy], batchSize: 3, epochs: 2, seed: 7, lr: 0.01, model: 'course', wasm: '/w.wasm', workers: 2, modelFile: Uint8Array.from([9]) });
    const m = posted[0].message as Record<string, unknown> & { validation: Record<string, unknown> };
    expect(m.type).toBe('train');
    expect(m.xShape).toEqual([6, 1, 2, 2]);
    expect(m.yShape).toEqual([6, 3]);
    expect(m.validation.xShape).toEqual([2, 1, 2, 2]);
    expect(m.validation.yShape).toEqual([2, 3]);
    expect(Array.from(m.validation.x as Float32Array)).toEqual(Array.from(vx.data));
    expect(Array.from(m.validation.y as Float32Array)).toEqual(Array.from(vy.data));
    expect({ batchSize: m.batchSize, epochs: m.epochs, seed: m.seed, lr: m.lr, model: m.model, wasm: m.wasm, workers: m.workers, modelFile: m.modelFile }).toEqual({
      batchSize: 3, epochs: 2, seed: 7, lr: 0.01, model: 'course', wasm: '/w.wasm', workers: 2, modelFile: Uint8Array.from([9]),
    });
    // The callbacks stay on the page: a function cannot be posted.
    expect('onBatch' in m || 'onEpoch' in m || 'validationData' in m).toBe(false);
    const model = Uint8Array.from([1, 2, 3]);
    reply({ type: 'done', model, history: [{ epoch: 1 }] });
    expect(await done).toEqual({ model, history: [{ epoch: 1 }] });
  });

  it('posts a shared-memory view as it is, without copying it', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(10 * 4 * 4));
    const sx = new Tensor(shared.subarray(8, 32), [6, 1, 2, 2]);
    const { worker, posted, reply } = scriptedWorker();
    const done = trainInWorker(worker, sx, y);
    expect(posted[0].message.x).toBe(sx.data);
    expect(posted[0].transfer).toEqual([]);
    reply({ type: 'done', model: new Uint8Array(1), history: [] });
    await done;
  });

  it('calls onBatch and onEpoch as the worker reports', async () => {
    const { worker, reply } = scriptedWorker();
    const seen: unknown[] = [];
    const done = trainInWorker(worker, x, y, { onBatch: (b) => seen.push(['batch', b]), onEpoch: (e) => seen.push(['epoch', e]) });
    reply({ type: 'batch', info: { batch: 0 } });
    reply({ type: 'epoch', stats: { epoch: 1 } });
    reply({ type: 'done', model: new Uint8Array(1), history: [] });
    await done;
    expect(seen).toEqual([['batch', { batch: 0 }], ['epoch', { epoch: 1 }]]);
  });

  it("rejects with the worker's error class, or a WasmnetError naming an unknown one", async () => {
    const a = scriptedWorker();
    const first = trainInWorker(a.worker, x, y);
    a.reply({ type: 'error', name: 'ValueError', message: 'unknown model "x"' });
    await expect(first).rejects.toThrow(new ValueError('training in the worker failed: unknown model "x"'));
    await expect(first).rejects.toBeInstanceOf(ValueError);

    const b = scriptedWorker();
    const second = trainInWorker(b.worker, x, y);
    b.reply({ type: 'error', name: 'RangeError', message: 'too deep' });
    await expect(second).rejects.toThrow('training in the worker failed: RangeError: too deep');
    await expect(second).rejects.toBeInstanceOf(WasmnetError);
    await expect(second).rejects.not.toBeInstanceOf(ValueError);
  });

  it('rejects when the worker fails to start', async () => {
    const { worker, fail } = scriptedWorker();
    const done = trainInWorker(worker, x, y);
    fail('worker.js: 404');
    await expect(done).rejects.toThrow(new WasmnetError('the training worker failed to start: worker.js: 404'));
  });

  it('names its options in a refusal', async () => {
    const { worker } = scriptedWorker();
    await expect(trainInWorker(worker, x, y, { bacthSize: 3 } as never)).rejects.toThrow(/^trainInWorker options: unknown option "bacthSize"/);
  });
});

describe('wasmnet/worker outside a worker', () => {
  it('loaded in Node, it says what it is and what Node uses instead (no "self is not defined")', () => {
    const run = spawnSync(process.execPath, ['-e', "import('./dist/worker.js').catch((e) => { console.error(e.message); process.exit(3); })"], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(run.status).toBe(3);
    expect(run.stderr.trim()).toBe(
      "wasmnet/worker is a module Web Worker for browsers: start it with new Worker(…, { type: 'module' }); in Node, train({ workers }) starts workers itself",
    );
  });
});
