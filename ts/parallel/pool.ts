/**
 * Data-parallel training: the network's side. A pool of replica workers
 * (`replica.ts`), each with its own wasm instance and a copy of the network,
 * computes every batch together; the dataset, the epoch's order and the
 * gradient nodes live in shared memory. The pool starts the workers, hands
 * each step to all of them, brings the network up to date at the end of each
 * epoch, and on any failure stops them all with the network as it was
 * before the failing batch.
 */
import { DisposedError, InitError, OutOfMemoryError, ShapeError, ValueError, WasmnetError, show } from '../core/errors.js';
import { cpuCount, spawnReplicaWorker } from '../core/node-io.js';
import type { Tensor } from '../core/tensor.js';
import { threadMemory, threadsModule, wasmModule } from '../core/wasm.js';
import type { SequentialNet } from '../network.js';
import type { NextStep, StepEngine } from '../train/loop.js';
import { MAX_SHARDS, maxNodesPerWorker, shardCount, shardSize, tailShards, workerShards } from '../train/shards.js';
import { saveForCopies } from '../train/copies.js';
import { maxExchangeFloats, trainsTogether } from '../train/together.js';
import {
  CTRL_CONFIRMED,
  type NodeMessage,
  type ReplicaReply,
  type ReplicaRequest,
  type ReplicaStep,
  type SharedMemory,
  type FailHow,
  type WorkerPort,
  abortSteps,
  ctrlLength,
} from './protocol.js';
import { type ReplicaState, adoptState } from './state.js';

/** More workers than this is a mistake, not a machine. */
export const MAX_WORKERS = 256;

/**
 * Test hooks (through `wasmnet/internal`), for the next pool only: make worker
 * `rank` fail at step `step` (with batch norm, 'throw-after-meeting' fails once
 * its shards have met the others' once; 'trap-in-allocator' traps inside wn_free, its lock held); pass rows and gradients by message as a page
 * without cross-origin isolation must; make worker `slowRank` start its own shards of each step only once the
 * others have claimed every tail shard (with shared memory: a worker far slower than the others).
 */
export const poolTestHooks: {
  failAt: { rank: number; step: number; how: FailHow } | null;
  messagesOnly: boolean;
  slowRank: number | null;
  /** How long idle workers wait for the next run, instead of `WORKERS_IDLE_MS` (stays until changed). */
  idleMs: number | null;
  /** The most idle workers kept, instead of one per core (stays until changed). */
  maxIdleWorkers: number | null;
  /** The next pool started gives each worker a wasm memory of its own (the plain core): the nodes are then copied. */
  separateMemories: boolean;
  /** Make worker `rank` sleep `ms` after each step's barrier before it sums the others' nodes (they run ahead meanwhile). */
  lateReader: { rank: number; ms: number } | null;
} = { failAt: null, messagesOnly: false, slowRank: null, idleMs: null, maxIdleWorkers: null, separateMemories: false, lateReader: null };

/** Whether this thread can share memory with its workers (Node; a cross-origin isolated page). */
function canShareMemory(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/**
 * Where the steps of the last pool's training went (milliseconds, summed over
 * steps): the benchmark prints them per step beside the speed-up. `compute`
 * is the slowest worker's shards, `wait` and `reduce` the workers' mean time
 * at the barrier (and for the network's confirmation) and in summing and
 * updating, `busy` the longest worker's whole step, `step` the whole step as
 * the network saw it (`step − busy` is messaging, below 0 when a step posted
 * ahead began before the network asked for it); `claimed[rank]` counts the
 * tail shards each worker claimed. `inPlace`: the last pool started shares one wasm memory (the threads core), so
 * its workers read each other's nodes where they are.
 */
export const poolStats = { steps: 0, step: 0, compute: 0, wait: 0, reduce: 0, busy: 0, claimed: [] as number[], computeByRank: [] as number[], inPlace: false };

/** Workers started and ended over this process's life (tests check that a network's next run reuses its workers). */
export const workerLife = { started: 0, ended: 0 };

/** Starts `poolStats` over (a new pool does; the benchmark does after its warm-up steps). */
export function resetPoolStats(): void {
  Object.assign(poolStats, { steps: 0, step: 0, compute: 0, wait: 0, reduce: 0, busy: 0, claimed: [], computeByRank: [] });
  // inPlace stays: it is the pool's, not its steps'.
}

/** `workers` as a count: 1 when absent, the available cores for 'auto'. */
export async function resolveWorkers(workers: unknown): Promise<number> {
  if (workers === undefined) return 1;
  if (workers === 'auto') return Math.min(MAX_WORKERS, Math.max(1, await cpuCount()));
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new ValueError(`workers must be an integer from 1 to ${MAX_WORKERS} or 'auto', got ${show(workers)}`);
  }
  return workers;
}

/** A copy of `data` in shared memory, or `data` itself when it already is. */
function shared(data: Float32Array): Float32Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return copy;
}

// A worker's errors cross as name + message; the network's caller gets the same class back.
const ERROR_CLASSES: Record<string, new (message: string) => WasmnetError> = { ShapeError, ValueError, DisposedError, OutOfMemoryError, InitError };

export async function startWorkerPool(
  net: SequentialNet,
  x: Tensor,
  y: Tensor,
  workers: number,
  labelsAreDistributions: boolean,
  batchSize: number,
): Promise<StepEngine> {
  const n = x.shape[0];
  // The most tail shards a step of this run leaves to be claimed (its batches and its last, shorter one); none with batch norm.
  const tailSlots = trainsTogether(net) ? 0 : Math.max(...[Math.min(n, batchSize), n % batchSize || batchSize].map((m) => tailShards(shardCount(m), workers)));
  const floats = net.parameters().reduce((s, p) => s + p.value.length, 0);
  const messagesOnly = poolTestHooks.messagesOnly || !canShareMemory();
  const { failAt, slowRank, separateMemories, lateReader } = poolTestHooks;
  Object.assign(poolTestHooks, { failAt: null, messagesOnly: false, slowRank: null, separateMemories: false, lateReader: null });
  let pool = takeIdlePool(workers);
  if (!pool) {
    // Where memory can be shared, every worker an instance of the threads core in one memory: they read each other's
    // gradients where they were computed. Else (or without the threads core) each has the plain core and its memory.
    const threadsCore = !separateMemories && canShareMemory() ? await threadsModule() : null;
    const memory = threadsCore ? threadMemory(workers) : null;
    const threads = threadsCore && memory ? { module: threadsCore, memory } : null;
    const ports: WorkerPort[] = [];
    try {
      for (let rank = 0; rank < workers; rank++) {
        ports.push(await spawnReplicaWorker());
        workerLife.started++;
      }
    } catch (e) {
      await Promise.all(ports.map((p) => p.terminate()));
      throw new WasmnetError(`starting ${workers} training workers failed: ${(e as Error)?.message ?? String(e)}`);
    }
    pool = new WorkerPool(ports, threads);
  }
  // With one wasm memory, the workers publish their nodes' addresses: no buffers to copy them through.
  const inPlace = pool.threads !== null;
  const nodeSlots = maxNodesPerWorker(workers);
  // One copy of the dataset for all workers, where memory can be shared; else each step sends each worker its rows.
  const memory: SharedMemory | null = messagesOnly
    ? null
    : {
        x: shared(x.data),
        y: shared(y.data),
        order: new Uint32Array(new SharedArrayBuffer(4 * n)),
        ctrl: new Int32Array(new SharedArrayBuffer(4 * ctrlLength(workers, nodeSlots))),
        // Each twice: steps use the halves in turn (`stepRegion`).
        stats: new Float64Array(new SharedArrayBuffer(2 * 8 * 2 * MAX_SHARDS)),
        grads: new Float32Array(new SharedArrayBuffer(inPlace ? 0 : 2 * 4 * workers * nodeSlots * floats)),
        nodeSlots,
        lrs: new Float64Array(new SharedArrayBuffer(8 * Math.max(1, net.layers.reduce((s, l) => s + l.optimizers().length, 0)))),
        tail: new Float32Array(new SharedArrayBuffer(inPlace ? 0 : 2 * 4 * tailSlots * floats)),
        exchange: trainsTogether(net) ? new Float64Array(new SharedArrayBuffer(8 * 2 * MAX_SHARDS * maxExchangeFloats(net))) : null,
        exchangeSlot: maxExchangeFloats(net),
      };
  const model = saveForCopies(net, true);
  const threads = pool.threads;
  const module = threads?.module ?? wasmModule();
  pool.begin(net, memory, x, y);
  resetPoolStats();
  poolStats.inPlace = inPlace && memory !== null;
  try {
    // A kept worker drops its last run's replica and takes this one: every run starts from the network's bits.
    await pool.all('replica-ready', (rank) => ({
      type: 'replica-init',
      rank,
      workers,
      module,
      model,
      shared: memory,
      labelsAreDistributions,
      failAt: failAt && failAt.rank === rank ? { step: failAt.step, how: failAt.how } : null,
      waitsForTail: slowRank === rank,
      readsLate: lateReader?.rank === rank ? lateReader.ms : 0,
      threads: threads ? { memory: threads.memory, slot: rank, inPlace } : null,
    }));
    pool.throwIfFailed('while starting', 'the network is unchanged');
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pool;
}

/**
 * How long workers are kept after `train` resolves: the next call with as many workers (an epoch-by-epoch loop, a
 * playground's next run, the next network of a sweep) then starts at once instead of starting threads and copies
 * of the core again. Idle workers keep no Node process alive; `dispose()` of the network that used them last ends them.
 */
export const WORKERS_IDLE_MS = 10_000;

/**
 * The process's idle pools, oldest first, each with the timer that ends it. Any network may take one: a kept worker
 * drops its replica and loads the next run's network from a model file, so the bits are those of a fresh worker.
 */
const idlePools: { pool: WorkerPool; timer: ReturnType<typeof setTimeout> }[] = [];

/**
 * The most idle workers the process keeps: one per core, or one pool however large. More would only hold memory
 * (each has its wasm instance at its peak size), since pools of one size serve every network in turn.
 */
async function maxIdleWorkers(size: number): Promise<number> {
  return Math.max(poolTestHooks.maxIdleWorkers ?? (await cpuCount()), size);
}

/**
 * The newest healthy idle pool of `workers` workers, for the next run of any network (it is then busy again); idle pools of other sizes,
 * and unhealthy ones, end: a process trains with one worker count at a time, as a rule.
 */
function takeIdlePool(workers: number): WorkerPool | null {
  let taken: WorkerPool | null = null;
  for (const { pool } of [...idlePools].reverse()) {
    if (!taken && pool.size === workers && pool.healthy) taken = removeIdlePool(pool);
    else if (pool.size !== workers || !pool.healthy) void removeIdlePool(pool)?.end();
  }
  taken?.hold(true);
  return taken;
}

/** Takes `pool` off the idle list, if it is there, and stops its timer. */
function removeIdlePool(pool: WorkerPool): WorkerPool | null {
  const i = idlePools.findIndex((idle) => idle.pool === pool);
  if (i < 0) return null;
  clearTimeout(idlePools[i].timer);
  idlePools.splice(i, 1);
  return pool;
}

/** How many idle workers the process keeps, or only those that `net` used last (0: none). */
export function idleWorkerCount(net?: SequentialNet): number {
  return idlePools.reduce((n, { pool }) => n + (!net || pool.lastNet === net ? pool.size : 0), 0);
}

/** Ends the idle workers that `net` used last, now (its `dispose()`). */
export function endIdleWorkers(net: SequentialNet): void {
  for (const { pool } of idlePools.filter((idle) => idle.pool.lastNet === net)) void removeIdlePool(pool)?.end();
}

interface Failure {
  rank: number;
  name: string;
  message: string;
  /** The worker is gone (its thread ended or threw outside a message). */
  died: boolean;
  /** The step that failed (0: none, e.g. while starting); a worker that died fails the first step it had not answered. */
  step: number;
}

// With shared memory, one step's replies: steps are posted one ahead, so a worker may answer the next before the network awaits it.
interface StepRecord {
  replies: (ReplicaReply | undefined)[];
  /** Ranks that answered, failed or died. */
  settled: Set<number>;
  done: (() => void) | null;
}

/** A network's workers: started for a `train` call, kept idle between calls (`WORKERS_IDLE_MS`), ended on any failure. */
class WorkerPool implements StepEngine {
  private stepNumber = 0;
  // With shared memory: the last step posted (one ahead of `stepNumber` while the loop runs on), and the replies of steps not yet awaited.
  private posted = 0;
  private readonly records = new Map<number, StepRecord>();
  private failures: Failure[] = [];
  private readonly dead = new Set<number>();
  private waiting: { types: ReplicaReply['type'][]; replies: (ReplicaReply | undefined)[]; settled: Set<number>; done: () => void } | null = null;

  /** Without shared memory: the epoch's order, to gather each worker's rows. */
  private order: Uint32Array | null = null;
  /** This run's memory and data (`begin`). */
  private shared: SharedMemory | null = null;
  private x!: Tensor;
  private y!: Tensor;

  /** The network of this run, or of the last one while idle (its `dispose()` ends the pool). */
  private net!: SequentialNet;

  /**
   * @param threads Where every worker is an instance of the threads core: the core and the one memory they share
   * (each worker's stack slot is its rank). Fixed for the pool's life: a kept worker keeps its core.
   */
  constructor(
    private readonly ports: WorkerPort[],
    readonly threads: { module: WebAssembly.Module; memory: WebAssembly.Memory } | null,
  ) {
    ports.forEach((port, rank) => {
      port.onMessage((m) => this.receive(m));
      port.onFailure((reason) => {
        this.dead.add(rank);
        // The step it died in: the first posted that it had not answered (0, outside steps: every later step fails).
        const open = [...this.records].filter(([, r]) => !r.settled.has(rank)).map(([s]) => s);
        this.fail({ rank, name: 'WasmnetError', message: `it ${reason}`, died: true, step: open.length > 0 ? Math.min(...open) : 0 });
        this.settle(rank);
        for (const s of this.records.keys()) this.settleStep(s, rank);
      });
    });
  }

  /** No worker failed or died (while idle, too). */
  get healthy(): boolean {
    return this.failures.length === 0 && this.dead.size === 0;
  }

  get size(): number {
    return this.ports.length;
  }

  get lastNet(): SequentialNet {
    return this.net;
  }

  /** A run (one `train` call) of `net` begins: its data and memory; steps are numbered from 1 again. */
  begin(net: SequentialNet, shared: SharedMemory | null, x: Tensor, y: Tensor): void {
    this.net = net;
    this.shared = shared;
    this.x = x;
    this.y = y;
    this.order = null;
    this.stepNumber = 0;
    this.posted = 0;
    this.records.clear();
    this.unrecovered = false;
    this.midStep = false;
  }

  hold(busy: boolean): void {
    for (const p of this.ports) p.hold(busy);
  }

  beginEpoch(order: Uint32Array): void {
    if (this.shared) this.shared.order.set(order);
    else this.order = order.slice();
  }

  async step(start: number, m: number, where: string, next?: NextStep): Promise<{ loss: number; correct: number }> {
    const step = ++this.stepNumber;
    this.midStep = true;
    // A rate that is not a number ('0.01' from a form's field) crosses as NaN, so that the workers refuse it as one
    // worker does (a Float64Array would take '0.01' as 0.01); `rateShown` puts the value back into their error.
    const lrs = this.net.layers.map((l) => l.optimizers().map((o) => (typeof o.effectiveLr === 'number' ? o.effectiveLr : NaN)));
    const began = performance.now();
    const replies = this.shared ? await this.sharedStep(step, start, m, lrs, where, next) : await this.stepByMessages(step, start, m, lrs, where);
    if (this.failures.some((f) => f.step <= step)) {
      // The step posted ahead stopped because this one failed: its workers' aborts say nothing more.
      this.failures = this.failures.filter((f) => f.step <= step);
      await this.recover();
      // A worker that died after the barrier leaves the others' update complete: say so rather than claim "before".
      const finished = replies.some((r) => r?.type === 'replica-stepped');
      throw this.error(where, finished && !this.unrecovered ? 'the other workers had finished this batch, so the network keeps the weights after it' : undefined);
    }
    const stepped = replies as Extract<ReplicaReply, { type: 'replica-stepped' }>[];
    poolStats.steps++;
    poolStats.step += performance.now() - began;
    poolStats.compute += Math.max(...stepped.map((s) => s.timing.compute));
    poolStats.wait += stepped.reduce((s, r) => s + r.timing.wait, 0) / stepped.length;
    poolStats.reduce += stepped.reduce((s, r) => s + r.timing.reduce, 0) / stepped.length;
    poolStats.busy += Math.max(...stepped.map((s) => s.timing.compute + s.timing.wait + s.timing.reduce));
    stepped.forEach((s, rank) => {
      poolStats.claimed[rank] = (poolStats.claimed[rank] ?? 0) + s.timing.claimed;
      poolStats.computeByRank[rank] = (poolStats.computeByRank[rank] ?? 0) + s.timing.compute;
    });
    const r = stepped[0];
    this.midStep = false;
    return { loss: r.loss, correct: r.correct };
  }

  // A step through shared memory. It was posted with the last one (unless it is an epoch's first); confirming it
  // hands the workers its learning rates, final now that the loop has reached it, and lets them update. The next
  // step is posted at once: each worker finds it waiting as it ends this one, instead of waiting for this thread
  // to hear from every worker and post it.
  private sharedStep(step: number, start: number, m: number, lrs: number[][], where: string, next: NextStep | undefined): Promise<(ReplicaReply | undefined)[]> {
    const { ctrl, lrs: rates } = this.shared!;
    if (this.posted < step) this.postStep(step, start, m, where);
    rates.set(lrs.flat());
    Atomics.store(ctrl, CTRL_CONFIRMED, step);
    Atomics.notify(ctrl, CTRL_CONFIRMED);
    if (next && this.failures.length === 0) this.postStep(step + 1, next.start, next.m, next.where);
    const record = this.record(step);
    return new Promise((resolve) => {
      const done = () => {
        this.records.delete(step);
        resolve(record.replies);
      };
      if (record.settled.size === this.ports.length) done();
      else record.done = done;
    });
  }

  private postStep(step: number, start: number, m: number, where: string): void {
    this.posted = step;
    // Its record exists from now on: a worker that dies in it fails this step, and answers it.
    this.record(step);
    this.ports.forEach((port, rank) => {
      if (this.dead.has(rank)) this.settleStep(step, rank);
      else port.post({ type: 'replica-step', step, start, m, where });
    });
  }

  private record(step: number): StepRecord {
    let r = this.records.get(step);
    if (!r) this.records.set(step, (r = { replies: [], settled: new Set(), done: null }));
    return r;
  }

  private settleStep(step: number, rank: number): void {
    const r = this.record(step);
    r.settled.add(rank);
    if (r.settled.size === this.ports.length) r.done?.();
  }

  /**
   * A step without shared memory: each worker gets its shards' rows, answers
   * with its gradient nodes; then every worker gets everyone's nodes in shard
   * order (the same tree as with shared memory) and updates.
   */
  private async stepByMessages(step: number, start: number, m: number, lrs: number[][], where: string): Promise<(ReplicaReply | undefined)[]> {
    const size = shardSize(m);
    const shards = Math.ceil(m / size);
    const workers = this.ports.length;
    const inLen = this.x.size / this.x.shape[0];
    const outLen = this.y.size / this.y.shape[0];
    const order = this.order!;
    let parts = await this.all(
      ['replica-nodes', 'replica-sums'],
      (rank) => {
        const [first, end] = workerShards(shards, workers, rank);
        const from = start + first * size;
        const count = Math.max(0, Math.min(end * size, m) - first * size);
        const x = new Float32Array(count * inLen);
        const y = new Float32Array(count * outLen);
        for (let i = 0; i < count; i++) {
          const s = order[from + i];
          x.set(this.x.data.subarray(s * inLen, (s + 1) * inLen), i * inLen);
          y.set(this.y.data.subarray(s * outLen, (s + 1) * outLen), i * outLen);
        }
        return { type: 'replica-step', step, start, m, lrs, where, rows: { x, y } };
      },
      undefined,
      (request) => [(request as ReplicaStep).rows!.x.buffer, (request as ReplicaStep).rows!.y.buffer],
    );
    // With batch norm the shards meet at each batch-norm layer: everyone's sums, in shard order, go to everyone.
    while (this.failures.length === 0 && parts.some((p) => p?.type === 'replica-sums')) {
      const sums = parts as Extract<ReplicaReply, { type: 'replica-sums' }>[];
      if (!sums.every((p) => p?.type === 'replica-sums')) throw new WasmnetError(`the workers' shards did not meet at the same layer ${where} (a wasmnet bug)`);
      const all = sums.flatMap((p) => p.partials);
      parts = await this.all(['replica-nodes', 'replica-sums'], () => ({ type: 'replica-exchange', step, all }));
    }
    if (this.failures.length > 0) return parts;
    const nodes: NodeMessage[] = [];
    const losses: number[] = new Array(shards);
    const correct: number[] = new Array(shards);
    for (const part of parts as Extract<ReplicaReply, { type: 'replica-nodes' }>[]) {
      nodes.push(...part.nodes);
      part.losses.forEach((l, i) => (losses[part.first + i] = l));
      part.correct.forEach((c, i) => (correct[part.first + i] = c));
    }
    return this.all('replica-stepped', () => ({ type: 'replica-reduce', step, nodes, losses, correct, where }));
  }

  async sync(): Promise<void> {
    const replies = await this.all('replica-state', () => ({ type: 'replica-state' }), [0]);
    this.throwIfFailed('while handing back the trained weights', 'the network keeps the weights of the end of its last completed epoch');
    adoptState(this.net, (replies[0] as Extract<ReplicaReply, { type: 'replica-state' }>).state);
  }

  /**
   * The run is over. Workers that finished every step they were given wait, idle, for the next run of any network
   * with as many workers; after a failure, a step that threw, or with the network disposed, they end.
   */
  async close(): Promise<void> {
    const cap = await maxIdleWorkers(this.size);
    // A step posted ahead that the loop did not reach (a callback threw or disposed the network) is still running.
    if (!this.healthy || this.waiting || this.midStep || this.posted > this.stepNumber || this.net.isDisposed) return this.end();
    this.shared = null;
    this.x = this.y = undefined as unknown as Tensor;
    this.order = null;
    for (const p of this.ports) p.post({ type: 'replica-release' });
    this.hold(false);
    const timer = setTimeout(() => void removeIdlePool(this)?.end(), poolTestHooks.idleMs ?? WORKERS_IDLE_MS);
    (timer as { unref?: () => void }).unref?.();
    idlePools.push({ pool: this, timer });
    // Over the cap (networks trained at the same time), the oldest idle pools end.
    while (idleWorkerCount() > cap) void removeIdlePool(idlePools[0].pool)?.end();
  }

  /** Ends every worker. */
  async end(): Promise<void> {
    this.abortBarrier();
    this.waiting?.done();
    workerLife.ended += this.ports.length;
    await Promise.all(this.ports.map((p) => p.terminate()));
  }

  /** Throws the first failure, if any (outside a training step), saying what the network holds now. */
  throwIfFailed(when: string, kept: string): void {
    if (this.failures.length > 0) throw this.error(when, kept);
  }

  /**
   * Posts `make(rank)` to every worker in `ranks` (default: all) and resolves,
   * with the replies by rank, when each has answered `type` (or one of the types), failed or died.
   */
  all(
    type: ReplicaReply['type'] | ReplicaReply['type'][],
    make: (rank: number) => ReplicaRequest,
    ranks?: number[],
    transfer?: (request: ReplicaRequest) => Transferable[],
  ): Promise<(ReplicaReply | undefined)[]> {
    const targets = ranks ?? this.ports.map((_, r) => r);
    return new Promise((resolve) => {
      const replies: (ReplicaReply | undefined)[] = [];
      const done = () => {
        this.waiting = null;
        resolve(replies);
      };
      this.waiting = { types: Array.isArray(type) ? type : [type], replies, settled: new Set(this.ports.map((_, r) => r).filter((r) => !targets.includes(r))), done };
      for (const rank of targets) {
        if (this.dead.has(rank)) this.settle(rank);
        else {
          const request = make(rank);
          this.ports[rank].post(request, transfer?.(request));
        }
      }
    });
  }

  private receive(m: ReplicaReply): void {
    if (this.shared && (m.type === 'replica-stepped' || (m.type === 'replica-error' && m.step > 0))) {
      // A step's reply goes to that step, whatever this thread awaits now (the step before it, or a survivor's state).
      if (m.type === 'replica-error') this.fail({ rank: m.rank, name: m.name, message: m.message, died: false, step: m.step });
      else this.record(m.step).replies[m.rank] = m;
      this.settleStep(m.step, m.rank);
      return;
    }
    if (m.type === 'replica-error') {
      this.fail({ rank: m.rank, name: m.name, message: m.message, died: false, step: m.step });
    } else if (this.waiting && this.waiting.types.includes(m.type)) {
      this.waiting.replies[m.rank] = m;
    }
    this.settle(m.rank);
  }

  private settle(rank: number): void {
    const w = this.waiting;
    if (!w) return;
    w.settled.add(rank);
    if (w.settled.size === this.ports.length) w.done();
  }

  private fail(f: Failure): void {
    this.failures.push(f);
    this.abortBarrier(f.step);
  }

  /** Wakes the workers waiting at the shared-memory barrier: the step cannot complete, nor any after `failed`. */
  private abortBarrier(failed = 1): void {
    if (this.shared) abortSteps(this.shared.ctrl, failed);
  }

  /** After a failed step: the network takes a surviving replica's state (all replicas stopped before this step's update). */
  private async recover(): Promise<void> {
    const alive = this.ports.map((_, r) => r).filter((r) => !this.dead.has(r));
    const before = this.failures.length;
    for (const rank of alive) {
      const replies = await this.all('replica-state', () => ({ type: 'replica-state' }), [rank]);
      const r = replies[rank] as Extract<ReplicaReply, { type: 'replica-state' }> | undefined;
      if (r) {
        adoptState(this.net, r.state as ReplicaState);
        this.failures.length = before;
        return;
      }
    }
    this.failures.length = before;
    this.unrecovered = true;
  }

  private unrecovered = false;
  /** A step began and did not return (it threw): its workers are not known to be between steps. */
  private midStep = false;

  /**
   * The workers' error with the rate as the network holds it: the first optimizer, in layer order, whose rate one
   * worker would refuse (the order the workers check in) said "got NaN" in the workers if its rate is not a number.
   */
  private rateShown(message: string): string {
    for (const layer of this.net.layers) {
      for (const o of layer.optimizers()) {
        try {
          o.checkedLr();
        } catch (e) {
          if (typeof o.effectiveLr === 'number' || !(e instanceof ValueError)) return message;
          // The shown value may hold 'got ' or '$&': cut at the first 'got ', and replace with a function (no patterns).
          const asNaN = `${e.message.slice(0, e.message.indexOf('got '))}got NaN`;
          return message.replace(asNaN, () => e.message);
        }
      }
    }
    return message;
  }

  /** The error a failed step throws: a deterministic error (all replicas agree) keeps its class; a worker's own failure names it. */
  private error(where: string, kept?: string): WasmnetError {
    const first = this.failures.find((f) => f.died) ?? this.failures.find((f) => f.name !== 'StepAborted') ?? this.failures[0];
    kept ??= this.unrecovered
      ? 'no worker survived to hand back its weights, so the network keeps those of the end of its last completed epoch'
      : 'the network keeps the weights it had before this batch';
    const agreed = this.failures.length === this.ports.length && this.failures.every((f) => !f.died && f.message === first.message);
    if (agreed) {
      const ErrorClass = ERROR_CLASSES[first.name] ?? WasmnetError;
      return new ErrorClass(this.rateShown(first.message));
    }
    return new WasmnetError(`training stopped: worker ${first.rank + 1} of ${this.ports.length} failed ${where}: ${first.name === 'WasmnetError' ? '' : `${first.name}: `}${first.message}; ${kept}`);
  }
}
