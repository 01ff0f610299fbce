// The memory rule (ts/core/memory.ts): valid views after memory.grow, and memory that stays flat.
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, DisposedError, Rng, SequentialNet, Tensor, courseCnn, gradientCheck, init, wasmBytesInUse } from 'wasmnet';
import { allocF32, load } from 'wasmnet/internal';
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
