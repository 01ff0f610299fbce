// Batch norm in shards (`train/together.ts`): a step in shards is the step in one piece (the statistics are the
// whole batch's), and the same bits for any number of workers, with shared memory and by message; a worker that
// fails half-way through a step leaves the network as it was, running statistics included.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNormLayer, type Optimizer, ReLU, Rng, SGD, SequentialNet, SoftMax, Tanh, Tensor, WasmnetError, init } from 'wasmnet';
import { exchangePlan, poolTestHooks } from 'wasmnet/internal';

await init();

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** n random 1×12×12 pictures and one-hot labels of 5 classes. */
function data(n: number, seed: number): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const x = new Tensor(Float32Array.from({ length: n * 144 }, () => 2 * rng.uniform() + 0.5), [n, 1, 12, 12]);
  const y = new Tensor(new Float32Array(n * 5), [n, 5]);
  for (let i = 0; i < n; i++) y.data[i * 5 + rng.int(5)] = 1;
  return [x, y];
}

/** Batch norm on [c, h, w] (folded into the pooling's backward) and on [f], with dropout between. */
function bnNet(seed = 4, optim: () => Optimizer = () => new Adam(0.01), dropout = true): SequentialNet {
  const net = new SequentialNet([1, 12, 12], { seed });
  net.addConv2D([6, 3, 3], { padding: 1, afun: new Tanh(), optim: optim() });
  net.addBatchNorm({ afun: new ReLU(), optim: optim(), momentum: 0.3 });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(20, { afun: new Tanh(), optim: optim() });
  net.addBatchNorm({ optim: optim() });
  if (dropout) net.addDropout(0.2);
  net.addDense(5, { afun: new SoftMax(), optim: optim() });
  return net;
}

async function trainedWith(workers: number, batchSize: number, n: number, messagesOnly = false): Promise<string> {
  const [x, y] = data(n, 11);
  const net = bnNet();
  poolTestHooks.messagesOnly = messagesOnly;
  try {
    await net.train(x, y, { batchSize, epochs: 2, workers });
    return sha(net.save({ trainingState: true }));
  } finally {
    net.dispose();
  }
}

describe('batch norm in shards', () => {
  it('meets once per batch-norm layer in the forward pass and once more, in reverse, in the backward pass', () => {
    const net = bnNet();
    expect(exchangePlan(net)).toEqual([
      { layer: 1, kind: 'stats', floats: 12 },
      { layer: 5, kind: 'stats', floats: 40 },
      { layer: 5, kind: 'grads', floats: 40 },
      { layer: 1, kind: 'grads', floats: 12 },
    ]);
    net.dispose();
  });

  it('takes one step exactly as the batch in one piece: batch statistics, gradients through them, running statistics', async () => {
    // Batch 100 is 4 shards (32, 32, 32 and 4 samples): each shard's own statistics would be far from the batch's.
    const [x, y] = data(100, 5);
    const lr = 0.1;
    const net = bnNet(7, () => new SGD(lr), false);
    const ref = SequentialNet.load(net.save());
    for (const l of ref.layers) l.training = true;
    ref.computeGradients(x, y); // the one-piece kernels, tested against float64 and PyTorch in batchnorm.test.ts
    await net.train(x, y, { batchSize: 100, epochs: 1, shuffle: false });
    const got = net.parameters();
    ref.parameters().forEach((p, i) => {
      const before = p.value.view();
      const grad = p.grad.view();
      const after = got[i].value.view();
      const scale = Math.max(1e-3, ...Array.from(grad, Math.abs));
      for (let j = 0; j < before.length; j++) {
        expect(Math.abs(after[j] - (before[j] - lr * grad[j])), `${p.name}[${j}]`).toBeLessThan(1e-5 * lr * scale + 1e-7);
      }
    });
    for (const i of [1, 5]) {
      const [a, b] = [net.layers[i] as BatchNormLayer, ref.layers[i] as BatchNormLayer];
      for (const name of ['runningMean', 'runningVar'] as const) {
        const [u, v] = [a[name], b[name]];
        for (let j = 0; j < u.length; j++) expect(Math.abs(u[j] - v[j]), `layer ${i} ${name}[${j}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(v[j])));
      }
    }
    net.dispose();
    ref.dispose();
  });

  // 64: 2 shards; 37: 2 shards (fewer than 3 or 4 workers: a worker with none still meets), the last batch short;
  // 300 in batches of 300: 16 shards.
  for (const [batchSize, n] of [
    [64, 256],
    [37, 111],
    [300, 300],
  ]) {
    it(`batch ${batchSize}, ${n} samples: workers 1, 2, 3 and 4 give identical model files`, async () => {
      const one = await trainedWith(1, batchSize, n);
      for (const w of [2, 3, 4]) expect(await trainedWith(w, batchSize, n), `workers: ${w}`).toBe(one);
    });
  }

  it('holds without shared memory (the sums of every meeting by message)', async () => {
    for (const [batchSize, n] of [
      [64, 256],
      [37, 111],
    ]) {
      const one = await trainedWith(1, batchSize, n);
      for (const w of [2, 3]) expect(await trainedWith(w, batchSize, n, true), `batch ${batchSize}, workers: ${w}, by message`).toBe(one);
    }
  });

  for (const messagesOnly of [false, true]) {
    it(`a worker that fails after a meeting leaves the network as before the batch, running statistics included${messagesOnly ? ' (by message)' : ''}`, async () => {
      const [x, y] = data(200, 8);
      const reference = bnNet();
      await reference
        .train(x, y, {
          batchSize: 40,
          epochs: 1,
          onBatch: (b) => {
            if (b.batch + 1 === 2) throw new Error('stop');
          },
        })
        .catch(() => undefined);
      const net = bnNet();
      poolTestHooks.failAt = { rank: 1, step: 3, how: 'throw-after-meeting' };
      poolTestHooks.messagesOnly = messagesOnly;
      const error = await net.train(x, y, { batchSize: 40, epochs: 1, workers: 2 }).catch((e) => e);
      expect(error).toBeInstanceOf(WasmnetError);
      expect(error.message).toMatch(/worker 2 of 2 failed at epoch 1, batch 3 of 5: injected failure at step 3, after its shards met; the network keeps the weights it had before this batch/);
      expect(sha(net.save({ trainingState: false }))).toBe(sha(reference.save({ trainingState: false })));
      // It trains on afterwards, with workers and without.
      for (const workers of [2, 1]) await net.train(x, y, { batchSize: 40, epochs: 1, workers });
      net.dispose();
      reference.dispose();
    });
  }
});
