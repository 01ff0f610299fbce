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
import { wasmModule } from '../core/wasm.js';
import type { SequentialNet } from '../network.js';
import type { StepEngine } from '../train/loop.js';
import { MAX_SHARDS, maxNodesPerWorker } from '../train/shards.js';
import { CTRL_ABORT, CTRL_GENERATION, type ReplicaReply, type ReplicaRequest, type WorkerPort, ctrlLength } from './protocol.js';
import { type ReplicaState, adoptState } from './state.js';

/** More workers than this is a mistake, not a machine. */
export const MAX_WORKERS = 256;

/** Test hook (through `wasmnet/internal`): make worker `rank` fail at step `step` of the next pool. */
export const poolTestHooks: { failAt: { rank: number; step: number; how: 'throw' | 'exit' } | null } = { failAt: null };

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

export async function startWorkerPool(net: SequentialNet, x: Tensor, y: Tensor, workers: number, labelsAreDistributions: boolean): Promise<StepEngine> {
  const wide = net.layers.find((l) => l.batchWide);
  if (wide) {
    throw new ValueError(
      `workers: ${workers} cannot train this network yet: its ${wide.kind} layer needs each batch's statistics in one piece; train it with workers: 1`,
    );
  }
  if (typeof SharedArrayBuffer === 'undefined' || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    throw new ValueError(
      `workers: ${workers} needs SharedArrayBuffer, which this page does not have: serve it cross-origin isolated ` +
        "(headers 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'), or train with workers: 1",
    );
  }
  const n = x.shape[0];
  const floats = net.parameters().reduce((s, p) => s + p.value.length, 0);
  const nodeSlots = maxNodesPerWorker(workers);
  const memory = {
    x: shared(x.data),
    y: shared(y.data),
    order: new Uint32Array(new SharedArrayBuffer(4 * n)),
    ctrl: new Int32Array(new SharedArrayBuffer(4 * ctrlLength(workers, nodeSlots))),
    stats: new Float64Array(new SharedArrayBuffer(8 * 2 * MAX_SHARDS)),
    grads: new Float32Array(new SharedArrayBuffer(4 * workers * nodeSlots * floats)),
  };
  const model = net.save({ trainingState: true });
  const module = wasmModule();
  const failAt = poolTestHooks.failAt;
  poolTestHooks.failAt = null;
  const ports: WorkerPort[] = [];
  try {
    for (let rank = 0; rank < workers; rank++) ports.push(await spawnReplicaWorker());
  } catch (e) {
    await Promise.all(ports.map((p) => p.terminate()));
    throw new WasmnetError(`starting ${workers} training workers failed: ${(e as Error)?.message ?? String(e)}`);
  }
  const pool = new WorkerPool(net, ports, memory.ctrl, memory.order);
  try {
    await pool.all('replica-ready', (rank) => ({
      type: 'replica-init',
      rank,
      workers,
      module,
      model,
      ...memory,
      nodeSlots,
      labelsAreDistributions,
      failAt: failAt && failAt.rank === rank ? { step: failAt.step, how: failAt.how } : null,
    }));
    pool.throwIfFailed('while starting', 'the network is unchanged');
  } catch (e) {
    await pool.close();
    throw e;
  }
  return pool;
}

interface Failure {
  rank: number;
  name: string;
  message: string;
  /** The worker is gone (its thread ended or threw outside a message). */
  died: boolean;
}

class WorkerPool implements StepEngine {
  private stepNumber = 0;
  private failures: Failure[] = [];
  private readonly dead = new Set<number>();
  private waiting: { type: ReplicaReply['type']; replies: (ReplicaReply | undefined)[]; settled: Set<number>; done: () => void } | null = null;

  constructor(
    private readonly net: SequentialNet,
    private readonly ports: WorkerPort[],
    private readonly ctrl: Int32Array,
    private readonly order: Uint32Array,
  ) {
    ports.forEach((port, rank) => {
      port.onMessage((m) => this.receive(m));
      port.onFailure((reason) => {
        this.dead.add(rank);
        this.fail({ rank, name: 'WasmnetError', message: `it ${reason}`, died: true });
        this.settle(rank);
      });
    });
  }

  beginEpoch(order: Uint32Array): void {
    this.order.set(order);
  }

  async step(start: number, m: number, where: string): Promise<{ loss: number; correct: number }> {
    const step = ++this.stepNumber;
    const lrs = this.net.layers.map((l) => l.optimizers().map((o) => o.effectiveLr));
    const replies = await this.all('replica-stepped', () => ({ type: 'replica-step', step, start, m, lrs, where }));
    if (this.failures.length > 0) {
      await this.recover();
      throw this.error(where);
    }
    const r = replies[0] as Extract<ReplicaReply, { type: 'replica-stepped' }>;
    return { loss: r.loss, correct: r.correct };
  }

  async sync(): Promise<void> {
    const replies = await this.all('replica-state', () => ({ type: 'replica-state' }), [0]);
    this.throwIfFailed('while handing back the trained weights', 'the network keeps the weights of the end of its last completed epoch');
    adoptState(this.net, (replies[0] as Extract<ReplicaReply, { type: 'replica-state' }>).state);
  }

  async close(): Promise<void> {
    Atomics.store(this.ctrl, CTRL_ABORT, 1);
    Atomics.notify(this.ctrl, CTRL_GENERATION);
    this.waiting?.done();
    await Promise.all(this.ports.map((p) => p.terminate()));
  }

  /** Throws the first failure, if any (outside a training step), saying what the network holds now. */
  throwIfFailed(when: string, kept: string): void {
    if (this.failures.length > 0) throw this.error(when, kept);
  }

  /**
   * Posts `make(rank)` to every worker in `ranks` (default: all) and resolves,
   * with the replies by rank, when each has answered `type`, failed or died.
   */
  all(type: ReplicaReply['type'], make: (rank: number) => ReplicaRequest, ranks?: number[]): Promise<(ReplicaReply | undefined)[]> {
    const targets = ranks ?? this.ports.map((_, r) => r);
    return new Promise((resolve) => {
      const replies: (ReplicaReply | undefined)[] = [];
      const done = () => {
        this.waiting = null;
        resolve(replies);
      };
      this.waiting = { type, replies, settled: new Set(this.ports.map((_, r) => r).filter((r) => !targets.includes(r))), done };
      for (const rank of targets) {
        if (this.dead.has(rank)) this.settle(rank);
        else this.ports[rank].post(make(rank));
      }
    });
  }

  private receive(m: ReplicaReply): void {
    if (m.type === 'replica-error') {
      this.fail({ rank: m.rank, name: m.name, message: m.message, died: false });
    } else if (this.waiting && m.type === this.waiting.type) {
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
    // Wake the workers waiting at the barrier: the step cannot complete.
    Atomics.store(this.ctrl, CTRL_ABORT, 1);
    Atomics.notify(this.ctrl, CTRL_GENERATION);
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

  /** The error a failed step throws: a deterministic error (all replicas agree) keeps its class; a worker's own failure names it. */
  private error(where: string, kept?: string): WasmnetError {
    const first = this.failures.find((f) => f.died) ?? this.failures.find((f) => f.name !== 'StepAborted') ?? this.failures[0];
    kept ??= this.unrecovered
      ? 'no worker survived to hand back its weights, so the network keeps those of the end of its last completed epoch'
      : 'the network keeps the weights it had before this batch';
    const agreed = this.failures.length === this.ports.length && this.failures.every((f) => !f.died && f.message === first.message);
    if (agreed) {
      const ErrorClass = ERROR_CLASSES[first.name] ?? WasmnetError;
      return new ErrorClass(first.message);
    }
    return new WasmnetError(`training stopped: worker ${first.rank + 1} of ${this.ports.length} failed ${where}: ${first.name === 'WasmnetError' ? '' : `${first.name}: `}${first.message}; ${kept}`);
  }
}
