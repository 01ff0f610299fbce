// What a callback can do to a running train(): a bad learning rate stops the batch whole, dispose()
// leaks nothing, and the structure cannot change under the loop. And what a failure inside a batch
// (a kernel that traps) leaves: the network as it was before that batch.
import { describe, expect, it } from 'vitest';
import { Adam, DisposedError, ReLU, SequentialNet, SoftMax, ValueError, init, wasmBytesInUse } from 'wasmnet';
import { kernels } from 'wasmnet/internal';
import { pictures } from './helpers/pictures.js';

await init();

const data = (n: number) => pictures(n, 3, 6, 3);

function net(): SequentialNet {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(8, { afun: new ReLU(), optim: new Adam(0.01) });
  n.addDropout(0.25); // a training state beyond the weights: its step
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

/** The same with batch norm, whose running statistics a batch's forward pass moves (its shards then run together). */
function bnNet(): SequentialNet {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addBatchNorm({ optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

/** Makes kernel `name` throw, as a trap would, on its `nth` call after `arm()` (then it works again). */
function trapAfterArming(name: 'wn_count_correct' | 'wn_adam', nth = 1): { arm: () => void; restore: () => void } {
  const k = kernels() as unknown as Record<string, (...args: number[]) => number>;
  const real = k[name];
  let calls = -1;
  k[name] = (...args: number[]) => {
    if (calls >= 0 && ++calls === nth) throw new Error(`${name} trapped`);
    return real(...args);
  };
  return { arm: () => void (calls = 0), restore: () => void (k[name] = real) };
}

/** Trains `a` in batches of 20 with kernel `name` trapping in the third batch (its `nth` call from then); returns the error. */
async function trainIntoTrap(a: SequentialNet, name: 'wn_count_correct' | 'wn_adam', nth = 1): Promise<unknown> {
  const trap = trapAfterArming(name, nth);
  try {
    return await a.train(x, y, { batchSize: 20, onBatch: (b) => { if (b.batch === 1) trap.arm(); } }).catch((err) => err);
  } finally {
    trap.restore();
  }
}

/** Trains two batches of 20 and stops (the reference for a third batch that fails). */
async function twoBatches(make: () => SequentialNet): Promise<SequentialNet> {
  const ref = make();
  await ref.train(x, y, { batchSize: 20, onBatch: (b) => { if (b.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
  return ref;
}

const same = (a: SequentialNet, b: SequentialNet, trainingState: boolean) =>
  Buffer.from(a.save({ trainingState })).equals(Buffer.from(b.save({ trainingState })));

const [x, y] = data(100);

describe('callbacks against a running train()', () => {
  for (const workers of [1, 2]) {
    it(`a learning rate set to NaN in onBatch stops the next batch before any layer moves (workers: ${workers})`, async () => {
      // Reference: exactly two batches trained.
      const ref = net();
      await ref.train(x, y, { batchSize: 20, onBatch: (b) => { if (b.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
      const a = net();
      const last = a.layers[4].optimizers()[0];
      const e = await a
        .train(x, y, { batchSize: 20, workers, onBatch: (b) => { if (b.batch === 1) last.lr = Number.NaN; } })
        .catch((err) => err);
      expect(e).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(/^training stopped: Adam lr must be .*NaN.* at epoch 1, batch 3 of 5; the network keeps the weights it had before this batch/);
      last.lr = 0.01;
      // Weights and every optimizer's moments are those after batch 2: nothing of batch 3 was applied.
      expect(Buffer.from(a.save({ trainingState: true })).equals(Buffer.from(ref.save({ trainingState: true })))).toBe(true);
      a.dispose();
      ref.dispose();
    });
  }

  it('dispose() from onBatch ends train() with a DisposedError and leaves no buffer behind', async () => {
    const before = wasmBytesInUse();
    const a = net();
    const e = await a.train(x, y, { batchSize: 20, onBatch: (b) => { if (b.batch === 1) a.dispose(); } }).catch((err) => err);
    expect(e).toBeInstanceOf(DisposedError);
    expect(wasmBytesInUse()).toBe(before);
  });

  it('dispose() from onBatch with workers ends them too, and leaves no buffer behind', async () => {
    const before = wasmBytesInUse();
    const a = net();
    const e = await a.train(x, y, { batchSize: 20, workers: 2, onBatch: (b) => { if (b.batch === 1) a.dispose(); } }).catch((err) => err);
    expect(e).toBeInstanceOf(DisposedError);
    expect(wasmBytesInUse()).toBe(before);
  });

  it('dispose() from onEpoch does the same', async () => {
    const before = wasmBytesInUse();
    const a = net();
    const e = await a.train(x, y, { batchSize: 20, epochs: 3, onEpoch: () => a.dispose() }).catch((err) => err);
    expect(e).toBeInstanceOf(DisposedError);
    expect(wasmBytesInUse()).toBe(before);
  });

  it('add* from onBatch is refused: the structure cannot change while train() runs', async () => {
    const a = net();
    const e = await a.train(x, y, { batchSize: 20, onBatch: () => a.addDense(3) }).catch((err) => err);
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/add: the network is training/);
    expect(a.layers).toHaveLength(5);
    // After train() the network is whole and takes layers again.
    await a.train(x, y, { batchSize: 20 });
    a.addDense(2);
    a.dispose();
  });

  it('a second train() while one runs is refused, and the first finishes', async () => {
    const a = net();
    const first = a.train(x, y, { batchSize: 20, epochs: 2 });
    await expect(a.train(x, y, { batchSize: 20 })).rejects.toThrow(/already training/);
    expect(await first).toHaveLength(2);
    a.dispose();
  });
});

describe('a failure inside a batch leaves the network as before that batch', () => {
  for (const [what, make] of [['dropout\'s step', net], ['batch norm\'s running statistics', bnNet]] as const) {
    it(`a kernel trap in the forward or backward passes: weights, optimizers and ${what} as after the batch before`, async () => {
      const ref = await twoBatches(make);
      const a = make();
      const e = await trainIntoTrap(a, 'wn_count_correct');
      expect((e as Error).message).toBe('wn_count_correct trapped');
      expect(same(a, ref, true)).toBe(true);
      a.dispose();
      ref.dispose();
    });
  }

  it('an update that traps after some layers moved: every layer gets its weights back, dropout its step', async () => {
    const ref = await twoBatches(net);
    const a = net();
    // Layers update in order: layers.0.w, .b, layers.2.w, .b, then dropout advances its step, then layers.4.w traps.
    const e = await trainIntoTrap(a, 'wn_adam', 5);
    expect((e as Error).message).toBe('wn_adam trapped');
    // The optimizers' moments are left as the failed update made them (guards.ts); the model is as before the batch.
    expect(same(a, ref, false)).toBe(true);
    expect(a.layers[3].trainingState()).toEqual(ref.layers[3].trainingState());
    a.dispose();
    ref.dispose();
  });
});
