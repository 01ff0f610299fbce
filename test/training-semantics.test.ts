// What the training loop promises that a plausible mistake would quietly break: every epoch
// reshuffles, Rng.shuffle is uniform, and the losses it reports are means, as lossOn computes them.
import { describe, expect, it } from 'vitest';
import { Adam, ReLU, Rng, SequentialNet, SoftMax, Tensor } from 'wasmnet';

const busy = (ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end; );
};

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

  it('accuracy is right answers over the batch (onBatch) and over the epoch; seconds are wall-clock seconds; images per second follow', async () => {
    const a = net();
    // Batch 0 is samples 0–39 (no shuffle), computed before any update: its right answers are the untrained network's.
    const first = a.measure(x.slice(0, 40), y.slice(0, 40)).accuracy;
    expect(first * 40).toBeGreaterThan(0);
    const batches: { accuracy: number; size: number }[] = [];
    const t0 = performance.now();
    const [h] = await a.train(x, y, { batchSize: 40, shuffle: false, onBatch: (b) => batches.push(b) });
    const wall = (performance.now() - t0) / 1000;
    expect(batches[0].accuracy).toBeCloseTo(first, 12);
    for (const b of batches) expect(Math.abs(b.accuracy * b.size - Math.round(b.accuracy * b.size))).toBeLessThan(1e-9); // a count over the batch's size
    const right = batches.reduce((s, b) => s + Math.round(b.accuracy * b.size), 0);
    expect(h.accuracy).toBeCloseTo(right / 120, 12);
    expect(h.seconds).toBeGreaterThan(0);
    expect(h.seconds).toBeLessThanOrEqual(wall);
    expect(h.imagesPerSecond * h.seconds).toBeCloseTo(120, 6);
    expect(h.lr).toBe(0.01);
    a.dispose();
  });

  it('the learning rate reported is 0 for a network without optimizers', async () => {
    const a = new SequentialNet([4], { seed: 1 });
    a.addDropout(0.25);
    const [h] = await a.train(Tensor.oneHot([0, 1, 2, 3], 4), Tensor.oneHot([0, 1, 2, 3], 4), { batchSize: 2 });
    expect(h.lr).toBe(0);
    a.dispose();
  });

  it('train() lets the event loop run about every 50 ms, and not after every batch', async () => {
    // Each batch takes ≥ 3 ms (the callback waits): 40 batches are ≥ 120 ms, so the loop must have yielded,
    // but at most once per 50 ms (a yield per batch costs time: setImmediate's turn, a page's timers).
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seen: { turns: number; at: number }[] = [];
    const a = net();
    try {
      await a.train(x, y, { batchSize: 3, shuffle: false, onBatch: () => { busy(3); seen.push({ turns, at: Date.now() }); } });
    } finally {
      ticking = false;
    }
    const last = seen[seen.length - 1];
    const ran = last.turns - seen[0].turns;
    expect(seen).toHaveLength(40);
    expect(ran).toBeGreaterThanOrEqual(1);
    expect(ran).toBeLessThanOrEqual((last.at - seen[0].at) / 50 + 2);
    a.dispose();
  });
});
