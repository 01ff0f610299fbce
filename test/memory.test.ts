// The memory rule (ts/core/memory.ts): valid views after memory.grow, and memory that stays flat.
import { describe, expect, it } from 'vitest';
import {
  Conv2DLayer, DisposedError, MEMORY_LIMIT, OutOfMemoryError, ReLU, Rng, SequentialNet, SoftMax, Tensor, courseCnn, gradientCheck, init, wasmBytesInUse,
} from 'wasmnet';
import { GradientTree, ShardNets, allocF32, allocU8, load, shardCount, shardSize } from 'wasmnet/internal';
import { uniform } from './helpers/util.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage and lets FinalizationRegistry callbacks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('wasm memory views', () => {
  it('a member view taken before memory grows is stale; the member itself stays valid', () => {
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3], { seed: 1 });
    const before = conv.f;
    const copy = before.slice();
    const big = allocF32(16 * 1024 * 1024); // 64 MiB: forces memory.grow
    expect(before.length).toBe(0); // detached by the growth, as any Float32Array over wasm memory
    expect(Array.from(conv.f)).toEqual(Array.from(copy));
    conv.f[0] = 42; // writing through the member changes the layer
    expect(conv.f[0]).toBe(42);
    big.free();
    conv.dispose();
  });

  it('a disposed layer refuses to work', () => {
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3]);
    conv.dispose();
    expect(() => conv.f).toThrow(DisposedError);
    expect(() => conv.evaluate(uniform([1, 1, 5, 5], new Rng(1)))).toThrow(/Conv2D layer was disposed/);
    conv.dispose(); // twice is fine
  });
});

describe('no allocation inside a training step', () => {
  it('after the first batch, training calls wn_alloc only for nothing: every buffer is reused', async () => {
    const k = await load();
    const rng = new Rng(3);
    const x = uniform([100, 1, 28, 28], rng, 0, 1);
    const y = Tensor.oneHot(Array.from({ length: 100 }, () => rng.int(10)), 10);
    const net = courseCnn({ seed: 1 });
    const alloc = k.wn_alloc;
    let allocations = 0;
    let counting = false;
    k.wn_alloc = (bytes: number) => {
      if (counting) allocations++;
      return alloc(bytes);
    };
    try {
      await net.train(x, y, {
        batchSize: 32, // batches of 32, 32, 32, 4: the small last batch must reuse the large buffers
        epochs: 2,
        onBatch: (b) => {
          counting = !(b.epoch === 1 && b.batch === 0);
        },
      });
    } finally {
      k.wn_alloc = alloc;
    }
    // The first batch sizes every buffer; from then on, within train(), nothing is allocated.
    expect(allocations).toBe(0);
    net.dispose();
  });
});

describe('memory stays flat', () => {
  it('40 cycles of build, train, evaluate, gradientCheck and dispose: wasm memory returns to its level, the JS heap stays bounded', async () => {
    expect(gc, 'run with --expose-gc (vitest.config.ts)').toBeTypeOf('function');
    const rng = new Rng(1);
    const x = uniform([40, 1, 28, 28], rng, 0, 1);
    const y = Tensor.oneHot(Array.from({ length: 40 }, () => rng.int(10)), 10);
    const cycle = async () => {
      const net = courseCnn({ seed: 2 });
      await net.train(x, y, { batchSize: 16, epochs: 1 });
      net.evaluate(x);
      net.measure(x, y);
      gradientCheck(net, x.slice(0, 2), y.slice(0, 2), { samples: 3 });
      const restored = SequentialNet.load(net.save());
      restored.evaluate(x.slice(0, 4));
      restored.dispose();
      net.dispose();
    };
    await cycle();
    await collect();
    const k = await load();
    const wasmLevel = wasmBytesInUse();
    const grown = k.memory.buffer.byteLength;
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) await cycle();
    await collect();
    expect(wasmBytesInUse()).toBe(wasmLevel);
    expect(k.memory.buffer.byteLength).toBe(grown); // freed memory was reused, never grown again
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(16 * 2 ** 20);
  });

  it('networks that were never disposed are freed by the FinalizationRegistry', async () => {
    await collect();
    const level = wasmBytesInUse();
    for (let i = 0; i < 20; i++) {
      const net = courseCnn({ seed: i }); // ~6.5 MiB of weights, gradients and Adam state each
      net.evaluate(Tensor.zeros([8, 1, 28, 28]));
    }
    expect(wasmBytesInUse() - level).toBeGreaterThan(20 * 6 * 2 ** 20);
    // The engine may keep the last network or two reachable a while longer; the other ~18 must go.
    for (let i = 0; i < 20 && wasmBytesInUse() - level > 16 * 2 ** 20; i++) await collect();
    expect(wasmBytesInUse() - level).toBeLessThan(16 * 2 ** 20);
  });
});

describe('what training allocates', () => {
  /** Counts `bytes` as in use without taking them: an array whose memory is never touched (wn_alloc and wn_free stubbed). */
  async function ballast(bytes: number): Promise<() => void> {
    const k = await load();
    const [alloc, free] = [k.wn_alloc, k.wn_free];
    k.wn_alloc = () => 8;
    let array: ReturnType<typeof allocU8>;
    try {
      array = allocU8(bytes);
    } finally {
      k.wn_alloc = alloc;
    }
    return () => {
      k.wn_free = () => undefined;
      try {
        array.free();
      } finally {
        k.wn_free = free;
      }
    };
  }

  it('train refuses up front exactly when its estimate does not fit: dataset, order, checkpoint, gradient tree, shard buffers', async () => {
    const net = new SequentialNet([1, 6, 6], { seed: 2 });
    net.addConv2D([3, 3, 3], { afun: new ReLU() });
    net.addBatchNorm(); // running statistics: a checkpoint of buffers besides the parameters; shards that run together
    net.addFlatten();
    net.addDense(4, { afun: new SoftMax() });
    const rng = new Rng(6);
    const [n, batchSize] = [70, 16];
    const x = uniform([n, 1, 6, 6], rng, 0, 1);
    const y = Tensor.oneHot(Array.from({ length: n }, () => rng.int(4)), 4);
    net.evaluate(x.slice(0, 2)); // the GEMM workspace, allocated once per process
    const floats = (list: { value: { length: number } }[]) => list.reduce((s, p) => s + p.value.length, 0);
    const m = Math.min(n, batchSize);
    const estimate =
      4 * (x.size + y.size + n) + // the dataset in wasm memory, and the epoch's order
      4 * (floats(net.parameters()) + floats(net.buffers())) + // the checkpoint
      GradientTree.bytes(net.parameters(), shardCount(m)) +
      ShardNets.bytes(net, shardCount(m), shardSize(m));
    let release = await ballast(MEMORY_LIMIT - wasmBytesInUse() - estimate + 1);
    const level = wasmBytesInUse();
    try {
      await expect(net.train(x, y, { batchSize })).rejects.toThrow(OutOfMemoryError);
      await expect(net.train(x, y, { batchSize })).rejects.toThrow(/^training on 70 samples in batches of 16 needs [\d.]+ KiB of WebAssembly memory, but only [\d.]+ KiB of its 4 GiB are free/);
      expect(wasmBytesInUse()).toBe(level);
    } finally {
      release();
    }
    // One byte more free: the estimate fits, and it covers everything the training run allocates.
    release = await ballast(MEMORY_LIMIT - wasmBytesInUse() - estimate);
    try {
      const [h] = await net.train(x, y, { batchSize });
      expect(h.loss).toBeGreaterThan(0);
    } finally {
      release();
    }
    net.dispose();
  });

  it('training computes no gradient for the input: the first layer\'s ∂C/∂x buffer is first allocated by computeGradients', async () => {
    const net = new SequentialNet([50], { seed: 3 });
    net.addDense(6, { afun: new ReLU() });
    net.addDense(3, { afun: new SoftMax() });
    const rng = new Rng(4);
    const x = uniform([16, 50], rng);
    const y = Tensor.oneHot(Array.from({ length: 16 }, () => rng.int(3)), 3);
    await net.train(x, y, { batchSize: 8 });
    const level = wasmBytesInUse();
    net.computeGradients(x.slice(0, 8), y.slice(0, 8)); // every buffer training sized is reused
    expect(wasmBytesInUse() - level).toBe(4 * 8 * 50);
    net.dispose();
  });
});
