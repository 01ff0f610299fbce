// The memory rule (ts/core/memory.ts): members always hand out a valid view, even after memory.grow.
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, DisposedError, Rng, SequentialNet, allocF32 } from 'wasmnet';
import { uniform } from './helpers/util.js';

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

  it('dispose() returns memory for reuse: build/train/dispose cycles do not grow memory', async () => {
    const rng = new Rng(1);
    const x = uniform([20, 1, 10, 10], rng);
    const y = uniform([20, 3], rng, 0, 1);
    const cycle = async () => {
      const net = new SequentialNet([1, 10, 10], { seed: 1 });
      net.addConv2D([4, 3, 3]);
      net.addPool2D([2, 2]);
      net.addFlatten();
      net.addDense(3);
      await net.train(x, y, { batchSize: 8, epochs: 1 });
      net.evaluate(x);
      net.dispose();
    };
    await cycle();
    const memory = (await import('wasmnet')).init;
    const k = await memory();
    const size = k.memory.buffer.byteLength;
    for (let i = 0; i < 20; i++) await cycle();
    expect(k.memory.buffer.byteLength).toBe(size);
  });

  it('a disposed layer refuses to work', () => {
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3]);
    conv.dispose();
    expect(() => conv.f).toThrow(DisposedError);
    expect(() => conv.evaluate(uniform([1, 1, 5, 5], new Rng(1)))).toThrow(/Conv2D layer was disposed/);
    conv.dispose(); // twice is fine
  });
});
