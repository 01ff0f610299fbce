// The shards of a batch and the fixed tree their gradients are summed in (ts/train/shards.ts), tested directly:
// test/parallel.test.ts checks that any number of workers gives the same bits, which a rule changed the same way
// everywhere would keep (found by `npm run mutate:ts`). Here each rule against its definition.
import { describe, expect, it } from 'vitest';
import { BatchNormLayer, type NamedParameter, ReLU, SGD, SequentialNet, ShapeError, SoftMax, Tensor, wasmBytesInUse } from 'wasmnet';
import { pictures } from './helpers/pictures.js';
import { GradientTree, MAX_SHARDS, type StackNode, gemmWorkspace, MAX_TAIL_SHARDS, MIN_SHARD, allocF32, maxNodesPerWorker, ownShards, shardCount, shardSize, tailShards, workerShards } from 'wasmnet/internal';

describe('shards of a batch', () => {
  it('are at least 32 samples, and at most 16 per batch', () => {
    expect([MIN_SHARD, MAX_SHARDS]).toEqual([32, 16]);
    const cases: [number, number, number][] = [
      // batch, samples per shard, shards
      [1, 32, 1],
      [32, 32, 1],
      [33, 32, 2],
      [64, 32, 2],
      [100, 32, 4],
      [150, 32, 5],
      [512, 32, 16],
      [513, 33, 16],
      [1000, 63, 16],
    ];
    for (const [m, size, count] of cases) expect([m, shardSize(m), shardCount(m)]).toEqual([m, size, count]);
  });

  it('are dealt to workers in contiguous ranges as even as the count allows, covering every shard once', () => {
    expect([0, 1, 2].map((w) => workerShards(7, 3, w))).toEqual([[0, 2], [2, 4], [4, 7]]);
    expect([0, 1].map((w) => workerShards(16, 2, w))).toEqual([[0, 8], [8, 16]]);
    expect([0, 1, 2, 3].map((w) => workerShards(3, 4, w))).toEqual([[0, 0], [0, 1], [1, 2], [2, 3]]);
    for (let shards = 1; shards <= MAX_SHARDS; shards++)
      for (let workers = 1; workers <= 5; workers++) {
        let next = 0;
        for (let w = 0; w < workers; w++) {
          const [first, end] = workerShards(shards, workers, w);
          expect(first).toBe(next);
          expect(end - first).toBeGreaterThanOrEqual(Math.floor(shards / workers));
          expect(end - first).toBeLessThanOrEqual(Math.ceil(shards / workers));
          next = end;
        }
        expect(next).toBe(shards);
      }
  });

  it('tailShards: a quarter of the shards (rounded up) are claimed, never so many that a worker owns none', () => {
    expect([1, 2, 3, 4, 5, 8, 10, 16].map((s) => tailShards(s, 2))).toEqual([0, 0, 1, 1, 2, 2, 3, 4]);
    expect([1, 3, 4, 5, 6, 16].map((s) => tailShards(s, 4))).toEqual([0, 0, 0, 1, 2, 4]);
    expect(tailShards(16, 1), 'one worker claims its own tail: same order').toBe(4);
    for (let workers = 1; workers <= 6; workers++)
      for (let shards = 1; shards <= MAX_SHARDS; shards++) {
        const tail = tailShards(shards, workers);
        expect(tail).toBeLessThanOrEqual(MAX_TAIL_SHARDS);
        // The owned runs and then the tail cover 0 … shards − 1 in order, once each.
        let next = 0;
        for (let w = 0; w < workers; w++) {
          const [first, end] = ownShards(shards, workers, w);
          expect(first).toBe(next);
          next = end;
        }
        expect(next + tail).toBe(shards);
        if (tail > 0) expect(ownShards(shards, workers, 0)[1], `${shards} shards, ${workers} workers: each owns one`).toBeGreaterThan(0);
      }
  });

  it('maxNodesPerWorker: the most complete tree nodes in any worker\'s range (its aligned power-of-two blocks)', () => {
    /** Greedy decomposition of [first, end) into aligned blocks 2^k long: the complete nodes inside the range. */
    const blocks = (first: number, end: number) => {
      let count = 0;
      for (let i = first; i < end; count++) {
        let size = 1;
        while (i % (2 * size) === 0 && i + 2 * size <= end) size *= 2;
        i += size;
      }
      return count;
    };
    for (let workers = 1; workers <= 6; workers++) {
      let most = 1;
      for (let shards = 1; shards <= MAX_SHARDS; shards++)
        for (let w = 0; w < workers; w++) most = Math.max(most, blocks(...workerShards(shards, workers, w)), blocks(...ownShards(shards, workers, w)));
      expect(maxNodesPerWorker(workers), `${workers} workers`).toBe(most);
    }
    expect(maxNodesPerWorker(1)).toBe(4); // 15 shards: 8 + 4 + 2 + 1
  });
});

describe('GradientTree', () => {
  it('a training step moves the weights by the tree sum of its shards\' gradients, each computed on its own', async () => {
    // Batch 128 of 32-sample shards: ((g0 + g1) + (g2 + g3)). Shard i's gradient is that of its 32 samples as a
    // share of a 128-sample mean, a quarter of computeGradients on them alone (a power of two: exact). SGD with
    // lr 1 makes the step p − g.
    const [x, y] = pictures(128, 5, 8, 4);
    const make = () => {
      const net = new SequentialNet([1, 8, 8], { seed: 9 });
      net.addConv2D([3, 3, 3], { afun: new ReLU(), optim: new SGD(1) });
      net.addPool2D([2, 2]);
      net.addFlatten();
      net.addDense(4, { afun: new SoftMax(), optim: new SGD(1) });
      return net;
    };
    const reference = make();
    const before = reference.parameters().map((q) => q.value.toArray());
    const shardGrads = [0, 1, 2, 3].map((i) => {
      reference.computeGradients(x.slice(32 * i, 32 * (i + 1)), y.slice(32 * i, 32 * (i + 1)));
      return reference.parameters().map((q) => Float32Array.from(q.grad.view(), (g) => g / 4));
    });
    const f = Math.fround;
    const want = before.map((v, t) =>
      v.map((p, j) => {
        const g = shardGrads.map((s) => s[t][j]);
        return f(p - f(f(g[0] + g[1]) + f(g[2] + g[3])));
      }),
    );
    const net = make();
    await net.train(x, y, { batchSize: 128, shuffle: false });
    net.parameters().forEach((q, t) => expect(Array.from(q.value.view()), q.name).toEqual(Array.from(want[t])));
    reference.dispose();
    net.dispose();
  });

  const param = (values: number[]) => {
    const value = allocF32(values.length);
    const grad = allocF32(values.length);
    grad.set(values);
    return { name: 'w', value, grad };
  };

  it('needs memory for log2(shards) + 2 nodes', () => {
    const params = [{ grad: { length: 3 } }, { grad: { length: 7 } }] as never;
    expect([1, 2, 3, 4, 5, 8, 9, 16].map((s) => GradientTree.bytes(params, s))).toEqual([2, 3, 4, 4, 5, 5, 6, 6].map((k) => 4 * 10 * k));
    expect(GradientTree.bytes(params, 0)).toBe(80);
  });

  for (const [how, told, prepared] of [
    ['pushed from the gradients', false, false],
    ['told the count', true, false],
    ['each shard prepared first, as training does (some written straight into the tree\'s buffers)', true, true],
    ['prepared, not told the count', false, true],
  ] as const) {
  it(`sums shards in the fixed tree: pairs, then pairs of pairs, the leftover folded in from the right; ${how}`, () => {
    // values where float32 addition is not associative: the order shows in the bits
    const shards = [1e8, 1, -1e8, 3, 0.5, 7, -1];
    const p = [param([0, 0]), param([0])];
    const own = p.map((q) => q.grad);
    const tree = new GradientTree(p);
    for (let count = 1; count <= shards.length; count++) {
      tree.reset(told ? count : 0);
      for (let i = 0; i < count; i++) {
        if (prepared) tree.prepareShard(i, 32, i + 1 < count);
        // where a backward pass writes: whatever `grad` is now
        p[0].grad.set([shards[i], -shards[i]]);
        p[1].grad.set([2 * shards[i]]);
        tree.pushShard(i);
        expect(p.map((q) => q.grad)).toEqual(own);
        p.forEach((q, j) => expect(q.grad).toBe(own[j]));
      }
      tree.finish();
      const f = Math.fround;
      const add = (a: number, b: number) => f(a + b);
      /** The tree by its definition: complete aligned blocks left to right, then folded from the right. */
      const sum = (v: number[]): number => {
        const nodes: number[] = [];
        for (let i = 0; i < v.length; ) {
          let size = 1;
          while (i % (2 * size) === 0 && i + 2 * size <= v.length) size *= 2;
          const block = (a: number, n: number): number => (n === 1 ? f(v[a]) : add(block(a, n / 2), block(a + n / 2, n / 2)));
          nodes.push(block(i, size));
          i += size;
        }
        return nodes.reduceRight((acc, x) => add(x, acc));
      };
      const part = shards.slice(0, count);
      expect(Array.from(p[0].grad.view()), `${count} shards`).toEqual([sum(part), sum(part.map((x) => -x))]);
      expect(Array.from(p[1].grad.view())).toEqual([sum(part.map((x) => 2 * x))]);
    }
    tree.free();
    for (const q of p) (q.value.free(), q.grad.free());
  });
  }

  it('a shard that throws while its gradient is being written into the tree leaves the layers their own gradients, the weights as they were, no memory held; the next train() works', async () => {
    gemmWorkspace(); // allocated once per module, on first use: not this test's to count
    const before = wasmBytesInUse();
    const net = new SequentialNet([4], { seed: 1 });
    const layer = net.addDense(3, { afun: new SoftMax(), optim: new SGD(0.1) });
    const own = layer.parameters().map((p) => p.grad);
    const x = new Tensor(Float32Array.from({ length: 4 * 128 }, (_, i) => (i % 7) - 3), [128, 4]);
    const y = Tensor.oneHot(Array.from({ length: 128 }, (_, i) => i % 3), 3);
    // Batch 128: shards of 32. Shard 2 starts a node of its own, so its gradient goes to the tree's buffer.
    const backward = layer.backwardFromDeltaZ.bind(layer);
    let calls = 0;
    layer.backwardFromDeltaZ = (...args) => {
      if (++calls === 3) throw new Error('injected: shard 2 fails');
      return backward(...args);
    };
    const w = Array.from(layer.w);
    await expect(net.train(x, y, { batchSize: 128, shuffle: false })).rejects.toThrow(/injected: shard 2 fails/);
    layer.parameters().forEach((p, j) => expect(p.grad).toBe(own[j]));
    expect(Array.from(layer.w)).toEqual(w);
    layer.backwardFromDeltaZ = backward;
    await net.train(x, y, { batchSize: 128, shuffle: false });
    layer.parameters().forEach((p, j) => expect(p.grad).toBe(own[j]));
    expect(Array.from(layer.w)).not.toEqual(w);
    net.dispose();
    expect(wasmBytesInUse()).toBe(before);
  });

  it('prepareShard points the gradients into a buffer of the tree only for a shard that starts a node; reset() and free() point them back', () => {
    const before = wasmBytesInUse();
    const p = [param([0, 0]), param([0])];
    const own = p.map((q) => q.grad);
    const tree = new GradientTree(p);
    tree.reset(4);
    tree.prepareShard(0, 32, true);
    expect(p[0].grad).not.toBe(own[0]);
    expect(p[0].grad.ptr).not.toBe(own[0].ptr);
    p[0].grad.set([1, 2]);
    p[1].grad.set([3]);
    tree.pushShard(0);
    tree.prepareShard(1, 32, true); // shard 1 is added to shard 0's node: it stays in the gradients
    expect(p[0].grad).toBe(own[0]);
    tree.pushShard(1);
    tree.prepareShard(2, 32, true); // a node of its own again: the step fails before it is pushed
    expect(p[1].grad).not.toBe(own[1]);
    expect(() => tree.pushShard(3)).toThrow(/shard 3's gradient was pushed while shard 2's was being written/);
    tree.reset();
    p.forEach((q, j) => expect(q.grad).toBe(own[j]));
    tree.prepareShard(0, 32, true);
    tree.free();
    p.forEach((q, j) => expect(q.grad).toBe(own[j]));
    for (const q of p) (q.value.free(), q.grad.free());
    expect(wasmBytesInUse()).toBe(before);
  });

  it('reset() drops a batch left half-summed; free() returns every buffer', () => {
    const before = wasmBytesInUse();
    const p = [param([0, 0, 0])];
    const tree = new GradientTree(p);
    for (const [i, v] of [[0, 5], [1, 6], [2, 7]]) {
      p[0].grad.set([v, v, v]);
      tree.pushShard(i);
    }
    tree.reset();
    p[0].grad.set([1, 2, 3]);
    tree.pushShard(0);
    p[0].grad.set([10, 20, 30]);
    tree.pushShard(1);
    tree.finish();
    expect(Array.from(p[0].grad.view())).toEqual([11, 22, 33]);
    p[0].value.free();
    p[0].grad.free();
    tree.free();
    expect(wasmBytesInUse()).toBe(before);
  });

  /** The tree by its definition: complete aligned blocks left to right, then folded from the right (float32 adds). */
  const treeSum = (v: number[]): number => {
    const f = Math.fround;
    const nodes: number[] = [];
    for (let i = 0; i < v.length; ) {
      let size = 1;
      while (i % (2 * size) === 0 && i + 2 * size <= v.length) size *= 2;
      const block = (a: number, n: number): number => (n === 1 ? f(v[a]) : f(block(a, n / 2) + block(a + n / 2, n / 2)));
      nodes.push(block(i, size));
      i += size;
    }
    return nodes.reduceRight((acc, x) => f(x + acc));
  };
  /** A parameter whose layer adds a shard's gradient exactly for shards of up to 256 rows, as a dense layer's w. */
  const exactParam = (values: number[]): NamedParameter => ({ ...param(values), addsExactly: (rows: number) => rows <= 256 });
  /** What a backward pass does with a shard's values: overwrite `grad`, or add to it (in float32) when the tree asks. */
  const backward = (q: { grad: { view(): Float32Array }; addToGrad?: boolean }, values: number[]) => {
    const g = q.grad.view();
    values.forEach((v, j) => (g[j] = q.addToGrad ? Math.fround(g[j] + v) : v));
  };

  /** Values whose sums depend on the order they are added in (1e8 swallows the small ones unless they meet first). */
  const orderSensitive = Array.from({ length: MAX_SHARDS }, (_, i) => [1e8, 1, -1e8, 3, 0.5, 7, -1, 1e-3][i % 8] * (1 + i / 7));
  /**
   * A step's gradient as the worker pool sums it (pool.ts, replica.ts). Worker 0 is the reducer, as every replica
   * is: it runs its own shards into its tree (`runOwn(tree, first, end)`, which resets the tree first), claims every
   * other tail shard (written into its tree's buffers while its own nodes are on the stack), takes its nodes out and
   * pushes them back in place; each other worker runs its own shards into `own`, whose complete nodes are copied in,
   * in rank order; then the tail shards as level-0 nodes: the reducer's own in place, the rest copied in. Returns the
   * sum `reducer.finish()` leaves in the (one-value) gradient.
   */
  const poolSum = (p: NamedParameter[], values: number[], shards: number, workers: number, own: GradientTree, reducer: GradientTree, runOwn: (tree: GradientTree, first: number, end: number) => void): number => {
    const tailStart = shards - tailShards(shards, workers);
    runOwn(reducer, ...ownShards(shards, workers, 0));
    const claimed = new Map<number, StackNode>();
    for (let i = tailStart; i < shards; i += 2) {
      reducer.prepareTail(i);
      backward(p[0], [values[i]]);
      claimed.set(i, reducer.takeTail(i));
    }
    for (const n of reducer.takeNodes()) reducer.pushOwn(n);
    for (let w = 1; w < workers; w++) {
      runOwn(own, ...ownShards(shards, workers, w));
      for (const n of own.nodes()) reducer.pushNode(n.node, n.values.slice());
    }
    for (let i = tailStart; i < shards; i++) {
      const mine = claimed.get(i);
      if (mine) {
        reducer.pushOwn(mine);
        continue;
      }
      own.prepareTail(i);
      backward(p[0], [values[i]]);
      const node = own.takeTail(i);
      reducer.pushNode(node, node.store.view().slice());
      own.pushOwn(node); // back into its tree, to be reused
      own.reset();
    }
    reducer.finish();
    return p[0].grad.view()[0];
  };

  for (const rows of [32, 300]) {
    it(`a right sibling adds its gradient into the left one's where the layer adds exactly (shards of ${rows} rows): the same bits, the root pair left unvouched`, () => {
      const shards = [1e8, 1, -1e8, 3, 0.5, 7, -1];
      const before = wasmBytesInUse();
      const p: NamedParameter[] = [exactParam([0, 0]), { ...param([0]), name: 'b' }];
      const own = p.map((q) => q.grad);
      const tree = new GradientTree(p);
      for (let count = 1; count <= shards.length; count++) {
        tree.reset(count);
        // What a backward pass finds in the gradients is never the last batch's sum: a stale read shows as NaN.
        own.forEach((g) => g.view().fill(NaN));
        for (let i = 0; i < count; i++) {
          tree.prepareShard(i, rows, i + 1 < count);
          // Only w, only a right child with its sibling on the stack, only up to 256 rows.
          expect(p[0].addToGrad === true, `shard ${i} of ${count}`).toBe(rows <= 256 && i % 2 === 1);
          expect(p[1].addToGrad === true).toBe(false);
          backward(p[0], [shards[i], -shards[i]]);
          backward(p[1], [2 * shards[i]]);
          tree.pushShard(i);
          p.forEach((q, j) => expect(q.grad).toBe(own[j]));
          expect(p[0].addToGrad === true).toBe(false);
        }
        const vouched = tree.finish();
        const part = shards.slice(0, count);
        expect(Array.from(p[0].grad.view()), `${count} shards`).toEqual([treeSum(part), treeSum(part.map((x) => -x))]);
        expect(Array.from(p[1].grad.view())).toEqual([treeSum(part.map((x) => 2 * x))]);
        // The root's add vouches for what it writes; w's root sum, made by the backward pass, is left to the checkpoint.
        expect(vouched).toEqual(count === 1 ? false : count === 2 && rows <= 256 ? { except: new Set(['w']) } : true);
      }
      tree.free();
      for (const q of p) (q.value.free(), q.grad.free());
      expect(wasmBytesInUse()).toBe(before);
    });
  }

  it('a network\'s dense w through net.parameters(): the root pair\'s right child adds its ∂C/∂w to the left one\'s in the layer, and once the step is abandoned (reset) the layer overwrites again', () => {
    const net = new SequentialNet([3], { seed: 4 });
    const dense = net.addDense(5, { afun: new SoftMax() });
    const params = net.parameters();
    const w = params.find((p) => p.name === 'layers.0.w')!;
    const rows = (seed: number) => new Tensor(Float32Array.from({ length: 12 }, (_, i) => Math.sin(seed * 7 + i)), [4, 3]);
    const [xa, xb] = [rows(1), rows(2)];
    const [ya, yb] = [Tensor.oneHot([0, 1, 2, 3], 5), Tensor.oneHot([4, 3, 2, 1], 5)];
    const grads = (x: Tensor, y: Tensor) => (net.computeGradients(x, y), Array.from(dense.dw));
    const [ga, gb] = [grads(xa, ya), grads(xb, yb)];
    const tree = new GradientTree(params);
    tree.reset(2);
    tree.prepareShard(0, 4, true);
    net.computeGradients(xa, ya);
    tree.pushShard(0);
    tree.prepareShard(1, 4, false);
    expect(w.addToGrad).toBe(true);
    expect(grads(xb, yb)).toEqual(ga.map((v, i) => Math.fround(v + gb[i])));
    tree.reset(); // the step fails before shard 1 is pushed
    expect(grads(xb, yb)).toEqual(gb);
    expect(grads(xa, ya)).toEqual(ga);
    tree.free();
    net.dispose();
  });

  it('a right sibling pushed without being prepared after a left one that waits for it is refused (a wasmnet bug), and reset() recovers', () => {
    const p = [exactParam([0])];
    const own = p[0].grad;
    const tree = new GradientTree(p);
    tree.reset(4);
    tree.prepareShard(0, 32, true);
    backward(p[0], [1]);
    tree.pushShard(0);
    expect(() => tree.pushShard(1)).toThrow(/shard 1's gradient was pushed unprepared after shard 0/);
    tree.reset(2);
    tree.prepareShard(0, 32, true); // the root pair: w stays in the gradients for the right child to add to
    expect(p[0].grad).toBe(own);
    backward(p[0], [1]);
    tree.pushShard(0);
    tree.prepareShard(1, 32, false);
    expect(p[0].addToGrad).toBe(true);
    tree.reset(); // the step fails here: the gradients are the layers' own again, adding no more
    expect(p[0].grad).toBe(own);
    expect(p[0].addToGrad).toBe(false);
    tree.free();
    p[0].value.free();
    p[0].grad.free();
  });

  it('workers that sum their own shards\' pairs in place, their nodes pushed in rank order, then the tail shards: the bits of one tree, for 1–16 shards and 2–8 workers', () => {
    const values = orderSensitive;
    const p = [exactParam([0])];
    const own = new GradientTree(p);
    const reducer = new GradientTree(p);
    for (let shards = 1; shards <= MAX_SHARDS; shards++) {
      const want = treeSum(values.slice(0, shards));
      for (let workers = 2; workers <= 8; workers++) {
        const got = poolSum(p, values, shards, workers, own, reducer, (tree, first, end) => {
          // As a replica does (replica.ts): told the count, each own shard prepared, its sibling following when also its own.
          tree.reset(shards);
          // A worker never holds both children of the root (that pair is summed by the tree's finish, not published).
          expect(shards === 2 && end - first === 2).toBe(false);
          for (let i = first; i < end; i++) {
            tree.prepareShard(i, 32, i + 1 < end);
            backward(p[0], [values[i]]);
            tree.pushShard(i);
          }
        });
        expect(got, `${shards} shards, ${workers} workers`).toBe(want);
      }
    }
    for (const t of [own, reducer]) t.free();
    p[0].value.free();
    p[0].grad.free();
  });

  it('two workers\' complete nodes, pushed in shard order, give the bits of one tree of all shards', () => {
    const shards = [1e8, 1, -1e8, 3, 0.5, 7, -1];
    const p = [param([0])];
    const run = (from: number, to: number, tree: GradientTree) => {
      for (let i = from; i < to; i++) {
        p[0].grad.set([shards[i]]);
        tree.pushShard(i);
      }
    };
    const whole = new GradientTree(p);
    run(0, 7, whole);
    whole.finish();
    const want = p[0].grad.view()[0];

    const [a, b, reducer] = [new GradientTree(p), new GradientTree(p), new GradientTree(p)];
    run(0, 3, a);
    run(3, 7, b);
    expect(a.nodes().map((n) => n.node)).toEqual([{ level: 1, index: 0 }, { level: 0, index: 2 }]);
    expect(b.nodes().map((n) => n.node)).toEqual([{ level: 0, index: 3 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
    for (const n of a.nodes()) reducer.pushNode(n.node, n.values.slice());
    for (const n of b.takeNodes()) reducer.pushOwn(n);
    expect(reducer.nodes().map((n) => n.node)).toEqual([{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
    reducer.finish();
    expect(p[0].grad.view()[0]).toBe(want);
    expect(() => reducer.pushNode({ level: 0, index: 0 }, new Float32Array(2))).toThrow(new ShapeError('a gradient tree node holds 1 values, got 2'));
    expect(() => new GradientTree(p).finish()).toThrow(new ShapeError('a gradient tree needs at least one shard'));
    for (const t of [whole, a, b, reducer]) t.free();
    p[0].value.free();
    p[0].grad.free();
  });

  it('in one memory: nodes pushed by address (pushAt) are read in place and never written or kept; frozen nodes are never written until released', () => {
    // Worker a's tree publishes its nodes and freezes them; the reducer b pushes a's nodes by address and its own,
    // then sums: the bits of one tree, and a's published values untouched (b merged into other buffers).
    const shards = [1e8, 1, -1e8, 3, 0.5, 7, -1];
    const p = [param([0, 0])];
    const run = (from: number, to: number, tree: GradientTree) => {
      for (let i = from; i < to; i++) {
        p[0].grad.set([shards[i], -shards[i]]);
        tree.pushShard(i);
      }
    };
    const whole = new GradientTree(p);
    run(0, 7, whole);
    whole.finish();
    const want = Array.from(p[0].grad.view());

    const [a, b] = [new GradientTree(p), new GradientTree(p)];
    run(0, 3, a);
    const published = a.takeNodes();
    a.freeze(published.map((n) => n.store));
    const before = published.map((n) => Array.from(n.store.view()));
    run(3, 7, b);
    const own = b.takeNodes();
    b.freeze(own.map((n) => n.store)); // b published its own too: it sums them without writing into them
    const ownBefore = own.map((n) => Array.from(n.store.view()));
    for (const n of published) b.pushAt(n, n.store.ptr);
    for (const n of own) b.pushOwn(n);
    b.finish();
    expect(Array.from(p[0].grad.view())).toEqual(want);
    expect(published.map((n) => Array.from(n.store.view())), "a's published nodes, as b read them").toEqual(before);
    expect(own.map((n) => Array.from(n.store.view())), "b's own published nodes").toEqual(ownBefore);
    // Released, b's buffers are spares again: the next batch of b writes into them (no new memory).
    const inUse = wasmBytesInUse();
    b.release(own.map((n) => n.store));
    b.reset(7);
    run(3, 7, b);
    expect(wasmBytesInUse(), 'the released buffers were reused').toBe(inUse);
    for (const n of published) a.pushOwn(n);
    for (const t of [whole, a, b]) t.free();
    p[0].value.free();
    p[0].grad.free();
  });

  it('every worker\'s own nodes in rank order, then the tail shards as level-0 nodes: the bits of one tree, for 1–16 shards and 1–8 workers, told the count or not', () => {
    const values = orderSensitive;
    const p = [param([0])];
    const one = new GradientTree(p);
    const own = new GradientTree(p);
    const reducer = new GradientTree(p);
    for (let shards = 1; shards <= MAX_SHARDS; shards++) {
      one.reset();
      for (let i = 0; i < shards; i++) {
        p[0].grad.set([values[i]]);
        one.pushShard(i);
      }
      one.finish();
      const want = p[0].grad.view()[0];
      // Told the count, the tree keeps the root's children apart (and the last shard in the gradients) for finish.
      one.reset(shards);
      for (let i = 0; i < shards; i++) {
        p[0].grad.set([values[i]]);
        one.pushShard(i);
      }
      one.finish();
      expect(p[0].grad.view()[0], `${shards} shards, the count told`).toBe(want);
      for (let workers = 1; workers <= 8; workers++) {
        // The count told to every other run (the reducer's tree then keeps the root's children apart), or never.
        const got = poolSum(p, values, shards, workers, own, reducer, (tree, first, end) => {
          tree.reset(workers % 2 === 0 ? shards : 0);
          for (let i = first; i < end; i++) {
            p[0].grad.set([values[i]]);
            tree.pushShard(i);
          }
        });
        expect(got, `${shards} shards, ${workers} workers`).toBe(want);
      }
    }
    expect(() => own.takeTail(0)).toThrow(new ShapeError("tail shard 0's gradient was taken unprepared (a wasmnet bug)"));
    // A step abandoned with a tail shard taken and never pushed back (a worker failed): reset takes its buffer back.
    own.reset(4);
    own.prepareTail(3);
    const taken = own.takeTail(3).store;
    own.reset(4);
    own.prepareTail(3);
    expect(own.takeTail(3).store, 'the abandoned tail shard\'s buffer, reused').toBe(taken);
    own.reset();
    for (const t of [one, own, reducer]) t.free();
    p[0].value.free();
    p[0].grad.free();
  });
});
