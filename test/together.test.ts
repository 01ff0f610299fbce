// Batch norm in shards (`train/together.ts`): a step in shards is the step in one piece (the statistics are the
// whole batch's), and the same bits for any number of workers, with shared memory and by message; a worker that
// fails half-way through a step leaves the network as it was, running statistics included.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNormLayer, type Optimizer, ReLU, Rng, SGD, SequentialNet, SoftMax, Tanh, Tensor, WasmnetError, init } from 'wasmnet';
import { GradientTree, ShardNets, exchangePlan, poolTestHooks, runShardsTogether, shardSize } from 'wasmnet/internal';

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

/** The model file's hash and each epoch's loss and accuracy after training with `workers`. */
async function trainedWith(workers: number, batchSize: number, n: number, messagesOnly = false): Promise<string> {
  const [x, y] = data(n, 11);
  const net = bnNet();
  poolTestHooks.messagesOnly = messagesOnly;
  try {
    const history = await net.train(x, y, { batchSize, epochs: 2, workers });
    for (const e of history) expect([e.loss, e.accuracy].every(Number.isFinite), JSON.stringify(e)).toBe(true);
    return `${sha(net.save({ trainingState: true }))} ${JSON.stringify(history.map((e) => [e.loss, e.accuracy]))}`;
  } finally {
    net.dispose();
  }
}

/** Fills a shard's rows from `(x, y)` in their own order. */
function gatherFrom(x: Tensor, y: Tensor) {
  const inLen = x.size / x.shape[0];
  const outLen = y.size / y.shape[0];
  return (from: number, rows: number, xb: { view(): Float32Array }, yb: { view(): Float32Array }) => {
    xb.view().set(x.data.subarray(from * inLen, (from + rows) * inLen));
    yb.view().set(y.data.subarray(from * outLen, (from + rows) * outLen));
  };
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

  /** A convolution with its ReLU and the max pooling after it (one kernel in each shard's passes), then batch norm. */
  const convPoolBnNet = (seed: number, optim: () => Optimizer): SequentialNet => {
    const net = new SequentialNet([1, 12, 12], { seed });
    net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: optim() });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(12, { afun: new Tanh(), optim: optim() });
    net.addBatchNorm({ optim: optim(), momentum: 0.3 });
    net.addDense(5, { afun: new SoftMax(), optim: optim() });
    return net;
  };
  const oneStepCases: [string, (seed: number, optim: () => Optimizer) => SequentialNet, number[]][] = [
    ['batch norm on [c, h, w] and on [f]', (seed, optim) => bnNet(seed, optim, false), [1, 5]],
    ['a convolution, its ReLU and max pooling in one kernel, then batch norm', convPoolBnNet, [4]],
  ];
  for (const [name, build, bnLayers] of oneStepCases) it(`takes one step exactly as the batch in one piece: batch statistics, gradients through them, running statistics (${name})`, async () => {
    // Batch 100 is 4 shards (32, 32, 32 and 4 samples): each shard's own statistics would be far from the batch's.
    const [x, y] = data(100, 5);
    const lr = 0.1;
    const net = build(7, () => new SGD(lr));
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
    for (const i of bnLayers) {
      const [a, b] = [net.layers[i] as BatchNormLayer, ref.layers[i] as BatchNormLayer];
      for (const name of ['runningMean', 'runningVar'] as const) {
        const [u, v] = [a[name], b[name]];
        for (let j = 0; j < u.length; j++) expect(Math.abs(u[j] - v[j]), `layer ${i} ${name}[${j}]`).toBeLessThan(1e-6 * Math.max(1, Math.abs(v[j])));
      }
    }
    net.dispose();
    ref.dispose();
  });

  it('keeps one copy of the network per shard, made once and reused, each with its own gradients', () => {
    const net = bnNet();
    const shardNets = new ShardNets(net);
    const two = shardNets.take(2);
    expect(shardNets.count).toBe(2);
    expect(shardNets.take(1)).toEqual([two[0]]);
    const three = shardNets.take(3);
    expect(shardNets.count).toBe(3);
    expect(three.slice(0, 2)).toEqual(two);
    // The network's values, borrowed; gradients of their own.
    const [mine, copy] = [net.parameters(), three[2].parameters()];
    mine.forEach((p, i) => {
      expect(copy[i].value.ptr).toBe(p.value.ptr);
      expect(copy[i].grad.ptr).not.toBe(p.grad.ptr);
    });
    const grads = mine.reduce((sum, p) => sum + 4 * p.grad.length, 0);
    expect(ShardNets.bytes(net, 3, 32)).toBe(3 * (net.batchBytes(32) + grads));
    shardNets.free();
    expect(shardNets.count).toBe(0);
    // The network keeps its parameters when its copies go.
    expect(Array.from(net.parameters()[0].value.view()).every(Number.isFinite)).toBe(true);
    net.dispose();
  });

  it("two replicas driven in one thread, each with half the shards, get one replica's gradients, losses and right answers", () => {
    // What workers do, without threads: each runs its shards to a meeting, the sums are put together in shard order.
    const m = 100; // 4 shards: 32, 32, 32 and 4 samples
    const [x, y] = data(m, 6);
    const gather = gatherFrom(x, y);
    const size = shardSize(m);
    const plan = { m, start: 0, size };
    const run = (ranges: [number, number][]) => {
      const nets = ranges.map(() => SequentialNet.load(bnNet(9).save()));
      for (const net of nets) for (const l of net.layers) l.training = true;
      const shardNets = nets.map((net) => new ShardNets(net));
      const trees = nets.map((net) => new GradientTree(net.parameters()));
      const losses: number[] = [];
      const correct: number[] = [];
      const steps = nets.map((net, w) => runShardsTogether(net, shardNets[w], plan, ...ranges[w], gather, true, trees[w], losses, correct));
      let results = steps.map((s) => s.next());
      while (!results[0].done) {
        const all = results.flatMap((r) => (r.done ? [] : r.value.partials));
        results = steps.map((s) => s.next(all));
      }
      expect(results.every((r) => r.done)).toBe(true);
      // The first replica sums its own nodes and the other's in shard order, as replicas do, into its gradients.
      const others = trees.slice(1).flatMap((t) => t.nodes().map((n) => ({ node: n.node, values: n.values.slice() })));
      for (const node of trees[0].takeNodes()) trees[0].pushOwn(node);
      for (const o of others) trees[0].pushNode(o.node, o.values);
      trees[0].finish();
      const grads = nets[0].parameters().map((p) => Array.from(p.grad.view()));
      const out = { losses, correct, grads, running: nets.map((net) => (net.layers[1] as BatchNormLayer).runningMean.slice()) };
      shardNets.forEach((s) => s.free());
      trees.forEach((t) => t.free());
      nets.forEach((net) => net.dispose());
      return out;
    };
    const one = run([[0, 4]]);
    const two = run([
      [0, 2],
      [2, 4],
    ]);
    expect(two.grads).toEqual(one.grads);
    expect(one.grads.flat().some((g) => g !== 0)).toBe(true);
    expect(two.losses).toEqual(one.losses);
    expect(two.correct).toEqual(one.correct);
    expect(one.correct.length).toBe(4);
    // Each replica took the batch's statistics into its running ones, as the one replica did.
    expect(two.running[0]).toEqual(one.running[0]);
    expect(two.running[1]).toEqual(one.running[0]);
    // A meeting given the wrong number of shards' sums is a bug, said as one.
    const net = SequentialNet.load(bnNet(9).save());
    const shardNets = new ShardNets(net);
    const tree = new GradientTree(net.parameters());
    const steps = runShardsTogether(net, shardNets, plan, 0, 2, gather, true, tree, [], []);
    const first = steps.next();
    expect(() => steps.next(first.done ? [] : first.value.partials)).toThrow(/a batch of 4 shards got 2 shards' sums \(a wasmnet bug\)/);
    shardNets.free();
    tree.free();
    net.dispose();
  });

  // 64: 2 shards; 100 in 250 samples: 4 shards, then a last batch of 50 in 2 (fewer copies than the batch before);
  // 37: 2 shards (fewer than 3 or 4 workers: a worker with none still meets), the last batch short;
  // 300 in batches of 300: 10 shards of 32, the last of 12 (no tail: batch norm's shards run in step);
  // 330: 11 shards, whose second half gives worker 2 of 2 four gradient-tree nodes, every slot it has (the most any
  // batch gives 2 workers: the shared memory is sized for exactly that).
  for (const [batchSize, n] of [
    [64, 256],
    [100, 250],
    [37, 111],
    [300, 300],
    [330, 330],
  ]) {
    it(`batch ${batchSize}, ${n} samples: workers 1, 2, 3 and 4 give identical model files, losses and accuracies`, async () => {
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
