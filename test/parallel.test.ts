// Data-parallel training (`train({ workers })`): the same bits for any number of workers, the
// network intact when a worker fails, no worker left behind.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Adam, MeanSquaredError, ReLU, SGD, SequentialNet, SoftMax, Tanh, Tensor, ValueError, WasmnetError, courseCnn, init } from 'wasmnet';
import { idleWorkerCount, poolStats, poolTestHooks, workerLife } from 'wasmnet/internal';
import { pictures } from './helpers/pictures.js';

await init();

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** n random 1×12×12 pictures and one-hot labels of 5 classes. */
const data = (n: number, seed: number) => pictures(n, seed, 12, 5);

/** Every kind of layer that trains in shards: padded strided conv, both poolings, dropout, dense. */
function smallNet(seed = 3): SequentialNet {
  const net = new SequentialNet([1, 12, 12], { seed });
  net.addConv2D([6, 3, 3], { padding: 1, afun: new ReLU(), optim: new Adam(0.01) });
  net.addPool2D([2, 2]);
  net.addConv2D([8, 3, 3], { stride: 1, afun: new Tanh(), optim: new SGD(0.05, { momentum: 0.9 }) });
  net.addAvgPool2D([2, 2]);
  net.addFlatten();
  net.addDropout(0.2);
  net.addDense(20, { afun: new ReLU(), optim: new Adam(0.01) });
  net.addDense(5, { afun: new SoftMax(), optim: new Adam(0.01) });
  return net;
}

/** The model file (weights, optimizer moments, dropout's step, the order) after training with `workers`. */
async function trainedWith(workers: number | 'auto', batchSize: number, n: number, make = () => smallNet(), messagesOnly = false): Promise<string> {
  const [x, y] = data(n, 11);
  const net = make();
  poolTestHooks.messagesOnly = messagesOnly;
  try {
    await net.train(x, y, { batchSize, epochs: 2, workers });
    return sha(net.save({ trainingState: true }));
  } finally {
    net.dispose();
  }
}

describe('train({ workers }): the same bits for any number of workers', () => {
  // Shards are 32 samples (at most 16 shards a batch). Batch 64 splits into 2 shards; 100 into 4 (the last
  // short, the tail shard with 2 or 3 workers) with a last batch of 50 samples; 37 into 2 shards, fewer than 3 or
  // 4 workers; 300 is one batch of 10 shards, 3 of them a tail claimed as workers free up; 600 is 16 shards of 38,
  // a tail of 4.
  for (const [batchSize, n] of [
    [64, 256],
    [100, 250],
    [37, 111],
    [300, 300],
    [600, 600],
  ]) {
    it(`batch ${batchSize}, ${n} samples: workers 1, 2, 3 and 4 give identical model files`, async () => {
      const one = await trainedWith(1, batchSize, n);
      for (const w of [2, 3, 4]) expect(await trainedWith(w, batchSize, n), `workers: ${w}`).toBe(one);
    });
  }

  it('holds without shared memory too (rows and gradients by message, as in a page that is not cross-origin isolated)', async () => {
    // Batch 300: 10 shards, which by message are all owned (no tail: that needs shared memory).
    for (const [batchSize, n] of [
      [64, 256],
      [37, 111],
      [300, 300],
    ]) {
      const one = await trainedWith(1, batchSize, n);
      for (const w of [2, 3]) expect(await trainedWith(w, batchSize, n, undefined, true), `batch ${batchSize}, workers: ${w}, by message`).toBe(one);
    }
  });

  it('holds with MSE loss (the unfused loss path) and for workers: "auto"', async () => {
    const mse = () => {
      const net = new SequentialNet([1, 12, 12], { seed: 9, loss: new MeanSquaredError() });
      net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
      net.addPool2D([2, 2]);
      net.addFlatten();
      net.addDense(5, { afun: new Tanh(), optim: new Adam(0.01) });
      return net;
    };
    const one = await trainedWith(1, 64, 200, mse);
    expect(await trainedWith(2, 64, 200, mse)).toBe(one);
    expect(await trainedWith('auto', 64, 200, mse)).toBe(one);
  });

  it('reports the same loss and accuracy per epoch as one worker', async () => {
    const [x, y] = data(200, 4);
    const runs = [];
    for (const workers of [1, 3]) {
      const net = smallNet();
      const batches: number[] = [];
      const history = await net.train(x, y, { batchSize: 50, epochs: 2, workers, onBatch: (b) => batches.push(b.loss) });
      runs.push({ history: history.map((e) => [e.loss, e.accuracy]), batches });
      net.dispose();
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a slow worker leaves the tail shards to the other, whichever it is, and the bits do not move', async () => {
    // Batch 600: 16 shards, 12 owned (6 each), 4 claimed. The slow worker (a test hook) starts its own shards
    // only once the other has claimed the whole tail: the batch's losses, the tree and the weights must not
    // care who computed what.
    const [x, y] = data(1200, 11);
    const run = async (workers: number, slowRank: number | null) => {
      const net = smallNet();
      poolTestHooks.slowRank = slowRank;
      try {
        const batches: number[] = [];
        const history = await net.train(x, y, { batchSize: 600, epochs: 2, workers, onBatch: (b) => batches.push(b.loss) });
        return { model: sha(net.save({ trainingState: true })), history: history.map((e) => [e.loss, e.accuracy]), batches };
      } finally {
        net.dispose();
      }
    };
    const one = await run(1, null);
    for (const slow of [1, 0]) {
      expect(await run(2, slow), `worker ${slow + 1} slow: the model file, every batch's loss, each epoch's loss and accuracy`).toEqual(one);
      // 2 epochs of 2 batches, each with 4 tail shards, all claimed by the fast worker.
      expect(poolStats.claimed, `worker ${slow + 1} slow`).toEqual(slow === 1 ? [16, 0] : [0, 16]);
    }
  });
});

describe('train({ workers }): one wasm memory for all workers (the threads core)', () => {
  /** The model file and whether the pool's workers shared one memory, training smallNet with `workers`. */
  async function run(workers: number, batchSize: number, n: number, hooks: Partial<typeof poolTestHooks> = {}) {
    const [x, y] = data(n, 11);
    const net = smallNet();
    Object.assign(poolTestHooks, hooks);
    try {
      await net.train(x, y, { batchSize, epochs: 2, workers });
      return { model: sha(net.save({ trainingState: true })), inPlace: workers > 1 && poolStats.inPlace };
    } finally {
      net.dispose(); // its workers end with it: the next run starts a pool of its own kind
    }
  }

  // Batch 64: two shards, one node each; 300 with 3 workers: own nodes and a tail of claimed shards; 100 with 4: a
  // short last shard and a last batch of 50.
  for (const [workers, batchSize, n] of [
    [2, 64, 256],
    [3, 300, 600],
    [4, 100, 250],
  ]) {
    it(`${workers} workers at batch ${batchSize}: nodes read where they are give the bits of copied nodes and of one worker`, async () => {
      const one = await run(1, batchSize, n);
      const inPlace = await run(workers, batchSize, n);
      const copied = await run(workers, batchSize, n, { separateMemories: true });
      expect(inPlace.inPlace, 'Node has SharedArrayBuffer and the threads core is built: the workers share one memory').toBe(true);
      expect(copied.inPlace, 'separateMemories: each worker its own memory').toBe(false);
      expect(inPlace.model).toBe(one.model);
      expect(copied.model).toBe(one.model);
    });
  }

  it('a worker that sums late, while the others run a step ahead, still gets the bits: what they published stays until it has read it', async () => {
    // One worker of 3 sleeps after each step's barrier before it sums: the others sum, update and compute the next
    // step's gradients meanwhile, in buffers of their trees. Were a published buffer reused before the late one read
    // it, it would sum the next step's gradient into this one and its weights would leave the others'. Worker 1's
    // state is what the network takes at the end (the last step's corruption shows); worker 2's spreads to it.
    const one = await run(1, 300, 600);
    for (const [rank, ms] of [
      [0, 40],
      [1, 5],
    ]) {
      const late = await run(3, 300, 600, { lateReader: { rank, ms } });
      expect(late.inPlace).toBe(true);
      expect(late.model, `worker ${rank + 1} late by ${ms} ms`).toBe(one.model);
    }
  });
});

describe('train({ workers }): workers are kept between calls', () => {
  const [x, y] = data(128, 5);

  /** Two runs of one epoch, with `between` changing the network in between; the model file after them. */
  async function twoRuns(workers: number, between: (net: SequentialNet) => void): Promise<{ file: string; started: number }> {
    const net = smallNet();
    const started = workerLife.started;
    await net.train(x, y, { batchSize: 64, epochs: 1, workers });
    between(net);
    await net.train(x, y, { batchSize: 64, epochs: 1, workers });
    const result = { file: sha(net.save({ trainingState: true })), started: workerLife.started - started };
    net.dispose();
    return result;
  }

  it('the next call reuses them, starting from the network as it is then (its weights and settings changed in between)', async () => {
    const change = (net: SequentialNet) => {
      net.layers[6].parameters()[0].value.view()[7] = 0.25;
      (net.layers[7].optimizers()[0] as Adam).lr = 0.003;
    };
    const one = await twoRuns(1, change);
    const two = await twoRuns(2, change);
    expect(two.started).toBe(2);
    expect(two.file).toBe(one.file);
    // Without the change the files differ: the change reached the workers.
    expect((await twoRuns(2, () => {})).file).not.toBe(one.file);
  });

  it('dispose() ends them; another worker count ends them and starts new ones', async () => {
    const net = smallNet();
    const { started, ended } = workerLife;
    await net.train(x, y, { batchSize: 64, workers: 2 });
    expect(idleWorkerCount(net)).toBe(2);
    await net.train(x, y, { batchSize: 64, workers: 3 });
    expect(idleWorkerCount(net)).toBe(3);
    expect([workerLife.started - started, workerLife.ended - ended]).toEqual([5, 2]);
    // One worker trains in-process and leaves the idle ones for a later call with three.
    await net.train(x, y, { batchSize: 64, workers: 1 });
    expect(idleWorkerCount(net)).toBe(3);
    net.dispose();
    expect(idleWorkerCount(net)).toBe(0);
    expect([workerLife.started - started, workerLife.ended - ended]).toEqual([5, 5]);
  });

  it('they end by themselves once idle for WORKERS_IDLE_MS', async () => {
    const net = smallNet();
    const { ended } = workerLife;
    poolTestHooks.idleMs = 20;
    try {
      await net.train(x, y, { batchSize: 64, workers: 2 });
    } finally {
      poolTestHooks.idleMs = null;
    }
    for (let i = 0; i < 100 && idleWorkerCount(net) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(idleWorkerCount(net)).toBe(0);
    expect(workerLife.ended - ended).toBe(2);
    net.dispose();
  });

  it('another network with as many workers takes them, with the bits of fresh workers; the last user\'s dispose() ends them', async () => {
    const first = smallNet();
    await first.train(x, y, { batchSize: 64, workers: 2 });
    expect([idleWorkerCount(first), idleWorkerCount()]).toEqual([2, 2]);
    const trainSecond = async (workers: number) => {
      const net = smallNet(9);
      await net.train(x, y, { batchSize: 64, epochs: 2, workers });
      return net;
    };
    const alone = await trainSecond(1);
    const { started, ended } = workerLife;
    const second = await trainSecond(2);
    expect(workerLife.started - started, 'no worker started: the first network\'s idle workers trained the second').toBe(0);
    expect(sha(second.save({ trainingState: true }))).toBe(sha(alone.save({ trainingState: true })));
    expect([idleWorkerCount(first), idleWorkerCount(second), idleWorkerCount()]).toEqual([0, 2, 2]);
    first.dispose();
    expect(idleWorkerCount(second), 'the first network no longer owns them').toBe(2);
    second.dispose();
    expect(idleWorkerCount()).toBe(0);
    expect(workerLife.ended - ended).toBe(2);
    alone.dispose();
  });

  it('networks trained at the same time keep at most maxIdleWorkers idle, the newest pool(s)', async () => {
    const nets = [smallNet(), smallNet(4), smallNet(5)];
    const { started, ended } = workerLife;
    poolTestHooks.maxIdleWorkers = 4;
    try {
      await Promise.all(nets.map((net) => net.train(x, y, { batchSize: 64, workers: 2 })));
    } finally {
      poolTestHooks.maxIdleWorkers = null;
    }
    expect(workerLife.started - started, 'three pools at once').toBe(6);
    expect(idleWorkerCount(), 'two pools of 2 fit under 4').toBe(4);
    expect(workerLife.ended - ended, 'the oldest pool ended').toBe(2);
    expect(nets.map((net) => idleWorkerCount(net)).filter((n) => n === 2)).toHaveLength(2);
    // The next run with 2 workers takes the newest idle pool and leaves the other one idle: none started or ended.
    const [startedBefore, endedBefore] = [workerLife.started, workerLife.ended];
    poolTestHooks.maxIdleWorkers = 4;
    try {
      await nets[2].train(x, y, { batchSize: 64, workers: 2 });
    } finally {
      poolTestHooks.maxIdleWorkers = null;
    }
    expect([idleWorkerCount(), workerLife.started - startedBefore, workerLife.ended - endedBefore], 'idle, started, ended').toEqual([4, 0, 0]);
    // A pool larger than the cap is still kept: alone.
    poolTestHooks.maxIdleWorkers = 1;
    try {
      await nets[0].train(x, y, { batchSize: 64, workers: 3 });
    } finally {
      poolTestHooks.maxIdleWorkers = null;
    }
    expect([idleWorkerCount(nets[0]), idleWorkerCount()], 'the 3-pool alone: the pools of 2 ended when it started').toEqual([3, 3]);
    for (const net of nets) net.dispose();
    expect(idleWorkerCount()).toBe(0);
    expect(workerLife.started - started - (workerLife.ended - ended)).toBe(0);
  });

  it('a failed run ends them: the next call starts new workers', async () => {
    const net = smallNet();
    await net.train(x, y, { batchSize: 64, workers: 2 });
    const { started, ended } = workerLife;
    poolTestHooks.failAt = { rank: 0, step: 1, how: 'throw' };
    await expect(net.train(x, y, { batchSize: 64, workers: 2 })).rejects.toThrow(/injected failure/);
    expect(idleWorkerCount(net)).toBe(0);
    expect(workerLife.ended - ended).toBe(2);
    await net.train(x, y, { batchSize: 64, workers: 2 });
    expect(workerLife.started - started).toBe(2);
    net.dispose();
  });
});

describe('train({ workers }): faults', () => {
  const [x, y] = data(200, 8);

  /** The model file of a network trained with one worker for exactly `steps` steps of batch 40. */
  async function after(steps: number): Promise<string> {
    const net = smallNet();
    await net
      .train(x, y, {
        batchSize: 40,
        epochs: 1,
        onBatch: (b) => {
          if (b.batch + 1 === steps) throw new Error('stop');
        },
      })
      .catch(() => undefined);
    const s = sha(net.save({ trainingState: false }));
    net.dispose();
    return s;
  }

  for (const [how, messagesOnly] of [
    ['throw', false],
    ['exit', false],
    ['exit', true],
  ] as const) {
    it(`a worker that ${how === 'throw' ? 'throws' : 'dies'}${messagesOnly ? ' (rows and gradients by message)' : ''} stops training with a WasmnetError naming it and the batch; the weights are those before that batch`, async () => {
      const net = smallNet();
      poolTestHooks.failAt = { rank: 1, step: 3, how };
      poolTestHooks.messagesOnly = messagesOnly;
      const error = await net.train(x, y, { batchSize: 40, epochs: 1, workers: 3 }).catch((e) => e);
      expect(error).toBeInstanceOf(WasmnetError);
      expect(error.message).toMatch(/worker 2 of 3 failed at epoch 1, batch 3 of 5/);
      expect(error.message).toMatch(how === 'throw' ? /injected failure/ : /exit code/);
      expect(error.message).toMatch(/keeps the weights it had before this batch/);
      expect(sha(net.save({ trainingState: false }))).toBe(await after(2));
      // The network trains on afterwards, in-process and with workers.
      await net.train(x, y, { batchSize: 40, epochs: 1, workers: 2 });
      net.dispose();
    });
  }

  it('a worker whose core traps inside the allocator (its lock held, in the memory all workers share) stops training with a WasmnetError naming it: the others fail at the lock instead of waiting on it', async () => {
    const before = smallNet();
    const untrained = sha(before.save({ trainingState: false }));
    before.dispose();
    const net = smallNet();
    // Step 1: the others allocate their step's buffers after the trap.
    poolTestHooks.failAt = { rank: 1, step: 1, how: 'trap-in-allocator' };
    const error = await net.train(x, y, { batchSize: 40, epochs: 1, workers: 3 }).catch((e) => e);
    expect(poolStats.inPlace, 'the workers shared one memory (the threads core)').toBe(true);
    expect(error).toBeInstanceOf(WasmnetError);
    expect(error.message).toMatch(/worker 2 of 3 failed at epoch 1, batch 1 of 5: internal error in the wasm kernel wn_free \(memory access out of bounds\)/);
    expect(sha(net.save({ trainingState: false }))).toBe(untrained);
    expect(idleWorkerCount(net)).toBe(0);
    // The network trains on afterwards, with new workers in a new memory.
    await net.train(x, y, { batchSize: 40, epochs: 1, workers: 3 });
    net.dispose();
  }, 30_000);

  it('a worker whose core traps inside the allocator while the replicas load stops training before it begins, naming that worker; the network is unchanged', async () => {
    const net = smallNet();
    const untrained = sha(net.save({ trainingState: true }));
    poolTestHooks.failAt = { rank: 2, step: 0, how: 'trap-in-allocator' };
    const error = await net.train(x, y, { batchSize: 40, epochs: 1, workers: 3 }).catch((e) => e);
    expect(error).toBeInstanceOf(WasmnetError);
    expect(error.message).toMatch(/^training stopped: worker 3 of 3 failed while starting: internal error in the wasm kernel wn_free \(memory access out of bounds\).*; the network is unchanged$/);
    expect(sha(net.save({ trainingState: true }))).toBe(untrained);
    await net.train(x, y, { batchSize: 40, epochs: 1, workers: 3 });
    net.dispose();
  }, 30_000);

  /** Keeps this thread busy for `ms` (a slow callback, or other work of the page or process). */
  const busy = (ms: number) => {
    for (const until = Date.now() + ms; Date.now() < until; );
  };

  // Step 3 is posted while step 2 runs: the worker dies in it before this thread asks for it, or while it still
  // awaits step 2. Either way the failure is step 3's (not step 2's, which every worker finished), and no one waits
  // for the dead worker's reply.
  for (const [workers, when] of [
    [2, 'the next batch is asked for'],
    [3, 'the next batch is asked for'],
    [3, 'the batch before it is over'],
  ] as const) {
    it(`a worker that dies in the batch posted ahead, before ${when} (${workers} workers), stops training at that batch with its weights before it`, async () => {
      const net = smallNet();
      poolTestHooks.failAt = { rank: 1, step: 3, how: 'exit' };
      const slowly = when === 'the next batch is asked for';
      const error = await net
        .train(x, y, {
          batchSize: 40,
          epochs: 1,
          workers,
          onBatch: (b) => {
            if (slowly && b.batch === 1) busy(300);
            if (!slowly && b.batch === 0) setTimeout(() => busy(600), 0);
          },
        })
        .catch((e) => e);
      expect(error).toBeInstanceOf(WasmnetError);
      expect(error.message).toMatch(new RegExp(`worker 2 of ${workers} failed at epoch 1, batch 3 of 5: it ended .*keeps the weights it had before this batch`));
      expect(sha(net.save({ trainingState: false }))).toBe(await after(2));
      net.dispose();
    }, 30_000);
  }

  it('a learning rate changed in a slow onBatch acts on the very next batch, as with one worker (the step posted ahead waits for it)', async () => {
    const trained = async (workers: number) => {
      const net = smallNet();
      await net.train(x, y, {
        batchSize: 40,
        epochs: 1,
        workers,
        onBatch: (b) => {
          if (b.batch !== 1) return;
          // Long enough for the workers to finish computing batch 3 (posted while batch 2 ran) before it is confirmed.
          busy(200);
          for (const l of net.layers) for (const o of l.optimizers()) o.lr /= 10;
        },
      });
      const s = sha(net.save({ trainingState: true }));
      net.dispose();
      return s;
    };
    expect(await trained(2)).toBe(await trained(1));
  }, 30_000);

  /** With batch norm, whose shards run in copies of the network made from a model file even with one worker. */
  const batchNormNet = () => {
    const net = new SequentialNet([1, 12, 12], { seed: 3 });
    net.addConv2D([4, 3, 3], { optim: new Adam(0.01) });
    net.addBatchNorm({ afun: new ReLU(), optim: new Adam(0.01) });
    net.addFlatten();
    net.addDense(5, { afun: new SoftMax(), optim: new Adam(0.01) });
    return net;
  };

  for (const [name, make] of [['', smallNet], [' (batch norm)', batchNormNet]] as const) it(`a rate set before train()${name}: 0 (a frozen layer) trains with the same bits, NaN, −1 or text (even "0.01") stops with the same error, as with one worker`, async () => {
    const outcome = async (workers: number, lr: number) => {
      const net = make();
      const initial = sha(net.save({ trainingState: false }));
      const optim = net.layers[0].optimizers()[0];
      optim.lr = lr;
      const e = await net.train(x, y, { batchSize: 40, epochs: 1, workers }).catch((err: unknown) => err);
      optim.lr = 0.01; // a rate a file holds, to compare the weights
      const weights = sha(net.save({ trainingState: false }));
      net.dispose();
      return { error: e instanceof Error ? `${e.constructor.name}: ${e.message}` : null, weights, unchanged: weights === initial };
    };
    const frozen = await outcome(1, 0);
    expect(frozen).toMatchObject({ error: null, unchanged: false });
    expect(await outcome(2, 0)).toEqual(frozen);
    for (const lr of [NaN, -1]) {
      const one = await outcome(1, lr);
      expect(one).toMatchObject({
        error: `ValueError: training stopped: Adam lr must be a finite number ≥ 0, got ${lr} at epoch 1, batch 1 of 5; the network keeps the weights it had before this batch; lower the learning rate or check the data for huge values`,
        unchanged: true,
      });
      expect(await outcome(2, lr)).toEqual(one);
    }
    // A rate that is not a number (a form field's text): refused, and shown as it is, as with one worker, by
    // shared memory and by message alike ('0.01' too, which a Float64Array would have taken for 0.01; '$&' and
    // 'got ' in it stay as they are).
    for (const lr of ['abc', '0.01', '$& got 1'] as unknown as number[]) {
      const one = await outcome(1, lr);
      expect(one).toMatchObject({ error: expect.stringContaining(`Adam lr must be a finite number ≥ 0, got ${JSON.stringify(lr)} at epoch 1, batch 1 of 5;`), unchanged: true });
      expect(await outcome(2, lr), `lr ${JSON.stringify(lr)}`).toEqual(one);
      poolTestHooks.messagesOnly = true;
      expect(await outcome(2, lr), `lr ${JSON.stringify(lr)}, by message`).toEqual(one);
    }
  }, 60_000);

  it('a callback that throws while a step is posted ahead ends the workers (none is left waiting), and the next train() works', async () => {
    const net = smallNet();
    const error = await net
      .train(x, y, { batchSize: 40, epochs: 1, workers: 2, onBatch: (b) => { if (b.batch === 1) throw new Error('stop here'); } })
      .catch((e) => e);
    expect(error.message).toBe('stop here');
    // Batch 3 was posted to the workers and never confirmed: keeping them idle would keep them waiting for it.
    expect(idleWorkerCount(net)).toBe(0);
    await net.train(x, y, { batchSize: 40, epochs: 1, workers: 2 });
    expect(sha(net.save({ trainingState: false }))).toMatch(/^[0-9a-f]{64}$/);
    net.dispose();
  }, 30_000);

  // SGD's overflow is found by the checkpoint's scan after the update (at whichever batch it comes); Adam's by Adam
  // itself as it writes (no scan), at the first batch: lr / (1 − β1) is past float32 at the first step.
  for (const [optimizer, batchSize, lastOptim, message] of [
    ['SGD', 40, () => new SGD(1e38), /^training stopped: .* at epoch 1, batch \d of 5; the network keeps the weights it had before this batch/],
    ['Adam', 64, () => new Adam(1e38), /^training stopped: the update made layers\.2\.(w|b) overflow at epoch 1, batch 1 of 4; the network keeps the weights it had before this batch/],
  ] as const) {
    it(`a batch that every replica rejects (an ${optimizer} update overflows) keeps its class and message and the weights of before it, as with one worker`, async () => {
      const outcomes = [];
      for (const workers of [1, 2]) {
        const net = new SequentialNet([1, 12, 12], { seed: 2 });
        net.addConv2D([4, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
        net.addFlatten();
        net.addDense(5, { afun: new SoftMax(), optim: lastOptim() });
        const initial = sha(net.save({ trainingState: false }));
        const e = await net.train(x, y, { batchSize, epochs: 1, workers }).catch((err) => err);
        expect(e).toBeInstanceOf(ValueError);
        expect(e.message).toMatch(message);
        // Stopped at its first batch: the weights it keeps are the initial ones.
        if (/batch 1 of/.test(e.message)) expect(sha(net.save({ trainingState: false }))).toBe(initial);
        outcomes.push({ message: e.message, weights: sha(net.save({ trainingState: false })) });
        net.dispose();
      }
      expect(outcomes[1]).toEqual(outcomes[0]);
    });
  }

  it('refuses bad workers values with a clear error', async () => {
    const net = smallNet();
    for (const workers of [0, -1, 1.5, 'two', 1000, null, Number.NaN]) {
      await expect(net.train(x, y, { workers: workers as never }), String(workers)).rejects.toThrow(/workers must be an integer from 1 to 256 or 'auto'/);
    }
    net.dispose();
  });

  it('leaves no worker running: a Node process that trained with workers exits by itself', () => {
    const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
    const internal = join(import.meta.dirname, '..', 'dist', 'internal.js');
    // The network is not disposed: its two workers stay, idle, for a next call (for an hour here, so that only
    // their not holding the process can end it before the spawn's timeout), and must not hold the process.
    const script = `
      import { init, Tensor, courseCnn } from ${JSON.stringify(dist)};
      import { idleWorkerCount, poolTestHooks } from ${JSON.stringify(internal)};
      await init();
      poolTestHooks.idleMs = 3_600_000;
      const x = new Tensor(new Float32Array(64 * 784).fill(0.5), [64, 1, 28, 28]);
      const y = new Tensor(new Float32Array(64 * 10).fill(0.1), [64, 10]);
      const net = courseCnn({ seed: 1 });
      await net.train(x, y, { batchSize: 32, epochs: 1, workers: 2 });
      console.log('trained, idle workers:', idleWorkerCount(net));`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('trained, idle workers: 2');
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
