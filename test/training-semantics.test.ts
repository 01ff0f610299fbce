// What the training loop promises that a plausible mistake would quietly break: every epoch
// reshuffles, Rng.shuffle is uniform, and the losses it reports are means, as lossOn computes them.
import { describe, expect, it } from 'vitest';
import { Adam, ReLU, Rng, SequentialNet, SoftMax, Tensor } from 'wasmnet';

function net(): SequentialNet {
  const n = new SequentialNet([1, 6, 6], { seed: 12 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(4, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

const rng = new Rng(77);
const x = new Tensor(Float32Array.from({ length: 120 * 36 }, () => rng.uniform()), [120, 1, 6, 6]);
const y = Tensor.oneHot(Array.from({ length: 120 }, () => rng.int(4)), 4);

describe('training semantics', () => {
  it('every epoch visits the samples in a new order, each a permutation', async () => {
    const a = net();
    const orders: number[][] = [];
    await a.train(x, y, { batchSize: 30, epochs: 4, onEpoch: () => orders.push(Array.from((a as unknown as { order: Uint32Array }).order)) });
    for (const o of orders) expect([...o].sort((p, q) => p - q)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    for (let e = 1; e < orders.length; e++) expect(orders[e], `epoch ${e + 1} repeats epoch ${e}'s order`).not.toEqual(orders[e - 1]);
    // shuffle: false keeps the order
    const b = net();
    const kept: number[][] = [];
    await b.train(x, y, { batchSize: 30, epochs: 2, shuffle: false, onEpoch: () => kept.push(Array.from((b as unknown as { order: Uint32Array }).order)) });
    expect(kept[1]).toEqual(kept[0]);
    a.dispose();
    b.dispose();
  });

  it('Rng.shuffle is uniform: each of the 24 orders of 4 items about equally often, every item in every place', () => {
    const r = new Rng(5);
    const trials = 48_000;
    const counts = new Map<string, number>();
    const stays = [0, 0, 0, 0];
    for (let t = 0; t < trials; t++) {
      const a = r.shuffle([0, 1, 2, 3]);
      counts.set(a.join(), (counts.get(a.join()) ?? 0) + 1);
      a.forEach((v, i) => v === i && stays[i]++);
    }
    expect(counts.size).toBe(24);
    // χ² with 23 degrees of freedom: 49.7 is its 99.9 % quantile.
    const expected = trials / 24;
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(49.7);
    // An element stays where it was with probability 1/4 (a Sattolo-like off-by-one never leaves one in place).
    for (const s of stays) expect(Math.abs(s / trials - 0.25)).toBeLessThan(0.01);
  });

  it('the reported losses are batch means: measure() and valLoss equal lossOn, training loss matches its batches', async () => {
    const a = net();
    const [vx, vy] = [x.slice(0, 50), y.slice(0, 50)];
    const batchLosses: { loss: number; size: number }[] = [];
    const history = await a.train(x, y, { batchSize: 40, epochs: 1, shuffle: false, validationData: [vx, vy], onBatch: (b) => batchLosses.push(b) });
    const lossOn = a.lossOn(vx, vy);
    expect(a.measure(vx, vy).loss).toBeCloseTo(lossOn, 5);
    expect(a.measure(vx, vy, { batchSize: 7 }).loss).toBeCloseTo(lossOn, 5);
    expect(history[0].valLoss).toBeCloseTo(lossOn, 5);
    // Cross-entropy of 4 classes near the start is near ln 4 per sample, not 40 × that.
    expect(batchLosses[0].loss).toBeGreaterThan(0.5);
    expect(batchLosses[0].loss).toBeLessThan(3);
    const weighted = batchLosses.reduce((s, b) => s + b.loss * b.size, 0) / 120;
    expect(history[0].loss).toBeCloseTo(weighted, 10);
    a.dispose();
  });
});
