// The worker pool's edges (`ts/parallel/pool.ts`), beyond test/parallel.test.ts's bits: when it may share memory,
// what it counts for the benchmark, how many workers 'auto' is, and the errors it hands back. Small and fast:
// 1×6×6 pictures, a batch of 300 (10 shards of 30: 7 owned, 3 a tail that shared memory leaves to be claimed).
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { Adam, ReLU, SequentialNet, SoftMax, init } from 'wasmnet';
import { poolStats, poolTestHooks, resetPoolStats } from 'wasmnet/internal';
// Not exported: its bounds are tested here (256 real workers would be too many threads for a test).
import { MAX_WORKERS, resolveWorkers } from '../ts/parallel/pool.js';
import { pictures } from './helpers/pictures.js';

await init();

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const data = (n: number) => pictures(n, 5, 6, 3);

function net(): SequentialNet {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

const [x, y] = data(300);

/** Trains a fresh network for 2 epochs of one batch of 300; the model file's hash, each epoch's loss and accuracy. */
async function trained(workers: number | 'auto'): Promise<string> {
  const a = net();
  try {
    const history = await a.train(x, y, { batchSize: 300, epochs: 2, workers });
    return `${sha(a.save({ trainingState: true }))} ${JSON.stringify(history.map((e) => [e.loss, e.accuracy]))}`;
  } finally {
    a.dispose();
  }
}

/** The 2 steps of `trained` in `poolStats`: every time ≥ 0, and a worker's whole step inside the network's step, inside train(). */
function expectStepTimesWithin(elapsed: number): void {
  expect(poolStats.steps).toBe(2);
  for (const k of ['compute', 'wait', 'reduce', 'busy', 'step'] as const) expect(poolStats[k], k).toBeGreaterThanOrEqual(0);
  expect(poolStats.compute).toBeGreaterThan(0);
  expect(poolStats.compute).toBeLessThanOrEqual(poolStats.busy);
  expect(poolStats.busy).toBeLessThanOrEqual(poolStats.step);
  expect(poolStats.step).toBeLessThanOrEqual(elapsed);
}

describe('the worker pool', () => {
  it('shares memory only where it can: a page without cross-origin isolation, or no SharedArrayBuffer, sends rows by message', async () => {
    const one = await trained(1);
    // Node shares memory: the 3 tail shards of each of the 2 steps are claimed.
    expect(await trained(2)).toBe(one);
    expect(poolStats.claimed.reduce((s, c) => s + c, 0)).toBe(6);
    const g = globalThis as { crossOriginIsolated?: boolean };
    g.crossOriginIsolated = false;
    try {
      expect(await trained(2)).toBe(one);
      // By message every shard is owned: none is claimed.
      expect(poolStats.claimed).toEqual([0, 0]);
    } finally {
      delete g.crossOriginIsolated;
    }
    const sab = Object.getOwnPropertyDescriptor(globalThis, 'SharedArrayBuffer')!;
    delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
    try {
      expect(await trained(2)).toBe(one);
      expect(poolStats.claimed).toEqual([0, 0]);
    } finally {
      Object.defineProperty(globalThis, 'SharedArrayBuffer', sab);
    }
  });

  it("counts each step's times and claims for the benchmark, from zero for each pool", async () => {
    await trained(3);
    const before = performance.now();
    await trained(2);
    const elapsed = performance.now() - before;
    expectStepTimesWithin(elapsed);
    expect(poolStats.claimed).toHaveLength(2);
    expect(poolStats.claimed.reduce((s, c) => s + c, 0)).toBe(6);
  });

  it("counts each step's times by message too, within the same bounds", async () => {
    const before = performance.now();
    poolTestHooks.messagesOnly = true;
    await trained(2);
    const elapsed = performance.now() - before;
    expectStepTimesWithin(elapsed);
    // By message nothing is claimed: each worker computes its own shards.
    expect(poolStats.claimed).toEqual([0, 0]);
  });

  it('by message too, each epoch reports the loss and accuracy of one worker (every shard counted once)', async () => {
    const one = await trained(1);
    poolTestHooks.messagesOnly = true;
    expect(await trained(2)).toBe(one);
    poolTestHooks.messagesOnly = true;
    expect(await trained(3)).toBe(one);
  });

  it('workers start from the whole training state: Adam moments of an earlier train() carry over', async () => {
    const twice = async (second: number) => {
      const a = net();
      try {
        await a.train(x, y, { batchSize: 100, epochs: 1 });
        await a.train(x, y, { batchSize: 100, epochs: 1, workers: second });
        return sha(a.save({ trainingState: true }));
      } finally {
        a.dispose();
      }
    };
    expect(await twice(2)).toBe(await twice(1));
  });

  it('takes 1 to 256 workers', async () => {
    expect(MAX_WORKERS).toBe(256);
    expect(await resolveWorkers(undefined)).toBe(1);
    expect(await resolveWorkers(1)).toBe(1);
    expect(await resolveWorkers(256)).toBe(256);
    for (const bad of [0, 257, 2.5, '2', null]) await expect(resolveWorkers(bad), String(bad)).rejects.toThrow(/workers must be an integer from 1 to 256 or 'auto', got /);
    expect(await resolveWorkers('auto')).toBe(Math.min(256, availableParallelism()));
  });

  it("workers: 'auto' is the cores this process may use, at least 1 and at most 256, on any machine", async () => {
    // A stand-in node:os, so that a machine (or a taskset) with one core still tells the bounds apart.
    for (const [cores, workers] of [[3, 3], [0, 1], [300, 256]]) {
      const os = { availableParallelism: () => cores, cpus: () => [] };
      vi.doMock('node:os', () => ({ ...os, default: os }));
      vi.resetModules();
      try {
        const fresh = await import('../ts/parallel/pool.js');
        expect(await fresh.resolveWorkers('auto'), `${cores} cores`).toBe(workers);
      } finally {
        vi.doUnmock('node:os');
        vi.resetModules();
      }
    }
  });

  it("workers: 'auto' is one worker per core", async () => {
    resetPoolStats(); // one worker trains in-process, and counts nothing
    await trained('auto');
    const cores = Math.min(256, availableParallelism());
    if (cores > 1) expect(poolStats.claimed).toHaveLength(cores);
  });
});
