/**
 * A replica worker: one copy of the network in its own wasm instance. Each
 * step it computes its share of the batch's shards, then (with shared memory)
 * claims tail shards until none is left, publishes its complete gradient-tree
 * nodes and its tail shards' gradients in shared memory, waits for the others
 * at a barrier, sums every worker's nodes and then the tail shards in shard
 * order (the same tree as one process would build), and applies the update,
 * like every other replica.
 *
 * Where the pool's workers are instances of the threads core in one wasm
 * memory, publishing a node is giving its address there, and the others add
 * it from where it is; else it is copied into shared buffers and out again.
 * Either way a worker leaves what it published untouched until it has passed
 * the next step's barrier, by which time every other worker has summed it.
 */
import { WasmnetError } from '../core/errors.js';
import { product } from '../core/tensor.js';
import type { F32Array } from '../core/memory.js';
import { PoisonedHeapError, inThreadMemory, init, joinThreadMemory, kernels } from '../core/wasm.js';
import { SequentialNet } from '../network.js';
import { Checkpoint } from '../train/guards.js';
import { GradientTree, MAX_SHARDS, type StackNode, ownShards, shardSize, tailShards, workerShards } from '../train/shards.js';
import { type LocalSums, ShardNets, runShardsTogether, trainsTogether } from '../train/together.js';
import { type GatherRows, applyUpdate, runShards, shardRange } from '../train/step.js';
import {
  CTRL_ABORT,
  CTRL_ARRIVED,
  CTRL_CONFIRMED,
  CTRL_GENERATION,
  CTRL_NEXT_TAIL,
  NODE_ENTRY,
  type ReplicaInit,
  type ReplicaReply,
  type ReplicaRequest,
  type ReplicaStep,
  type StepTiming,
  abortSteps,
  stepRegion,
} from './protocol.js';
import { captureState, stateBuffers } from './state.js';

/** How long a worker sleeps at the barrier before it looks for an abort again. */
const BARRIER_POLL_MS = 100;

/** Thrown at the barrier when the pool gave up on this step (another worker failed). */
class StepAborted extends WasmnetError {}

interface Replica {
  init: ReplicaInit;
  net: SequentialNet;
  checkpoint: Checkpoint;
  tree: GradientTree;
  losses: number[];
  correct: number[];
  /** Message mode: when the current step began, and how long its shards took. */
  started: number;
  computed: number;
  /** With batch norm: one copy of the network per shard this worker runs (`train/together.ts`). */
  shardNets: ShardNets | null;
  /** Barriers passed: every replica passes the same ones in the same order, so the count is the generation. */
  generation: number;
  /** Meetings of shards so far: which of the two exchange regions is next. */
  meetings: number;
  /** Whether a step has begun (its forward passes may have moved batch norm's running statistics) and not yet updated. */
  begun: boolean;
  /** Message mode with batch norm: the step whose shards wait for a meeting's sums. */
  pending: { steps: Generator<LocalSums, void, Float64Array[]>; first: number; end: number } | null;
  /** With shared memory, in the one wasm memory of the threads core: nodes are published by address, not copied. */
  inPlace: boolean;
  /** In place: the buffers this worker published last step, frozen in its tree until it passes this step's barrier. */
  published: F32Array[];
}

/**
 * A step stopped before its update leaves nothing behind: its shards' passes end, and what its forward passes
 * moved (batch norm's running statistics) goes back, so that this replica can hand back its state.
 */
function abandonStep(r: Replica): void {
  r.pending?.steps.return();
  r.pending = null;
  r.tree.reset(); // the layers' own gradient buffers back, if a shard's were being written into the tree's
  if (r.begun) r.checkpoint.undo();
  r.begun = false;
}

/** The test hook 'throw-after-meeting': fails with the step's first meeting passed (batch norm's running statistics moved). */
function failAfterMeeting(r: Replica, step: number): void {
  const f = r.init.failAt;
  if (f && f.how === 'throw-after-meeting' && f.step === step) throw new WasmnetError(`injected failure at step ${step}, after its shards met`);
}

/** Message mode: hands this worker's nodes (copied out of wasm memory) to the pool, which sends everyone's back. */
function postNodes(r: Replica, rank: number, step: number, first: number, end: number, post: (m: ReplicaReply, transfer?: Transferable[]) => void): void {
  const nodes = r.tree.nodes().map((n) => ({ level: n.node.level, index: n.node.index, values: n.values.slice() }));
  r.computed = performance.now() - r.started;
  post(
    { type: 'replica-nodes', rank, step, first, nodes, losses: r.losses.slice(first, end), correct: r.correct.slice(first, end) },
    nodes.map((n) => n.values.buffer),
  );
}

/** Message mode with batch norm: runs the pending step's shards to their next meeting (posting their sums) or to the end. */
function advance(r: Replica, rank: number, step: number, all: Float64Array[] | undefined, post: (m: ReplicaReply, transfer?: Transferable[]) => void): void {
  const p = r.pending!;
  if (all !== undefined) failAfterMeeting(r, step);
  const s = all === undefined ? p.steps.next() : p.steps.next(all);
  if (!s.done) {
    post({ type: 'replica-sums', rank, step, partials: s.value.partials });
    return;
  }
  r.pending = null;
  postNodes(r, rank, step, p.first, p.end, post);
}

/** Frees a replica's wasm memory (its network, shard copies, checkpoint and gradient tree). */
function freeReplica(r: Replica): void {
  abandonStep(r);
  r.shardNets?.free();
  r.checkpoint.free();
  r.tree.free();
  r.net.dispose();
}

/**
 * Serves replica requests on a worker's message channel; `post` answers.
 * `exit` ends the thread (the test hook for a worker that dies).
 */
export function serveReplica(post: (m: ReplicaReply, transfer?: Transferable[]) => void, exit: () => void): (m: ReplicaRequest) => Promise<void> {
  let replica: Replica | null = null;
  let rank = -1;
  return async (m: ReplicaRequest) => {
    let step = 0;
    try {
      if (m.type === 'replica-init') {
        // A worker kept from the network's last run: its replica goes, the new one starts from the network's bits.
        if (replica) freeReplica(replica);
        replica = null;
        rank = m.rank;
        // The first run of this worker: the threads core joins the pool's memory (later runs keep the instance).
        if (m.threads) joinThreadMemory(m.threads.memory, m.threads.slot);
        await init({ wasm: m.module });
        // The pool counts on finding every node at its address in one memory: a core elsewhere would read garbage.
        if (m.shared && m.threads?.inPlace && !inThreadMemory()) throw new WasmnetError(`worker ${m.rank + 1}'s core is not in the pool's shared memory (a wasmnet bug)`);
        // Test hook: a trap inside the allocator while the replicas load (the others allocating too).
        if (m.failAt?.step === 0 && m.failAt.how === 'trap-in-allocator') trapInAllocator();
        const net = SequentialNet.load(m.model);
        for (const l of net.layers) l.training = true;
        const params = net.parameters();
        replica = {
          init: m,
          net,
          checkpoint: new Checkpoint(params, net.buffers(), net.layers),
          tree: new GradientTree(params),
          losses: [],
          correct: [],
          started: 0,
          computed: 0,
          shardNets: trainsTogether(net) ? new ShardNets(net) : null,
          generation: 0,
          meetings: 0,
          begun: false,
          pending: null,
          inPlace: m.shared !== null && m.threads?.inPlace === true,
          published: [],
        };
        post({ type: 'replica-ready', rank });
      } else if (m.type === 'replica-step') {
        step = m.step;
        const r = replica!;
        const failAt = r.init.failAt;
        if (failAt && failAt.step === m.step) {
          if (failAt.how === 'exit') exit();
          else if (failAt.how === 'throw') throw new WasmnetError(`injected failure at step ${m.step}`);
          else if (failAt.how === 'trap-in-allocator') trapInAllocator();
        }
        if (r.init.shared) {
          const { loss, correct, timing } = sharedStep(r, m);
          post({ type: 'replica-stepped', rank, step: m.step, loss, correct, timing });
        } else {
          // Without shared memory: hand the nodes to the pool, which sends everyone's back (and every meeting's sums).
          r.started = performance.now();
          const { first, end, steps } = computeShards(r, m);
          if (steps) {
            r.pending = { steps, first, end };
            advance(r, rank, m.step, undefined, post);
          } else {
            postNodes(r, rank, m.step, first, end, post);
          }
        }
      } else if (m.type === 'replica-exchange') {
        step = m.step;
        // A meeting of a step this worker has abandoned (another failed) is over: nothing waits for it.
        if (replica!.pending) advance(replica!, rank, m.step, m.all, post);
      } else if (m.type === 'replica-reduce') {
        step = m.step;
        const r = replica!;
        const waited = performance.now();
        r.tree.reset(m.losses.length);
        for (const n of m.nodes) r.tree.pushNode(n, n.values);
        let loss = 0;
        let right = 0;
        for (let i = 0; i < m.losses.length; i++) {
          loss += m.losses[i];
          right += m.correct[i];
        }
        finishStep(r, loss, m.where);
        const timing = { compute: r.computed, wait: waited - r.started - r.computed, reduce: performance.now() - waited, claimed: 0 };
        post({ type: 'replica-stepped', rank, step: m.step, loss, correct: right, timing });
      } else if (m.type === 'replica-release') {
        if (replica) freeReplica(replica);
        replica = null;
      } else if (m.type === 'replica-state') {
        // By message, a failed step's other workers may wait for a meeting that will not come: that step is over.
        abandonStep(replica!);
        const state = captureState(replica!.net);
        post({ type: 'replica-state', rank, state }, stateBuffers(state));
      }
    } catch (e) {
      // A step stopped half-way leaves nothing behind (its shards' passes end, the layers' step state with them).
      // Unless the core trapped: in the threads core a trap inside the allocator poisons it for every worker of the
      // memory (crate/src/locked_alloc.rs), so what frees fails too. The pool ends this worker either way.
      if (replica) {
        try {
          abandonStep(replica);
        } catch (e2) {
          // A trap there (the allocator poisoned) is this failure's echo, reported below; the step's memory goes with
          // the worker.
          if (!(e2 instanceof WasmnetError)) throw e2;
        }
      }
      // With shared memory, no replica goes on to the next step (already posted) before the pool hears of this one.
      if (step > 0 && replica?.init.shared) abortSteps(replica.init.shared.ctrl, step);
      // Stopped by another worker's trap in the allocator: that worker's error is the one to report, not this echo.
      const err = e instanceof PoisonedHeapError ? new StepAborted(e.message) : (e as Error);
      post({ type: 'replica-error', rank, step, name: err?.name ?? 'Error', message: err?.message ?? String(e) });
    }
  };
}

/**
 * The first half of a step: this worker's shards, their gradients pushed into its tree. With batch norm the
 * shards run in step with every other worker's: `steps` is then to be driven through its meetings.
 */
function computeShards(
  r: Replica,
  m: ReplicaStep,
): {
  first: number;
  end: number;
  shards: number;
  tailStart: number;
  /** The tail shards this worker claimed, by shard index: their gradients, still in its wasm memory (`GradientTree.takeTail`). */
  tails: Map<number, StackNode>;
  steps: Generator<LocalSums, void, Float64Array[]> | null;
} {
  const { net, checkpoint, tree, losses, correct } = r;
  const { workers, rank } = r.init;
  const inLen = product(net.inputShape);
  const outLen = product(net.outputShape);
  if (m.lrs) net.layers.forEach((l, i) => l.optimizers().forEach((opt, j) => (opt.scheduledLr = m.lrs![i][j])));
  const size = shardSize(m.m);
  const shards = Math.ceil(m.m / size);
  const shared = r.init.shared;
  // Shards that run on their own, with shared memory, leave a tail to whoever is free first; batch norm's shards run in step.
  const claiming = shared !== null && !r.shardNets;
  // Where this step publishes a claimed tail shard (one of two halves, by step).
  const region = shared ? stepRegion(shared, workers, m.step) : null;
  const tailStart = shards - (claiming ? tailShards(shards, workers) : 0);
  const [first, end] = claiming ? ownShards(shards, workers, rank) : workerShards(shards, workers, rank);
  // Rows by position in the epoch's order: from the shared dataset, or from the rows the step brought.
  const gather: GatherRows = shared
    ? (from, rows, xb, yb) => {
        const xv = xb.view();
        const yv = yb.view();
        for (let i = 0; i < rows; i++) {
          const s = shared.order[from + i];
          xv.set(shared.x.subarray(s * inLen, (s + 1) * inLen), i * inLen);
          yv.set(shared.y.subarray(s * outLen, (s + 1) * outLen), i * outLen);
        }
      }
    : (from, rows, xb, yb) => {
        const at = from - (m.start + first * size);
        xb.view().set(m.rows!.x.subarray(at * inLen, (at + rows) * inLen));
        yb.view().set(m.rows!.y.subarray(at * outLen, (at + rows) * outLen));
      };
  checkpoint.beginBatch();
  r.begun = true;
  tree.reset(shards);
  const plan = { m: m.m, start: m.start, size };
  if (r.shardNets) {
    const steps = runShardsTogether(net, r.shardNets, plan, first, end, gather, r.init.labelsAreDistributions, tree, losses, correct);
    return { first, end, shards, tailStart, tails: new Map(), steps };
  }
  const tails = new Map<number, StackNode>();
  const floats = tree.length;
  if (shared && r.init.waitsForTail) waitForTailClaims(shared.ctrl, shards - tailStart);
  const own = shardRange(first, end);
  const work = shared ? ownThenClaimed(own, shared.ctrl, tailStart, shards) : own;
  const sink = {
    before(i: number, rows: number) {
      // Own shards run first and in order, so i + 1 follows i in this tree when it is also this worker's own.
      if (i < tailStart) tree.prepareShard(i, rows, i + 1 < end);
      else tree.prepareTail(i);
    },
    took(i: number) {
      if (i < tailStart) return tree.pushShard(i);
      // A tail shard is a level-0 node of its own: the reducers push it after every worker's own nodes. The others
      // take it from the step's tail slot; this worker keeps it where it is.
      const node = tree.takeTail(i);
      if (r.inPlace) shared!.ctrl[region!.tailAt(i - tailStart)] = node.store.ptr;
      else region!.tail.set(node.store.view(), (i - tailStart) * floats);
      tails.set(i, node);
      publishStats(region!.stats, i, losses[i], correct[i]);
    },
  };
  runShards(net, plan, work, gather, r.init.labelsAreDistributions, sink, losses, correct);
  return { first, end, shards, tailStart, tails, steps: null };
}

/** Shard i's loss and right answers, where every replica reads them: losses first, then right answers. */
function publishStats(stats: Float64Array, i: number, loss: number, right: number): void {
  stats[i] = loss;
  stats[stats.length / 2 + i] = right;
}

/** This worker's own shards, then tail shards tailStart … shards − 1 as it claims them (an atomic counter shared by every worker). */
function* ownThenClaimed(own: Iterable<number>, ctrl: Int32Array, tailStart: number, shards: number): Generator<number> {
  yield* own;
  for (let i = tailStart + Atomics.add(ctrl, CTRL_NEXT_TAIL, 1); i < shards; i = tailStart + Atomics.add(ctrl, CTRL_NEXT_TAIL, 1)) yield i;
}

/**
 * Test hook (`poolTestHooks.slowRank`): waits, at most 10 s, until the other workers have claimed all `tail` tail
 * shards of the step, as a worker far slower than the others would find them when it got there.
 */
function waitForTailClaims(ctrl: Int32Array, tail: number): void {
  const until = performance.now() + 10_000;
  for (let seen = Atomics.load(ctrl, CTRL_NEXT_TAIL); seen < tail && performance.now() < until; seen = Atomics.load(ctrl, CTRL_NEXT_TAIL)) {
    Atomics.wait(ctrl, CTRL_NEXT_TAIL, seen, 5);
  }
}

/** Shared memory with batch norm: each meeting's sums go to this worker's shards' slots, and everyone's come back after a barrier. */
function meetShared(r: Replica, step: number, steps: Generator<LocalSums, void, Float64Array[]>, first: number, shards: number): void {
  const { ctrl, exchange, exchangeSlot } = r.init.shared!;
  try {
    for (let s = steps.next(); !s.done; ) {
      // Two regions in turn: a worker may write the next meeting's sums while another still reads this one's.
      const region = (r.meetings++ & 1) * MAX_SHARDS * exchangeSlot;
      s.value.partials.forEach((p, j) => exchange!.set(p, region + (first + j) * exchangeSlot));
      barrier(ctrl, r.init.workers, (r.generation = (r.generation + 1) | 0));
      const all: Float64Array[] = [];
      for (let i = 0; i < shards; i++) all.push(exchange!.slice(region + i * exchangeSlot, region + i * exchangeSlot + s.value.point.floats));
      failAfterMeeting(r, step);
      s = steps.next(all);
    }
  } finally {
    steps.return();
  }
}

/** The second half: the batch's gradient in the parameters (the tree finished), the loss checked, the update applied. */
function finishStep(r: Replica, loss: number, where: string): void {
  const gradientsFinite = r.tree.finish();
  applyUpdate(r.net, r.checkpoint, loss, where, gradientsFinite);
  r.begun = false;
}

/** A whole step through shared memory: compute, publish, meet at the barrier, sum every worker's nodes, update. */
function sharedStep(r: Replica, m: ReplicaStep): { loss: number; correct: number; timing: StepTiming } {
  const t0 = performance.now();
  const { tree, losses, correct } = r;
  const shared = r.init.shared!;
  const { ctrl, nodeSlots } = shared;
  const { workers, rank } = r.init;
  const { stats, grads, tail, tableAt, tailAt } = stepRegion(shared, workers, m.step);
  // A step posted ahead of one that failed: nothing of it runs.
  const failed = Atomics.load(ctrl, CTRL_ABORT);
  if (failed !== 0 && failed < m.step) throw new StepAborted('stopped: another worker failed');
  const { first, end, shards, tailStart, tails, steps } = computeShards(r, m);
  if (steps) meetShared(r, m.step, steps, first, shards);
  const half = stats.length / 2;
  for (let i = first; i < end; i++) publishStats(stats, i, losses[i], correct[i]);
  // Publish this worker's complete nodes: their addresses in the one memory, or copies in `grads`. They stay in the
  // tree until the barrier is passed (a step aborted there gives them back at `reset`).
  const held = tree.heldNodes();
  if (held.length > nodeSlots) throw new WasmnetError(`worker ${rank} has ${held.length} gradient nodes for ${nodeSlots} slots (a wasmnet bug)`);
  const table = tableAt(rank);
  const floats = tree.length;
  ctrl[table] = held.length;
  held.forEach((n, j) => {
    const entry = table + 1 + NODE_ENTRY * j;
    ctrl[entry] = n.level;
    ctrl[entry + 1] = n.index;
    if (r.inPlace) ctrl[entry + 2] = n.store.ptr;
    else grads.set(n.store.view(), (rank * nodeSlots + j) * floats);
  });
  // In place, what the others read stays as it is until this worker passes the next step's barrier.
  const mine = r.inPlace ? [...held.map((n) => n.store), ...[...tails.values()].map((n) => n.store)] : [];
  tree.freeze(mine);
  const t1 = performance.now();
  // Every worker has claimed its last tail shard of this step: the count starts over for the next.
  barrier(ctrl, workers, (r.generation = (r.generation + 1) | 0), () => Atomics.store(ctrl, CTRL_NEXT_TAIL, 0));
  const t2 = performance.now();
  // Every other worker has passed this barrier, so it has summed what this one published the step before.
  tree.release(r.published);
  r.published = mine;
  if (r.init.readsLate) sleep(r.init.readsLate);
  // Every worker sums every node in shard order: the same tree, the same bits, in each replica.
  // Its own nodes are still in its wasm memory; the others' are read where they are (in place) or copied in.
  const own = tree.takeNodes();
  for (let w = 0; w < workers; w++) {
    if (w === rank) {
      for (const node of own) tree.pushOwn(node);
      continue;
    }
    const at = tableAt(w);
    for (let j = 0; j < ctrl[at]; j++) {
      const entry = at + 1 + NODE_ENTRY * j;
      const node = { level: ctrl[entry], index: ctrl[entry + 1] };
      if (r.inPlace) tree.pushAt(node, ctrl[entry + 2] >>> 0);
      else tree.pushNode(node, grads.subarray((w * nodeSlots + j) * floats, (w * nodeSlots + j + 1) * floats));
    }
  }
  for (let i = tailStart; i < shards; i++) {
    const claimed = tails.get(i);
    const slot = i - tailStart;
    if (claimed) tree.pushOwn(claimed);
    else if (r.inPlace) tree.pushAt({ level: 0, index: i }, ctrl[tailAt(slot)] >>> 0);
    else tree.pushNode({ level: 0, index: i }, tail.subarray(slot * floats, (slot + 1) * floats));
  }
  let loss = 0;
  let right = 0;
  for (let i = 0; i < shards; i++) {
    loss += stats[i];
    right += stats[half + i];
  }
  const t3 = performance.now();
  takeConfirmedRates(r, m.step);
  const t4 = performance.now();
  finishStep(r, loss, m.where);
  return { loss, correct: right, timing: { compute: t1 - t0, wait: t2 - t1 + (t4 - t3), reduce: performance.now() - t2 - (t4 - t3), claimed: tails.size } };
}

/**
 * Test hook: traps inside the allocator, its lock held (in the threads core), as a wasmnet bug there would: freeing a
 * block past the memory's end makes dlmalloc read its header out of bounds.
 */
function trapInAllocator(): void {
  kernels().wn_free(0xffff_ff00, 4); // past any memory short of 4 GiB
}

/** Test hook (`poolTestHooks.lateReader`): blocks this thread for `ms`. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Waits until the network confirms `step` (its loop has reached it: every `onBatch` before it has run), then sets
 * each optimizer's rate to the one the network gave that step. Throws if the pool aborts meanwhile.
 */
function takeConfirmedRates(r: Replica, step: number): void {
  const { ctrl, lrs } = r.init.shared!;
  for (;;) {
    const confirmed = Atomics.load(ctrl, CTRL_CONFIRMED);
    if (confirmed >= step) break;
    if (Atomics.load(ctrl, CTRL_ABORT)) throw new StepAborted('stopped: another worker failed');
    Atomics.wait(ctrl, CTRL_CONFIRMED, confirmed, BARRIER_POLL_MS);
  }
  let at = 0;
  for (const l of r.net.layers) for (const opt of l.optimizers()) opt.scheduledLr = lrs[at++];
}

/**
 * Waits until all `workers` have arrived at barrier `generation` (the last to arrive runs `onOpen`, then opens it);
 * throws if the pool aborts.
 */
function barrier(ctrl: Int32Array, workers: number, generation: number, onOpen?: () => void): void {
  if (Atomics.add(ctrl, CTRL_ARRIVED, 1) === workers - 1) {
    onOpen?.();
    Atomics.store(ctrl, CTRL_ARRIVED, 0);
    Atomics.store(ctrl, CTRL_GENERATION, generation);
    Atomics.notify(ctrl, CTRL_GENERATION);
    return;
  }
  for (;;) {
    const open = Atomics.load(ctrl, CTRL_GENERATION);
    if (open === generation) return;
    if (Atomics.load(ctrl, CTRL_ABORT)) throw new StepAborted('stopped: another worker failed');
    Atomics.wait(ctrl, CTRL_GENERATION, open, BARRIER_POLL_MS);
  }
}
