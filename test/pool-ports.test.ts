// The worker pool (`ts/parallel/pool.ts`) against replicas served on this thread (`serveReplica`, by message, as
// without shared memory), so that a test can make any worker fail at any point: when it starts, while a step's
// update is under way, when it hands back its weights. Real threads can only fail where `poolTestHooks` says
// (test/parallel.test.ts); these are the pool's other paths: which failure the error names, what the network
// keeps, and that no port is left running. The library is imported from its sources (the pool's spawn is
// replaced); the .wasm from dist/.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReplicaReply, ReplicaRequest, StepTiming, WorkerPort } from '../ts/parallel/protocol.js';

/** How the next pool's ports behave: `fault(rank)` may intercept a request (return true: swallowed). */
const ports = vi.hoisted(() => ({
  make: null as null | ((rank: number) => Promise<unknown>),
  spawned: 0,
}));

vi.mock('../ts/core/node-io.js', async (importOriginal) => ({
  ...(await importOriginal<Record<string, unknown>>()),
  spawnReplicaWorker: () => ports.make!(ports.spawned++),
}));

// Under `npm run mutate:ts`, the setup file has loaded the sources already (with the real spawn): load them afresh.
vi.resetModules();
const { init } = await import('../ts/core/wasm.js');
const { Adam, ReLU, Rng, SequentialNet, SoftMax, Tensor, WasmnetError, wasmBytesInUse } = await import('../ts/index.js');
const { poolStats, poolTestHooks } = await import('../ts/parallel/pool.js');
const { serveReplica } = await import('../ts/parallel/replica.js');
const { failureReport } = await import('../ts/parallel/protocol.js');

type Fault = (m: ReplicaRequest, port: InThread) => boolean | void;

/** A replica on this thread behind a `WorkerPort`: replies come a macrotask later, as from a thread. */
class InThread implements WorkerPort {
  dead = false;
  terminated = false;
  private listener: (m: ReplicaReply) => void = () => {};
  private readonly failure = failureReport();
  private readonly serve: (m: ReplicaRequest) => Promise<void>;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly rank: number,
    private readonly fault?: Fault,
  ) {
    this.serve = serveReplica(
      (m) => this.reply(m),
      () => this.die(),
    );
  }

  post(m: ReplicaRequest): void {
    if (this.dead || this.terminated) return;
    setTimeout(() => {
      if (this.fault?.(m, this)) return;
      this.queue = this.queue.then(() => (this.dead ? undefined : this.serve(m)));
    });
  }

  reply(m: ReplicaReply): void {
    if (m.type === 'replica-stepped' && stepTiming) m = { ...m, timing: stepTiming(this.rank) };
    setTimeout(() => !this.dead && !this.terminated && this.listener(m));
  }

  /** The thread ends (as `process.exit(70)` in the worker). */
  die(): void {
    this.dead = true;
    setTimeout(() => this.failure.fail('ended (exit code 70)'));
  }

  /** The thread ends, and the pool hears of it at once. */
  dieNow(): void {
    this.dead = true;
    this.failure.fail('ended (exit code 70)');
  }

  /** A thread on this thread keeps nothing alive. */
  hold(): void {}

  onMessage(listener: (m: ReplicaReply) => void): void {
    this.listener = listener;
  }

  onFailure = (listener: (reason: string) => void): void => this.failure.listen(listener);

  async terminate(): Promise<void> {
    this.failure.closing();
    this.terminated = true;
  }
}

let made: InThread[] = [];

/** When set, each step's reply carries these times instead of the measured ones (the benchmark's figures, exactly). */
let stepTiming: ((rank: number) => StepTiming) | null = null;

/** The next pool's ports: `faults[rank]` intercepts that rank's requests. */
function usePorts(faults: Record<number, Fault> = {}): void {
  made = [];
  ports.spawned = 0;
  ports.make = async (rank) => {
    const p = new InThread(rank, faults[rank]);
    made.push(p);
    return p;
  };
  poolTestHooks.messagesOnly = true;
}

/** Makes the port answer `m` with a `replica-error` of this name and message instead of serving it. */
const errorOn = (type: ReplicaRequest['type'], name: string, message: string, delay = 0, nth = 1): Fault => {
  let seen = 0;
  return (m, port) => {
    if (m.type !== type || ++seen !== nth) return false;
    setTimeout(() => port.reply({ type: 'replica-error', rank: port.rank, step: 0, name, message }), delay);
    return true;
  };
};

/** The first of `faults` that intercepts. */
const either =
  (...faults: Fault[]): Fault =>
  (m, port) =>
    faults.some((f) => f(m, port));

/** Makes the port's thread end when it receives `m` of this type (the `nth` one). */
const dieOn = (type: ReplicaRequest['type'], nth = 1, delay = 0): Fault => {
  let seen = 0;
  return (m, port) => {
    if (m.type !== type || ++seen !== nth) return false;
    setTimeout(() => port.die(), delay);
    return true;
  };
};

beforeAll(async () => {
  await init({ wasm: readFileSync(new URL('../dist/wasmnet.wasm', import.meta.url)) });
});

afterEach(() => {
  ports.make = null;
  stepTiming = null;
  poolTestHooks.messagesOnly = false;
});

function data(n: number) {
  const rng = new Rng(6);
  const x = new Tensor(Float32Array.from({ length: n * 36 }, () => rng.uniform()), [n, 1, 6, 6]);
  return [x, Tensor.oneHot(Array.from({ length: n }, () => rng.int(3)), 3)] as const;
}

function net() {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

/** The same with batch norm, whose shards meet (by message here) at every step. */
function bnNet() {
  const n = new SequentialNet([1, 6, 6], { seed: 4 });
  n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
  n.addBatchNorm({ momentum: 0.5, optim: new Adam(0.01) });
  n.addFlatten();
  n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
  return n;
}

const [x, y] = data(120);
const weights = (n: InstanceType<typeof SequentialNet>) => Buffer.from(n.save({ trainingState: false })).toString('base64');

/** The weights after `batches` batches of 40 in-process (epoch 1; 0: the whole epoch). */
async function after(batches: number): Promise<string> {
  const n = net();
  await n
    .train(x, y, { batchSize: 40, epochs: 1, onBatch: (b) => { if (b.batch + 1 === batches) throw new Error('stop'); } })
    .catch(() => undefined);
  const w = weights(n);
  n.dispose();
  return w;
}

/** The weights of a network not trained at all. */
function untrained(): string {
  const n = net();
  const w = weights(n);
  n.dispose();
  return w;
}

/** Trains a fresh network with 2 workers (batches of 40, one epoch); the error and the network. */
async function failing(faults: Record<number, Fault>, workers = 2) {
  usePorts(faults);
  const n = net();
  const error = await n.train(x, y, { batchSize: 40, epochs: 1, workers }).then(
    () => null,
    (e: Error) => e,
  );
  return { error, n };
}

describe('the worker pool, its workers on this thread', () => {
  it('trains as one worker does when nothing fails (the fake ports are faithful)', async () => {
    usePorts();
    const a = net();
    await a.train(x, y, { batchSize: 40, epochs: 1, workers: 2 });
    expect(weights(a)).toBe(await after(0));
    // With the training state: the replicas' Adam moments come back too (sync adopts worker 1's state).
    const b = net();
    await b.train(x, y, { batchSize: 40, epochs: 1 });
    expect(Buffer.from(a.save()).equals(Buffer.from(b.save()))).toBe(true);
    b.dispose();
    // A clean run keeps its workers, idle, until the network is disposed.
    expect(made.some((p) => p.terminated)).toBe(false);
    a.dispose();
    expect(made.every((p) => p.terminated)).toBe(true);
  });

  it('gives one worker\'s history (loss, accuracy) and weights by message, under a learning-rate schedule, with batch norm, dropout or neither', async () => {
    // Batches of 100 are 4 shards (32, 32, 32, 4): each worker runs two, the second from the middle of its rows.
    const run = async (workers: number, build: () => InstanceType<typeof SequentialNet>) => {
      if (workers > 1) usePorts();
      const n = build();
      const history = await n.train(x, y, { batchSize: 100, epochs: 2, workers, lrSchedule: (epoch: number, lr: number) => lr / (epoch + 1) });
      const result = { history: history.map((e) => [e.loss, e.accuracy]), weights: weights(n) };
      n.dispose();
      return result;
    };
    const dropoutNet = () => {
      const n = new SequentialNet([1, 6, 6], { seed: 4 });
      n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
      n.addDropout(0.5);
      n.addFlatten();
      n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
      return n;
    };
    for (const build of [net, bnNet, dropoutNet]) {
      const one = await run(1, build);
      const two = await run(2, build);
      expect(two).toEqual(one);
      expect(one.history[1][1]).toBeGreaterThan(0);
    }
  });

  it('a batch-norm network whose worker fails in its second step, after the step\'s first meeting, keeps the weights and running statistics after the first step', async () => {
    const ref = bnNet();
    await ref.train(x, y, { batchSize: 40, epochs: 1, onBatch: (b) => { if (b.batch === 0) throw new Error('stop'); } }).catch(() => undefined);
    // Each step meets twice (the forward statistics, the backward sums): the third meeting is the second step's first.
    // Worker 0 goes on past it (its running statistics move), worker 1 fails: worker 0 must undo before handing back.
    usePorts({ 1: errorOn('replica-exchange', 'WasmnetError', 'injected', 0, 3) });
    const n = bnNet();
    const error = await n.train(x, y, { batchSize: 40, epochs: 1, workers: 2 }).then(() => null, (e: Error) => e);
    expect(error).toBeInstanceOf(WasmnetError);
    // The worker's own failure, not the meeting check's: the pool stops meeting once a worker has failed.
    expect(error!.message).toBe('training stopped: worker 2 of 2 failed at epoch 1, batch 2 of 3: injected; the network keeps the weights it had before this batch');
    expect(weights(n)).toBe(weights(ref));
    n.dispose();
    ref.dispose();
  });

  it('an idle worker releases its replica: its network, shard copies, checkpoint and gradient tree go back to wasm memory', async () => {
    // The replicas here share this thread's wasm memory, so what a released replica keeps shows in wasmBytesInUse.
    // A first training allocates the scratch every later one shares (640 KiB, kept): measure from after it.
    const warm = bnNet();
    await warm.train(x, y, { batchSize: 40, epochs: 1 });
    warm.dispose();
    for (const make of [net, bnNet]) {
      usePorts();
      const before = wasmBytesInUse();
      const n = make();
      await n.train(x, y, { batchSize: 40, epochs: 1, workers: 2 });
      n.dispose();
      // The pool went idle and posted 'replica-release'; each port serves it a macrotask later.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(wasmBytesInUse(), make.name).toBe(before);
    }
  });

  it("sums the steps' times for the benchmark as poolStats says: the slowest worker's compute, the mean wait and reduce, the longest whole step", async () => {
    usePorts();
    // Worker 0: 10 ms computing, 1 waiting, 100 summing; worker 1: 20, 2, 200; claims 0 and 1.
    stepTiming = (rank) => ({ compute: 10 * (rank + 1), wait: 1 + rank, reduce: 100 * (rank + 1), claimed: rank });
    const n = net();
    await n.train(x, y, { batchSize: 40, epochs: 1, workers: 2 });
    n.dispose();
    // 3 steps of 40.
    const { steps, compute, wait, reduce, busy, claimed, computeByRank } = poolStats;
    expect({ steps, compute, wait, reduce, busy, claimed, computeByRank }).toEqual({
      steps: 3, compute: 3 * 20, wait: 3 * 1.5, reduce: 3 * 150, busy: 3 * 222, claimed: [0, 3], computeByRank: [3 * 10, 3 * 20],
    });
  });

  it('a worker that cannot be started: the ones started are ended, and the error says why', async () => {
    for (const [thrown, said] of [
      [new Error('no threads'), 'no threads'],
      ['no threads', 'no threads'],
      [null, 'null'],
    ] as const) {
      made = [];
      ports.spawned = 0;
      ports.make = async (rank) => {
        if (rank === 1) throw thrown;
        const p = new InThread(rank);
        made.push(p);
        return p;
      };
      const a = net();
      const e = await a.train(x, y, { batchSize: 40, epochs: 1, workers: 2 }).catch((err) => err);
      expect(e).toBeInstanceOf(WasmnetError);
      expect(e.message).toBe(`starting 2 training workers failed: ${said}`);
      expect(made.map((p) => p.terminated)).toEqual([true]);
      a.dispose();
    }
  });

  it('a worker that fails while starting: its error, its class named; every port ended; the network unchanged', async () => {
    const { error, n } = await failing({ 1: errorOn('replica-init', 'InitError', 'no memory') });
    expect(error).toBeInstanceOf(WasmnetError);
    expect(error!.message).toBe('training stopped: worker 2 of 2 failed while starting: InitError: no memory; the network is unchanged');
    expect(made.map((p) => p.terminated)).toEqual([true, true]);
    expect(weights(n)).toBe(untrained());
    n.dispose();
  });

  it('a worker whose thread ends while starting: "it ended", no class named', async () => {
    const { error, n } = await failing({ 0: dieOn('replica-init') });
    expect(error!.message).toBe('training stopped: worker 1 of 2 failed while starting: it ended (exit code 70); the network is unchanged');
    n.dispose();
  });

  it('every worker ending alike is still a failure of the workers, not an error of the batch', async () => {
    // Deterministic errors (every replica rejects the batch) keep their own class and message; deaths do not.
    const { error, n } = await failing({ 0: dieOn('replica-init'), 1: dieOn('replica-init') });
    expect(error!.message).toBe('training stopped: worker 1 of 2 failed while starting: it ended (exit code 70); the network is unchanged');
    n.dispose();
  });

  it('a worker that dies after the others updated: the network keeps the weights after that batch, and says so', async () => {
    // By message the step's second half is `replica-reduce`: worker 2 dies on the second batch's.
    const { error, n } = await failing({ 1: dieOn('replica-reduce', 2) });
    expect(error!.message).toBe(
      'training stopped: worker 2 of 2 failed at epoch 1, batch 2 of 3: it ended (exit code 70); the other workers had finished this batch, so the network keeps the weights after it',
    );
    expect(weights(n)).toBe(await after(2));
    n.dispose();
  });

  it('no worker left to hand back its weights: the network keeps those of its last completed epoch, and says so', async () => {
    // Worker 1 fails the second batch; asked for its weights, each worker dies.
    const { error, n } = await failing({
      0: either(errorOn('replica-step', 'ValueError', 'bad batch', 0, 2), dieOn('replica-state')),
      1: dieOn('replica-state'),
    });
    expect(error!.message).toBe(
      'training stopped: worker 1 of 2 failed at epoch 1, batch 2 of 3: ValueError: bad batch; no worker survived to hand back its weights, so the network keeps those of the end of its last completed epoch',
    );
    expect(weights(n)).toBe(untrained());
    n.dispose();
  });

  it('a worker that dies handing back the weights at the end of an epoch', async () => {
    // Only worker 1 is asked for the trained weights.
    const { error, n } = await failing({ 0: dieOn('replica-state') });
    expect(error!.message).toBe(
      'training stopped: worker 1 of 2 failed while handing back the trained weights: it ended (exit code 70); the network keeps the weights of the end of its last completed epoch',
    );
    expect(weights(n)).toBe(untrained());
    n.dispose();
  });

  it('names the worker that died, or that failed on its own, before one that stopped because another failed', async () => {
    // Worker 1 reports a failure first, worker 2 a death after it: the death is named.
    let r = await failing({ 0: errorOn('replica-step', 'ValueError', 'bad batch'), 1: dieOn('replica-step', 1, 20) });
    expect(r.error!.message).toMatch(/^training stopped: worker 2 of 2 failed at epoch 1, batch 1 of 3: it ended \(exit code 70\); /);
    r.n.dispose();
    // Worker 1 reports that it stopped (a barrier aborted), worker 2 its own failure after it: that is named, with its class.
    r = await failing({ 0: errorOn('replica-step', 'StepAborted', 'stopped: another worker failed'), 1: errorOn('replica-step', 'ValueError', 'bad batch', 20) });
    expect(r.error!.message).toBe('training stopped: worker 2 of 2 failed at epoch 1, batch 1 of 3: ValueError: bad batch; the network keeps the weights it had before this batch');
    expect(weights(r.n)).toBe(untrained());
    r.n.dispose();
  });

  it('a worker that died between steps is not waited for', async () => {
    // Worker 2's thread ends after the first batch (from onBatch, before the second is posted): the second
    // batch fails at once rather than wait for it.
    usePorts();
    const n = net();
    const error = await n
      .train(x, y, { batchSize: 40, epochs: 1, workers: 2, onBatch: (b) => { if (b.batch === 0) made[1].dieNow(); } })
      .catch((e) => e);
    expect(error.message).toMatch(/^training stopped: worker 2 of 2 failed at epoch 1, batch 2 of 3: it ended \(exit code 70\); the network keeps the weights it had before this batch$/);
    n.dispose();
  }, 10_000);

  it("shards that do not meet at the same layer (a worker answers a batch-norm step with its nodes) are a wasmnet bug, said so", async () => {
    // With batch norm, by message, each worker answers a step with its shards' sums at the first meeting; worker 2
    // answers with its (empty) gradient nodes, as if its shards had no meeting.
    usePorts({
      1: (m, port) => {
        if (m.type !== 'replica-step') return false;
        port.reply({ type: 'replica-nodes', rank: 1, step: m.step, first: 1, nodes: [], losses: [], correct: [] });
        return true;
      },
    });
    const n = new SequentialNet([1, 6, 6], { seed: 4 });
    n.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new Adam(0.01) });
    n.addBatchNorm({ optim: new Adam(0.01) });
    n.addFlatten();
    n.addDense(3, { afun: new SoftMax(), optim: new Adam(0.01) });
    const error = await n.train(x, y, { batchSize: 40, epochs: 1, workers: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(WasmnetError);
    expect(error.message).toBe("the workers' shards did not meet at the same layer at epoch 1, batch 1 of 3 (a wasmnet bug)");
    expect(made.every((p) => p.terminated)).toBe(true);
    n.dispose();
  });

  it("a port's failure is reported once, and not at all once the pool is closing it", () => {
    const heard: string[] = [];
    const r = failureReport();
    r.listen((reason) => heard.push(reason));
    r.fail('ended (exit code 1)');
    r.fail('threw Error: later');
    expect(heard).toEqual(['ended (exit code 1)']);
    const closed = failureReport();
    closed.listen((reason) => heard.push(reason));
    closed.closing();
    closed.fail('ended (exit code 1)');
    expect(heard).toEqual(['ended (exit code 1)']);
  });
});
