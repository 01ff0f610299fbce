/**
 * The unit of work of a training step, and the one order its gradients are
 * summed in, whatever number of workers computes them.
 *
 * A mini-batch of m samples is cut into shards of `shardSize(m)` consecutive
 * samples (the last may be shorter). Each shard's parameter gradient is
 * computed on its own, from zero, and the shard gradients are summed in a
 * fixed binary tree over the shard indices: node (level k, index j) is the
 * sum of shards j·2ᵏ … (j+1)·2ᵏ − 1, made by adding its two children, and the
 * root folds the nodes that a shard count which is not a power of two leaves
 * over, from the right. Float addition is commutative but not associative, so
 * the tree, not who computes it, fixes the bits: a worker that owns shards
 * a … b−1 hands over the complete nodes inside its range, and any reducer
 * that pushes every worker's nodes in shard order builds the same tree as one
 * process pushing every shard.
 */
import { ShapeError } from '../core/errors.js';
import { type F32Array, allocF32, borrowF32, foreignF32 } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import type { NamedParameter } from '../layers/layer.js';

/**
 * Shards are at least this many samples, so batch 64 still splits in two. Every shard writes a whole
 * gradient and every pair of them costs one tree addition: with 16, batch 64 was four shards and about 1.28×
 * slower on one thread (the dense layer's weight gradient is 2 MB per shard), for parallelism that two
 * cores cannot use.
 */
export const MIN_SHARD = 32;
/** A batch has at most this many shards, so large batches keep few, cache-sized shards and few tree nodes. */
export const MAX_SHARDS = 16;

/** Samples per shard of a batch of `m` (the last shard holds the rest). */
export function shardSize(m: number): number {
  return Math.max(MIN_SHARD, Math.ceil(m / MAX_SHARDS));
}

export function shardCount(m: number): number {
  return Math.ceil(m / shardSize(m));
}

/** Worker `w` of `workers` owns shards [first, end): contiguous, and as even as the shard count allows. */
export function workerShards(shards: number, workers: number, w: number): [number, number] {
  return [Math.floor((w * shards) / workers), Math.floor(((w + 1) * shards) / workers)];
}

/**
 * With shared memory, the last `tailShards` shards of a step are not given to anyone: each worker, done with
 * its own run, claims the next of them (an atomic counter) until none is left. One worker slowed by the machine
 * (another process, an efficiency core, a slower minute of a VM) then computes fewer of them instead of keeping
 * all the others waiting at the barrier. A quarter of the shards, and none while there are no more shards than
 * workers. A claimed shard's gradient is handed over on its own, as the level-0 node it is: who computed it does
 * not change the tree.
 */
export function tailShards(shards: number, workers: number): number {
  return shards > workers ? Math.min(shards - workers, Math.ceil(shards / 4)) : 0;
}

/** The most shards `tailShards` leaves to be claimed, over every shard count a batch can have. */
export const MAX_TAIL_SHARDS = Math.ceil(MAX_SHARDS / 4);

/** Worker `w`'s own shards [first, end) when the last `tailShards` are claimed as workers free up. */
export function ownShards(shards: number, workers: number, w: number): [number, number] {
  return workerShards(shards - tailShards(shards, workers), workers, w);
}

/**
 * The most complete nodes any worker of `workers` holds after its shards, over every shard count a batch can have,
 * whether it owns its share of all of them (`workerShards`) or of all but the tail (`ownShards`).
 */
export function maxNodesPerWorker(workers: number): number {
  let most = 1;
  for (let shards = 1; shards <= MAX_SHARDS; shards++) {
    for (let w = 0; w < 2 * workers; w++) {
      const [first, end] = w < workers ? workerShards(shards, workers, w) : ownShards(shards, workers, w - workers);
      const stack: TreeNode[] = [];
      for (let i = first; i < end; i++) {
        let node: TreeNode = { level: 0, index: i };
        for (let top = stack[stack.length - 1]; top && isLeftSibling(top, node); top = stack[stack.length - 1]) {
          stack.pop();
          node = { level: node.level + 1, index: node.index >> 1 };
        }
        stack.push(node);
      }
      most = Math.max(most, stack.length);
    }
  }
  return most;
}

function isLeftSibling(left: TreeNode, right: TreeNode): boolean {
  return left.level === right.level && left.index % 2 === 0 && left.index + 1 === right.index;
}

/** A tree node: the sum of shards index·2^level … (index+1)·2^level − 1. */
export interface TreeNode {
  level: number;
  index: number;
}

export interface StackNode extends TreeNode {
  /** Where its sum is: a buffer of the tree's own. */
  store: F32Array;
}

/**
 * What `GradientTree.finish` found finite as it wrote the batch's gradient: all of it (true), nothing it can vouch
 * for (false), or all but the named parameters' (summed in place by a backward pass, see `prepareShard`).
 */
export type Vouched = boolean | { except: ReadonlySet<string> };

/**
 * Sums shard gradients in the fixed tree. The parameter gradients of the
 * network are the input (`pushShard` after each shard's backward pass) and
 * the output (`finish` writes the batch's gradient into them).
 */
export class GradientTree {
  /** Floats of all parameters together; a node's buffer holds them in `params` order. */
  readonly length: number;
  private readonly offsets: number[];
  private readonly stack: StackNode[] = [];
  private readonly spare: F32Array[] = [];
  private readonly owned: F32Array[] = [];
  /** Tail shards' buffers handed out by `takeTail` and not yet pushed back: `reset` takes them back (a step abandoned). */
  private readonly taken = new Set<F32Array>();
  /**
   * Buffers that other workers may be reading where they are (`freeze`: the workers share one wasm memory): never
   * written, merged into or reused until `release`. A merge with one of them as its left child writes the parent
   * into another buffer (the same one addition of the same floats).
   */
  private readonly frozen = new Set<F32Array>();
  /** Other workers' nodes in the memory this one shares (`pushAt`): read where they are, never written or kept. */
  private readonly foreign = new Set<F32Array>();
  /** The batch's shard count (0: not known, every merge is made when its sibling arrives). */
  private shards = 0;
  /** The root's right child is the last shard's gradient, still in the parameters' `grad` (see `pushShard`). */
  private rightInGrads = false;
  /**
   * The shard prepared by `prepareShard`, until `pushShard`: the parameters' own gradients meanwhile, and either the
   * node buffer it writes into (`store`, a left child's or a lone shard's) or, for a right child, which parameters
   * add their gradient into the left child's sum (`summed`).
   */
  private redirect: { index: number; store: F32Array | null; own: F32Array[]; summed: readonly boolean[] | null } | null = null;
  /** A left child whose right sibling is to add into it (`prepareShard`): which parameters, and whether their parent is the root. */
  private pair: { index: number; exact: readonly boolean[]; root: boolean } | null = null;
  /** With `rightInGrads`: the parameters whose root sum the right child's backward pass made in place (`finish` skips them). */
  private summedAtRoot: readonly boolean[] | null = null;
  /** Each buffer's per-parameter views, made once. */
  private readonly slices = new Map<F32Array, F32Array[]>();

  constructor(private readonly params: readonly NamedParameter[]) {
    this.offsets = [];
    let total = 0;
    for (const p of params) {
      this.offsets.push(total);
      total += p.grad.length;
    }
    this.length = total;
  }

  /** Bytes the tree may hold at once for `shards` shards (for refusing a run up front). */
  static bytes(params: readonly NamedParameter[], shards: number): number {
    const floats = params.reduce((s, p) => s + p.grad.length, 0);
    return 4 * floats * (Math.ceil(Math.log2(Math.max(shards, 1))) + 2);
  }

  /**
   * Starts a new batch of `shards` shards. Knowing the count, the tree leaves the root's two children apart, so
   * that `finish` adds them straight into the parameters' gradients: one pass over them less than merging, then
   * copying (the same additions of the same floats).
   */
  reset(shards = 0): void {
    this.restoreGradients();
    while (this.stack.length > 0) this.recycle(this.stack.pop()!.store);
    for (const store of this.taken) this.recycle(store);
    this.taken.clear();
    this.shards = shards;
    this.rightInGrads = false;
    this.pair = null;
    this.summedAtRoot = null;
  }

  /** Whether node (level, index) is the root of a batch whose shard count is a power of two (the sum of all of them). */
  private isRoot(level: number, index: number): boolean {
    return this.shards > 0 && index === 0 && 2 ** level >= this.shards;
  }

  /**
   * Before shard `index`'s backward pass (`rows` samples; `siblingFollows`: shard index + 1 is this tree's next
   * push). When its gradient is to become a node of its own (it has no left sibling waiting on the stack), the
   * parameters' `grad` are pointed into a buffer of the tree's for that pass, so that `pushShard` takes the buffer
   * as it is instead of copying 4 bytes a parameter into it (2.2 MB for the course's network, every other shard).
   *
   * A left child whose right sibling follows also sets up their sum: the parameters whose layer adds a shard's
   * gradient exactly (`addsExactly`: a dense layer's w, whose GEMM adds each element's whole shard sum to what is
   * there) get the right child's gradient added where the left child's is, by the right child's backward pass, in
   * place of the tree's addition of the two (a pass over 2.2 MB less per pair). Where their parent is the root, the
   * left child leaves those parameters' gradients in the parameters, and the root sum is made there. Either way the
   * same floats are added in the same tree: left + right, one addition each.
   */
  prepareShard(index: number, rows: number, siblingFollows: boolean): void {
    this.restoreGradients();
    const top = this.stack[this.stack.length - 1];
    if (top && isLeftSibling(top, { level: 0, index })) {
      // A right child: added to its sibling at `pushShard` (or kept in the gradients as the root's right child), but
      // for the parameters that add themselves in place.
      const pair = this.pair;
      this.pair = null;
      if (!pair || pair.index !== index - 1) return;
      const views = pair.root ? null : this.views(top.store);
      this.redirect = { index, store: null, own: this.params.map((p) => p.grad), summed: pair.exact };
      this.params.forEach((p, i) => {
        if (!pair.exact[i]) return;
        if (views) p.grad = views[i];
        p.addToGrad = true;
      });
      return;
    }
    this.pair = null;
    const pairs = index % 2 === 0 && siblingFollows;
    const exact = this.params.map((p) => pairs && p.addsExactly?.(rows) === true);
    const root = pairs && this.isRoot(1, index >> 1);
    this.redirectIntoBuffer(index, (i) => root && exact[i]);
    if (exact.some((e) => e)) this.pair = { index, exact, root };
  }

  /** Points the parameters' `grad` (all but those `keep` names) into a buffer of the tree's for shard `index`'s backward pass. */
  private redirectIntoBuffer(index: number, keep: (i: number) => boolean = () => false): void {
    const store = this.buffer();
    const views = this.views(store);
    this.redirect = { index, store, own: this.params.map((p) => p.grad), summed: null };
    this.params.forEach((p, i) => {
      if (!keep(i)) p.grad = views[i];
    });
  }

  /** Per-parameter views of one of the tree's buffers, made once. */
  private views(store: F32Array): F32Array[] {
    let views = this.slices.get(store);
    if (!views) {
      views = this.params.map((p, i) => borrowF32(store, this.offsets[i], p.grad.length));
      this.slices.set(store, views);
    }
    return views;
  }

  /** Points the parameters' `grad` back at their own buffers (a shard prepared but never pushed: its step failed). */
  private restoreGradients(): void {
    const r = this.redirect;
    if (!r) return;
    this.endRedirect(r);
    if (r.store) this.spare.push(r.store);
  }

  /** The parameters' own gradient buffers back, overwritten again by a backward pass: the prepared shard is done. */
  private endRedirect(r: NonNullable<GradientTree['redirect']>): void {
    this.params.forEach((p, i) => {
      p.grad = r.own[i];
      p.addToGrad = false;
    });
    this.redirect = null;
  }

  /**
   * Pushes shard `index`'s gradient, which the backward pass left in the parameters' `grad` — or in those of
   * `from`, a shard's copy of the same parameters (`together.ts`) — or, after `prepareShard(index)`, in a buffer
   * of the tree's.
   */
  pushShard(index: number, from: readonly NamedParameter[] = this.params): void {
    if (from.length !== this.params.length) throw new ShapeError(`a gradient tree of ${this.params.length} tensors got a shard of ${from.length}`);
    const k = kernels();
    const node = { level: 0, index };
    const r = this.redirect;
    // The parameters whose sum with the left sibling's the backward pass made in place (a prepared right child).
    let summed: readonly boolean[] | null = null;
    if (r) {
      if (r.index !== index || from !== this.params) throw new ShapeError(`shard ${index}'s gradient was pushed while shard ${r.index}'s was being written into the tree (a wasmnet bug)`);
      this.endRedirect(r);
      if (r.store) {
        this.push({ ...node, store: r.store });
        return;
      }
      summed = r.summed;
    } else if (this.pair) {
      // A left child left gradients for its right sibling to add to, and the sibling was not prepared: a wasmnet bug.
      throw new ShapeError(`shard ${index}'s gradient was pushed unprepared after shard ${this.pair.index} (a wasmnet bug)`);
    }
    const top = this.stack[this.stack.length - 1];
    if (top && isLeftSibling(top, node) && this.isRoot(1, index >> 1) && from === this.params) {
      // The root's right child: it stays where the backward pass left it, and `finish` adds the left one to it.
      this.rightInGrads = true;
      this.summedAtRoot = summed;
      return;
    }
    if (top && isLeftSibling(top, node) && !this.isRoot(1, index >> 1)) {
      if (this.frozen.has(top.store) || this.foreign.has(top.store)) throw new ShapeError(`shard ${index}'s gradient was to be added into a published node (a wasmnet bug)`);
      // Add in place: the sibling's buffer becomes the parent.
      from.forEach((p, i) => summed?.[i] || k.wn_add_assign(top.store.ptr + 4 * this.offsets[i], p.grad.ptr, p.grad.length));
      this.stack.pop();
      this.push({ level: 1, index: index >> 1, store: top.store });
      return;
    }
    if (summed) throw new ShapeError(`shard ${index}'s gradient was added to a sibling the tree no longer holds (a wasmnet bug)`);
    const store = this.buffer();
    const all = store.view();
    from.forEach((p, i) => all.set(p.grad.view(), this.offsets[i]));
    this.push({ ...node, store });
  }

  /**
   * Before tail shard `index`'s backward pass (`parallel/replica.ts`): its gradient is written straight into a buffer
   * of the tree's, a level-0 node of its own, which `takeTail` hands back without pushing it (the reducers push every
   * worker's own nodes first, then the tail shards in order: this worker's own with `pushOwn`, without a copy).
   */
  prepareTail(index: number): void {
    this.restoreGradients();
    this.redirectIntoBuffer(index);
  }

  /** Tail shard `index`'s gradient after its backward pass (`prepareTail`), out of the tree until `pushOwn`. */
  takeTail(index: number): StackNode {
    const r = this.redirect;
    if (!r || r.index !== index || !r.store) throw new ShapeError(`tail shard ${index}'s gradient was taken unprepared (a wasmnet bug)`);
    this.endRedirect(r);
    this.taken.add(r.store);
    return { level: 0, index, store: r.store };
  }

  /**
   * Pushes a complete node that another worker computed in the wasm memory this one shares (the threads core), at
   * byte address `address`: read where it is (no copy), never written, and forgotten once summed.
   */
  pushAt(node: TreeNode, address: number): void {
    const store = foreignF32(address, this.length);
    this.foreign.add(store);
    this.push({ level: node.level, index: node.index, store });
  }

  /** Marks buffers that other workers read where they are from now on (see `frozen`). */
  freeze(stores: Iterable<F32Array>): void {
    for (const store of stores) this.frozen.add(store);
  }

  /** The buffers `freeze` marked are no one else's any more: they go back to the spares. */
  release(stores: Iterable<F32Array>): void {
    for (const store of stores) if (this.frozen.delete(store)) this.spare.push(store);
  }

  /** Pushes a complete node computed elsewhere (another worker's), its values in `params` order. */
  pushNode(node: TreeNode, values: Float32Array): void {
    if (values.length !== this.length) throw new ShapeError(`a gradient tree node holds ${this.length} values, got ${values.length}`);
    const store = this.buffer();
    store.view().set(values);
    this.push({ level: node.level, index: node.index, store });
  }

  /** The complete nodes pushed so far, in shard order (what a worker hands over). */
  nodes(): { node: TreeNode; values: Float32Array }[] {
    return this.stack.map((s) => ({ node: { level: s.level, index: s.index }, values: s.store.view() }));
  }

  /** The complete nodes pushed so far, in shard order, left in the tree (what a worker publishes before the barrier). */
  heldNodes(): readonly StackNode[] {
    return [...this.stack];
  }

  /** Empties the tree but keeps its nodes' buffers for `pushOwn`: a worker's own nodes need no copy when it sums everyone's. */
  takeNodes(): StackNode[] {
    return this.stack.splice(0, this.stack.length);
  }

  /** Pushes a node that `takeNodes` or `takeTail` took from this tree. */
  pushOwn(node: StackNode): void {
    this.taken.delete(node.store);
    this.push(node);
  }

  /**
   * Folds what is left into the batch's gradient and writes it into the parameters' `grad`. Returns what the last
   * add, which writes every value of it, found finite (the training loop then skips its own pass over those): true
   * for all; false when some are not, or none were checked (a batch of one node, copied); all but the parameters a
   * backward pass summed in place at the root (see `prepareShard`).
   */
  finish(): Vouched {
    const k = kernels();
    if (this.stack.length === 0) throw new ShapeError('a gradient tree needs at least one shard');
    if (this.rightInGrads) {
      const left = this.stack.pop()!;
      // right += left: the same floats as left + right (addition commutes), in place (wn_add_to's output overlaps no input).
      let finite = true;
      const except = new Set<string>();
      this.params.forEach((p, i) => {
        if (this.summedAtRoot?.[i]) except.add(p.name);
        else finite = k.wn_add_assign(p.grad.ptr, left.store.ptr + 4 * this.offsets[i], p.grad.length) === 1 && finite;
      });
      this.recycle(left.store);
      this.rightInGrads = false;
      this.summedAtRoot = null;
      return finite && except.size > 0 ? { except } : finite;
    }
    let acc = this.stack.pop()!;
    while (this.stack.length > 1) {
      const left = this.stack.pop()!;
      const sum = this.sum(left.store, acc.store);
      this.recycle(acc.store);
      acc = { ...left, store: sum };
    }
    const left = this.stack.pop();
    let finite = false;
    if (left) {
      // The root's add writes straight into the gradients (one pass less than adding, then copying).
      finite = true;
      this.params.forEach(
        (p, i) => (finite = k.wn_add_to(p.grad.ptr, left.store.ptr + 4 * this.offsets[i], acc.store.ptr + 4 * this.offsets[i], p.grad.length) === 1 && finite),
      );
      this.recycle(left.store);
    } else {
      const all = acc.store.view();
      this.params.forEach((p, i) => p.grad.view().set(all.subarray(this.offsets[i], this.offsets[i] + p.grad.length)));
    }
    this.recycle(acc.store);
    return finite;
  }

  free(): void {
    this.reset();
    this.frozen.clear();
    this.slices.clear();
    for (const b of this.owned) b.free();
    this.owned.length = 0;
    this.spare.length = 0;
  }

  private push(node: StackNode): void {
    // Merge with the left sibling while there is one: the binary counter over shard indices.
    for (
      let top = this.stack[this.stack.length - 1];
      top && isLeftSibling(top, node) && !this.isRoot(node.level + 1, node.index >> 1);
      top = this.stack[this.stack.length - 1]
    ) {
      const sum = this.sum(top.store, node.store);
      this.recycle(node.store);
      this.stack.pop();
      node = { level: node.level + 1, index: node.index >> 1, store: sum };
    }
    this.stack.push(node);
  }

  /** left + right, in place in `left` unless others read it (frozen, foreign): then into another buffer. Where the sum is. */
  private sum(left: F32Array, right: F32Array): F32Array {
    const k = kernels();
    if (!this.frozen.has(left) && !this.foreign.has(left)) {
      k.wn_add_assign(left.ptr, right.ptr, this.length);
      return left;
    }
    const out = this.buffer();
    k.wn_add_to(out.ptr, left.ptr, right.ptr, this.length);
    return out;
  }

  /** A buffer the tree is done with goes back to the spares, unless others may still read it (frozen) or it is theirs. */
  private recycle(store: F32Array): void {
    if (this.foreign.delete(store) || this.frozen.has(store)) return;
    this.spare.push(store);
  }

  private buffer(): F32Array {
    const b = this.spare.pop();
    if (b) return b;
    const fresh = allocF32(this.length);
    this.owned.push(fresh);
    return fresh;
  }
}
