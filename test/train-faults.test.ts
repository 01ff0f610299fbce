// What a callback can do to a running train(): a bad learning rate stops the batch whole, dispose()
// leaks nothing, and the structure cannot change under the loop.
import { describe, expect, it } from 'vitest';
import { Adam, DisposedError, ReLU, Rng, SequentialNet, SoftMax, Tensor, ValueError, init, wasmBytesInUse } from 'wasmnet';

await init();

function data(n: number): [Tensor, Tensor] {
  const rng = new Rng(3);
  const x = new Tensor(Float32Array.from({ length: n * 36 }, () => rng.uniform()), [n, 1, 6, 6]);
  return [x, Tensor.oneHot(Array.from({ length: n }, () => rng.int(3)), 3)];
}

function net(): SequentialNet {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(8, { afun: new ReLU(), optim: new Adam(0.01) });
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

const [x, y] = data(100);

describe('callbacks against a running train()', () => {
  for (const workers of [1, 2]) {
    it(`a learning rate set to NaN in onBatch stops the next batch before any layer moves (workers: ${workers})`, async () => {
      // Reference: exactly two batches trained.
      const ref = net();
      await ref.train(x, y, { batchSize: 20, onBatch: (b) => { if (b.batch === 1) throw new Error('stop'); } }).catch(() => undefined);
      const a = net();
      const last = a.layers[3].optimizers()[0];
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
    expect(a.layers).toHaveLength(4);
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
