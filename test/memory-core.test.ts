// The wasm-memory arrays and size checks themselves (ts/core/memory.ts): byte counts, limits and their messages,
// WasmArray's views and freeing, the layers' Growable buffers.
import { describe, expect, it } from 'vitest';
import { DenseLayer, Tensor, DisposedError, OutOfMemoryError, ShapeError, wasmBytesInUse } from 'wasmnet';
import { allocF32, allocU8, allocU32, load } from 'wasmnet/internal';
// The size checks straight from the sources (the package does not export them), with the sources' error classes and
// byte count: under `npm test` this is a second copy of the module, beside the package's, whose count only these
// checks see.
import { MEMORY_LIMIT, checkSampleFits, ensureFits, formatBytes, wasmBytesInUse as sourceBytesInUse } from '../ts/core/memory.js';
import * as sourceErrors from '../ts/core/errors.js';

/** A layer's reusable buffer (Growable), as the layer keeps it. */
interface GrowableLike {
  ensure(length: number): { length: number; ptr: number; view(): Float32Array; free(): void };
  readonly current: { length: number; ptr: number; view(): Float32Array };
  free(): void;
}
const zBufOf = (layer: DenseLayer) => (layer as unknown as { zBuf: GrowableLike }).zBuf;

describe('ensureFits', () => {
  // First in the file, while the sources' count is 0 in either configuration (nothing of theirs allocated yet).
  it('says how much is free, and adds what is in use only when something is', () => {
    expect(sourceBytesInUse()).toBe(0);
    expect(() => ensureFits(2 ** 32, 'a thing')).toThrow(
      /^a thing needs 4\.00 GiB of WebAssembly memory, but only 3\.94 GiB of its 4 GiB are free$/,
    );
    const held = allocF32(1000);
    try {
      expect(() => new DenseLayer(200_000, 10_000)).toThrow(
        /needs [\d.]+ GiB of WebAssembly memory, but only [\d.]+ GiB of its 4 GiB are free \([\d.]+ (KiB|MiB) in use: dispose\(\) networks you no longer need\)$/,
      );
    } finally {
      held.free();
    }
  });

  it('takes exactly what is left, not a byte more', () => {
    const left = MEMORY_LIMIT - sourceBytesInUse();
    expect(() => ensureFits(left, 'x')).not.toThrow();
    expect(() => ensureFits(left + 1, 'x')).toThrow(sourceErrors.OutOfMemoryError);
    expect(() => ensureFits(0, 'x')).not.toThrow();
  });

  it('refuses a size that is no size (not a number, negative, NaN, fractional) as an overflowed computation', () => {
    for (const bad of [-1, NaN, 2.5, -Infinity, '8', null]) {
      expect(() => ensureFits(bad as number, 'the thing'), String(bad)).toThrow(sourceErrors.ShapeError);
    }
    expect(() => ensureFits(-1, 'the thing')).toThrow(
      /^the thing: its size in bytes came out as -1, which is no size \(an overflowed computation\)$/,
    );
    expect(() => ensureFits('8' as never, 'the thing')).toThrow(/came out as "8", which is no size/);
    // Infinity is a size, just too large: out of memory, not an overflow.
    expect(() => ensureFits(Infinity, 'the thing')).toThrow(sourceErrors.OutOfMemoryError);
    expect(() => ensureFits(2 ** 53, 'the thing')).toThrow(sourceErrors.OutOfMemoryError);
  });
});

describe('formatBytes', () => {
  it('KiB below 1 MiB, MiB below 1 GiB, GiB with two decimals', () => {
    expect(formatBytes(0)).toBe('0.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2 ** 20 - 52)).toBe('1023.9 KiB');
    expect(formatBytes(2 ** 20)).toBe('1.0 MiB');
    expect(formatBytes(2.5 * 2 ** 20)).toBe('2.5 MiB');
    expect(formatBytes(2 ** 30 - 2 ** 17)).toBe('1023.9 MiB');
    expect(formatBytes(2 ** 30)).toBe('1.00 GiB');
    expect(formatBytes(3 * 2 ** 30 + 2 ** 28)).toBe('3.25 GiB');
  });
});

describe('checkSampleFits', () => {
  it('takes one sample of exactly MEMORY_LIMIT bytes of float32, and refuses one value more, naming its owner and shape', () => {
    const most = MEMORY_LIMIT / 4;
    expect(() => checkSampleFits([most], 'x')).not.toThrow();
    expect(() => checkSampleFits([2, most / 2], 'x')).not.toThrow();
    expect(() => checkSampleFits([], 'x')).not.toThrow();
    expect(() => checkSampleFits([most + 1], 'Dense input')).toThrow(sourceErrors.OutOfMemoryError);
    expect(() => checkSampleFits([most + 1], 'Dense input')).toThrow(
      /^Dense input \[1056964609\]: one sample needs 3\.94 GiB of WebAssembly memory, more than its 4 GiB$/,
    );
    // A product, not a sum: 2 × 2 × 2^29 float32 values are 8 GiB.
    expect(() => checkSampleFits([2, 2, 2 ** 29], 'x')).toThrow(/^x \[2, 2, 536870912\]: one sample needs 8\.00 GiB/);
    expect(() => checkSampleFits([NaN], 'x')).toThrow(sourceErrors.OutOfMemoryError);
  });
});

describe('WasmArray', () => {
  it('counts its bytes while it lives (4 per float32 or uint32, 1 per uint8) and gives them back once', () => {
    const level = wasmBytesInUse();
    const [f, u, b] = [allocF32(10), allocU32(3), allocU8(5)];
    expect([f.byteLength, u.byteLength, b.byteLength]).toEqual([40, 12, 5]);
    expect([f.view(), u.view(), b.view()].map((v) => v.constructor.name)).toEqual(['Float32Array', 'Uint32Array', 'Uint8Array']);
    expect(wasmBytesInUse() - level).toBe(57);
    f.free();
    expect(wasmBytesInUse() - level).toBe(17);
    f.free(); // twice: nothing more
    expect(wasmBytesInUse() - level).toBe(17);
    u.free();
    b.free();
    expect(wasmBytesInUse()).toBe(level);
  });

  it('an empty array holds nothing and points nowhere; a negative or fractional length is refused', () => {
    const level = wasmBytesInUse();
    const empty = allocF32(0);
    expect([empty.length, empty.ptr, empty.byteLength, empty.view().length]).toEqual([0, 0, 0, 0]);
    expect(wasmBytesInUse()).toBe(level);
    empty.free();
    expect(wasmBytesInUse()).toBe(level);
    expect(() => allocF32(-1)).toThrow(ShapeError);
    expect(() => allocF32(-1)).toThrow(/^a wasm array's length must be an integer ≥ 0, got -1 \(an overflowed size computation\)$/);
    expect(() => allocF32('4' as never)).toThrow(/^a wasm array's length must be an integer ≥ 0, got "4"/);
  });

  it('a length past the limit names the array it was for', () => {
    expect(() => allocF32(2 ** 31)).toThrow(OutOfMemoryError);
    expect(() => allocF32(2 ** 31)).toThrow(/^an array of 2147483648 × Float32Array needs 8\.00 GiB of WebAssembly memory/);
  });

  it('an allocator that returns no memory is an OutOfMemoryError, and nothing is counted', async () => {
    const k = await load();
    const alloc = k.wn_alloc;
    const level = wasmBytesInUse();
    k.wn_alloc = () => 0;
    try {
      expect(() => allocF32(16)).toThrow(OutOfMemoryError);
      expect(() => allocF32(2 ** 18)).toThrow(/^out of WebAssembly memory: the engine refused to grow it for 1\.0 MiB more$/);
    } finally {
      k.wn_alloc = alloc;
    }
    expect(wasmBytesInUse()).toBe(level);
  });

  it('view() is the same view until memory grows, then a new one over the same elements', () => {
    const a = allocF32(4);
    a.set([1, 2, 3, 4]);
    expect(a.view()).toBe(a.view());
    const before = a.view();
    const big = allocF32(16 * 1024 * 1024); // 64 MiB: forces memory.grow
    try {
      expect(before.length).toBe(0); // detached
      expect(a.view() === before).toBe(false);
      expect(Array.from(a.view())).toEqual([1, 2, 3, 4]);
    } finally {
      big.free();
      a.free();
    }
  });

  it('set writes at an offset; toArray is a copy that outlives the array', () => {
    const a = allocF32(5);
    a.set([7, 8], 2);
    const copy = a.toArray();
    expect(Array.from(copy)).toEqual([0, 0, 7, 8, 0]);
    copy[0] = 99;
    expect(a.view()[0]).toBe(0);
    a.free();
    expect(Array.from(copy)).toEqual([99, 0, 7, 8, 0]);
  });

  it('a freed array refuses view, set and toArray', () => {
    const a = allocF32(3);
    a.view();
    a.free();
    expect(() => a.view()).toThrow(DisposedError);
    expect(() => a.view()).toThrow(/^this buffer was disposed$/);
    expect(() => a.set([1])).toThrow(DisposedError);
    expect(() => a.toArray()).toThrow(DisposedError);
  });
});

describe('Growable (a layer\'s batch-sized buffers)', () => {
  it('is not there before its first size, and says so', () => {
    const dense = new DenseLayer(3, 2);
    expect(() => zBufOf(dense).current).toThrow(DisposedError);
    expect(() => zBufOf(dense).current).toThrow(/^this buffer was disposed or never sized$/);
    zBufOf(dense).free(); // never sized: nothing to free
    dense.dispose();
  });

  it('keeps its array for any size up to the largest asked, reallocates only beyond it', () => {
    const dense = new DenseLayer(3, 2);
    const level = wasmBytesInUse();
    const g = zBufOf(dense);
    const first = g.ensure(10);
    expect(first.length).toBe(10);
    expect(g.current).toBe(first);
    expect(g.ensure(10)).toBe(first);
    expect(g.ensure(4)).toBe(first);
    expect(g.ensure(0)).toBe(first);
    expect(wasmBytesInUse() - level).toBe(40);
    const second = g.ensure(11);
    expect(second).not.toBe(first);
    expect(second.length).toBe(11);
    expect(() => first.view()).toThrow(DisposedError);
    expect(wasmBytesInUse() - level).toBe(44);
    g.free();
    expect(() => g.current).toThrow(DisposedError);
    expect(wasmBytesInUse()).toBe(level);
    g.free(); // twice
    dense.dispose();
  });

  it('refuses a length that is not an integer ≥ 0 and keeps its array', () => {
    const dense = new DenseLayer(3, 2);
    const g = zBufOf(dense);
    const held = g.ensure(6);
    for (const bad of [-1, NaN, 2.5, 2 ** 53]) expect(() => g.ensure(bad), String(bad)).toThrow(ShapeError);
    expect(() => g.ensure(-1)).toThrow(/^a wasm buffer's length must be an integer ≥ 0, got -1 \(an overflowed size computation\)$/);
    expect(g.current).toBe(held);
    dense.dispose();
  });

  it('after a size that does not fit it holds nothing, and the next size that fits gets a working array', () => {
    const base = wasmBytesInUse();
    const dense = new DenseLayer(3, 2);
    const level = wasmBytesInUse();
    const g = zBufOf(dense);
    g.ensure(6);
    expect(() => g.ensure(2 ** 31)).toThrow(OutOfMemoryError);
    expect(() => g.current).toThrow(DisposedError);
    expect(wasmBytesInUse()).toBe(level);
    const again = g.ensure(2);
    again.view().set([5, 6]);
    expect(Array.from(g.current.view().subarray(0, 2))).toEqual([5, 6]);
    dense.dispose();
    expect(wasmBytesInUse()).toBe(base);
  });

  it('a dense layer\'s buffers are those Growables: a smaller batch after a larger one allocates nothing', () => {
    const dense = new DenseLayer(3, 2, { seed: 1 });
    dense.evaluate(Tensor.zeros([8, 3]));
    const level = wasmBytesInUse();
    dense.evaluate(Tensor.zeros([3, 3]));
    expect(wasmBytesInUse()).toBe(level);
    dense.dispose();
  });
});
