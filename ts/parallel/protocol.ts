/**
 * Messages between a training network (the pool, `pool.ts`) and its replica
 * workers (`replica.ts`), and the layout of the memory they share.
 *
 * Shared memory (SharedArrayBuffers, read and written by every worker, where
 * they exist; else the same data travels by message, `ReplicaReduce`):
 *   - `x`, `y`: the dataset, once for all workers; `order`: the epoch's order;
 *   - `ctrl`: the barrier (arrived, generation, abort), the count of the step's
 *     tail shards claimed so far, the last step the network confirmed, each
 *     worker's list of gradient-tree nodes (count, then level, index and
 *     address per node) and the address of each claimed tail shard's gradient;
 *   - `lrs`: the confirmed step's learning rates, per layer per optimizer;
 *   - `stats`: each shard's loss (float64) and right answers;
 *   - `grads`: each worker's nodes, `nodeSlots` of `params` floats each;
 *   - `tail`: the gradients of the step's tail shards (`tailShards`), one
 *     `params`-sized slot each, whoever claimed them;
 *   (these three and the node and tail tables twice: steps use the halves in turn, `stepRegion`)
 *   - `exchange`: with batch norm, each shard's sums at each meeting.
 *
 * Where the workers share one wasm memory (`ReplicaInit.threads`: every worker
 * an instance of the threads core), `grads` and `tail` are empty: a worker
 * publishes the addresses of its nodes and tail shards in that memory, and the
 * others add them from there. Copied or not, a worker leaves what it published
 * untouched until it has passed the next step's barrier.
 */
import { MAX_TAIL_SHARDS } from '../train/shards.js';
import type { ReplicaState } from './state.js';

export const CTRL_ARRIVED = 0;
export const CTRL_GENERATION = 1;
export const CTRL_ABORT = 2;
/** How many of the step's tail shards have been claimed (the worker that opens a step's last barrier sets it to 0). */
export const CTRL_NEXT_TAIL = 3;
/**
 * The last step the network confirmed (`lrs` then hold its learning rates). With shared memory the pool posts each
 * step one ahead, so that a worker finds the next step waiting when it ends one; the network confirms a step only
 * when its loop reaches it (after the last batch's `onBatch`, which may change a rate), and no replica updates
 * before that.
 */
export const CTRL_CONFIRMED = 4;
export const CTRL_HEADER = 5;

/** Int32s per node in a worker's node list: level, index, and its address where the workers share one wasm memory. */
export const NODE_ENTRY = 3;

/**
 * Stops every worker's steps (the pool, or a worker whose step failed): those at a barrier or waiting for a
 * confirmation wake and throw, steps after `failed` do not begin. `CTRL_ABORT` keeps the first failed step: a
 * worker that begins that step late still runs it, and meets the same error (the error the pool reports then
 * keeps its class) or the abort at the barrier.
 */
export function abortSteps(ctrl: Int32Array, failed: number): void {
  Atomics.compareExchange(ctrl, CTRL_ABORT, 0, Math.max(1, failed));
  Atomics.notify(ctrl, CTRL_GENERATION);
  Atomics.notify(ctrl, CTRL_CONFIRMED);
}

/** Where worker `rank`'s node list starts in `ctrl`, in the first of the two regions (`stepRegion`). */
function nodeTableAt(rank: number, nodeSlots: number): number {
  return CTRL_HEADER + rank * (1 + NODE_ENTRY * nodeSlots);
}

/** Two node lists per worker and two tail tables (the address of each tail shard's gradient): one for each region. */
export function ctrlLength(workers: number, nodeSlots: number): number {
  return nodeTableAt(2 * workers, nodeSlots) + 2 * MAX_TAIL_SHARDS;
}

/** What one step publishes: its shards' losses and right answers, every worker's nodes and the claimed tail shards' gradients. */
export interface StepRegion {
  stats: Float64Array;
  grads: Float32Array;
  tail: Float32Array;
  /** Where worker `rank`'s node list (count, then `NODE_ENTRY` int32s per node) starts in `ctrl`. */
  tableAt(rank: number): number;
  /** Where the address of tail shard `slot`'s gradient is in `ctrl` (in one shared wasm memory). */
  tailAt(slot: number): number;
}

/**
 * The half of `stats`, `grads`, `tail` and the node lists that step `step` writes. Steps use the two halves in turn:
 * with steps posted ahead, a worker may publish the next step's nodes while another still reads this step's. It
 * cannot get two steps ahead, since each step ends at a barrier that a worker passes only after reading the last.
 */
export function stepRegion(shared: SharedMemory, workers: number, step: number): StepRegion {
  const half = step & 1;
  const part = <T extends Float32Array | Float64Array>(all: T): T => all.subarray((half * all.length) / 2, ((half + 1) * all.length) / 2) as T;
  return {
    stats: part(shared.stats),
    grads: part(shared.grads),
    tail: part(shared.tail),
    tableAt: (rank) => nodeTableAt(half * workers + rank, shared.nodeSlots),
    tailAt: (slot) => nodeTableAt(2 * workers, shared.nodeSlots) + half * MAX_TAIL_SHARDS + slot,
  };
}

/** Where a worker's time in one step went, in milliseconds (for the benchmark's overhead columns). */
export interface StepTiming {
  /** Its shards' forward and backward passes and publishing its nodes. */
  compute: number;
  /** Waiting at the barrier for the other workers. */
  wait: number;
  /** How many of the step's tail shards it claimed. */
  claimed: number;
  /** Summing every worker's nodes and applying the update. */
  reduce: number;
}

/** The memory every worker shares, where SharedArrayBuffer exists (Node; cross-origin isolated pages). */
export interface SharedMemory {
  x: Float32Array;
  y: Float32Array;
  order: Uint32Array;
  ctrl: Int32Array;
  stats: Float64Array;
  grads: Float32Array;
  nodeSlots: number;
  /** The confirmed step's learning rates (`CTRL_CONFIRMED`): per layer, per optimizer, one after the other. */
  lrs: Float64Array;
  /** A slot of `params` floats for each of a step's tail shards, the most any step of the run has (none with batch norm). */
  tail: Float32Array;
  /**
   * A network with batch norm: where each shard's sums meet (`train/together.ts`), two regions used in turn,
   * each `MAX_SHARDS` slots of `exchangeSlot` f64s; null for other networks.
   */
  exchange: Float64Array | null;
  exchangeSlot: number;
}

/** A complete gradient-tree node as it crosses between threads by message. */
export interface NodeMessage {
  level: number;
  index: number;
  values: Float32Array;
}

/** How a test makes a worker fail: throw, end its thread or trap inside the allocator as a step begins, or throw after the step's first meeting (batch norm). */
export type FailHow = 'throw' | 'exit' | 'throw-after-meeting' | 'trap-in-allocator';

export interface ReplicaInit {
  type: 'replica-init';
  rank: number;
  workers: number;
  /** The compiled wasmnet module, so the worker fetches and compiles nothing. */
  module: WebAssembly.Module;
  /** The network as a model file with its training state: every replica starts from the same bits. */
  model: Uint8Array;
  /** Shared memory, or null: then each step's rows and the gradient nodes travel by message. */
  shared: SharedMemory | null;
  /**
   * With shared memory, where the threads core could be had (`threadsModule`): the one wasm memory every worker of
   * the pool shares (`module` is then the threads core), this worker's stack slot in it, and whether the nodes are
   * summed in place (the pool then gives `grads` and `tail` no room). Null: each worker has a memory of its own,
   * and the nodes are copied through `grads` and `tail`.
   */
  threads: { memory: WebAssembly.Memory; slot: number; inPlace: boolean } | null;
  labelsAreDistributions: boolean;
  /** Test hook: fail at this step ('throw' an error, or 'exit' the thread). */
  failAt?: { step: number; how: FailHow } | null;
  /** Test hook: start this worker's own shards only once the others have claimed every tail shard (a far slower core). */
  waitsForTail?: boolean;
  /** Test hook: sleep this many ms after each step's barrier before summing the others' nodes (they run ahead meanwhile). */
  readsLate?: number;
}

export interface ReplicaStep {
  type: 'replica-step';
  /** Steps are numbered from 1 over the pool's life; the barrier's generation. */
  step: number;
  start: number;
  m: number;
  /** Without shared memory: per layer, the rate each of its optimizers uses this step (else they come with `CTRL_CONFIRMED`). */
  lrs?: number[][];
  where: string;
  /** Without shared memory: the samples of this worker's shards, in order. */
  rows?: { x: Float32Array; y: Float32Array };
}

/** Without shared memory, the step's second half: every worker's nodes in shard order, every shard's loss and right answers. */
export interface ReplicaReduce {
  type: 'replica-reduce';
  step: number;
  nodes: NodeMessage[];
  losses: number[];
  correct: number[];
  where: string;
}

/** Without shared memory, a meeting of a step's shards (`train/together.ts`): every shard's sums, in shard order. */
export interface ReplicaExchange {
  type: 'replica-exchange';
  step: number;
  all: Float64Array[];
}

export interface ReplicaStateRequest {
  type: 'replica-state';
}

/** The run is over: the worker frees its replica and lets go of the run's shared memory and model file while it waits, idle. */
export interface ReplicaRelease {
  type: 'replica-release';
}
export type ReplicaRequest = ReplicaInit | ReplicaStep | ReplicaReduce | ReplicaExchange | ReplicaStateRequest | ReplicaRelease;

export type ReplicaReply =
  | { type: 'replica-ready'; rank: number }
  | { type: 'replica-stepped'; rank: number; step: number; loss: number; correct: number; timing: StepTiming }
  | { type: 'replica-nodes'; rank: number; step: number; first: number; nodes: NodeMessage[]; losses: number[]; correct: number[] }
  /** Without shared memory, at a meeting of a step's shards: this worker's shards' sums, in shard order. */
  | { type: 'replica-sums'; rank: number; step: number; partials: Float64Array[] }
  | { type: 'replica-state'; rank: number; state: ReplicaState }
  | { type: 'replica-error'; rank: number; step: number; name: string; message: string };

/** A worker as the pool sees it, in Node (worker_threads) or a browser (Web Worker). */
export interface WorkerPort {
  post(message: ReplicaRequest, transfer?: Transferable[]): void;
  onMessage(listener: (message: ReplicaReply) => void): void;
  /** Called once if the worker fails outside a message (an uncaught error, or its thread ends). */
  onFailure(listener: (reason: string) => void): void;
  /** Whether the worker keeps a Node process alive: not while it waits, idle, for the network's next `train` (nothing in a browser). */
  hold(busy: boolean): void;
  terminate(): Promise<void>;
}

/**
 * A worker's failure, reported once and only while it matters: `fail` calls
 * the listeners the first time, and not at all after `closing()` (ending a
 * worker on purpose is no failure). What both `WorkerPort`s share.
 */
export function failureReport(): { fail(reason: string): void; listen(listener: (reason: string) => void): void; closing(): void } {
  let failed = false;
  let closing = false;
  const listeners: ((reason: string) => void)[] = [];
  return {
    fail(reason) {
      if (failed || closing) return;
      failed = true;
      for (const l of listeners) l(reason);
    },
    listen: (listener) => listeners.push(listener),
    closing: () => (closing = true),
  };
}
