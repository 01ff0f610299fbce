// Issue 14's cases, each as it was found: misuse, corruption and failure that silently gave wrong data, broke the
// memory accounting or lost work. Each must end in a typed error or correct behaviour, with nothing lost.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { deflateSync, gzipSync, inflateSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  Adam, Conv2DLayer, DenseLayer, OutOfMemoryError, Pool2DLayer, Rng, SequentialNet, ShapeError, SoftMax, Tensor, ValueError, WasmnetError,
  type NpyArray, parseNpz, readIdx, wasmBytesInUse,
} from 'wasmnet';
import { rewriteModel } from './helpers/model-file.js';
import { npyBytes } from './helpers/npy-writer.js';
import { uniform } from './helpers/util.js';

const gc = (globalThis as { gc?: () => void }).gc;
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

function smallNet(seed = 1): SequentialNet {
  const net = new SequentialNet([1, 8, 8], { seed });
  net.addConv2D([2, 3, 3]);
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(3, { afun: new SoftMax() });
  return net;
}

describe('memory accounting survives sizes that overflow', () => {
  it('Conv2D [2, 7, 1e9] with [3, 2, 3] filters is refused before anything is allocated, and a dense layer still allocates', () => {
    const level = wasmBytesInUse();
    expect(() => new Conv2DLayer([2, 7, 1e9], [3, 2, 3])).toThrow(WasmnetError);
    expect(wasmBytesInUse()).toBe(level);
    new DenseLayer(4, 4).dispose();
    expect(wasmBytesInUse()).toBe(level);
  });

  it('a dimension of 2³² + 6 (which wraps to 6 on its way into a 32-bit kernel) is refused, not taken for 6', () => {
    const level = wasmBytesInUse();
    expect(() => new Conv2DLayer([1, 4, 2 ** 32 + 6], [1, 3, 3])).toThrow(OutOfMemoryError);
    expect(() => new SequentialNet([1, 2 ** 32 + 6, 4])).toThrow(OutOfMemoryError);
    expect(wasmBytesInUse()).toBe(level);
  });

  it('a model file with a valid checksum and inputShape [1, 8, 1e12] is refused in milliseconds, allocating nothing', () => {
    const net = smallNet();
    const file = rewriteModel(net.save(), (h) => (h.inputShape = [1, 8, 1e12]));
    net.dispose();
    const level = wasmBytesInUse();
    const t0 = performance.now();
    expect(() => SequentialNet.load(file)).toThrow(/inputShape \[1, 8, 1000000000000\]: one sample needs/);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(wasmBytesInUse()).toBe(level);
    new DenseLayer(4, 4).dispose();
  });

  it('the count of bytes in use never takes a size that is no size (negative, NaN, fractional)', async () => {
    const { allocF32 } = await import('wasmnet/internal');
    const warmUp = new DenseLayer(3, 2);
    warmUp.evaluate(Tensor.zeros([1, 3])); // allocates the shared GEMM workspace, kept for the process
    warmUp.dispose();
    const level = wasmBytesInUse();
    for (const bad of [-1, -(2 ** 31), NaN, 2.5, 2 ** 53]) expect(() => allocF32(bad)).toThrow(WasmnetError);
    expect(wasmBytesInUse()).toBe(level);
    // A layer's reusable buffers: a NaN size must not pass for "the buffer is long enough already".
    const dense = new DenseLayer(3, 2);
    dense.evaluate(Tensor.zeros([4, 3]));
    const held = wasmBytesInUse();
    expect(() => (dense as unknown as { zBuf: { ensure(n: number): unknown } }).zBuf.ensure(NaN)).toThrow(WasmnetError);
    expect(wasmBytesInUse()).toBe(held);
    dense.dispose();
    expect(wasmBytesInUse()).toBe(level);
  });

  it('a kernel given sizes whose product wraps around 32 bits traps (a WasmnetError) instead of reading a short slice', async () => {
    const { allocF32, kernels } = await import('wasmnet/internal');
    const m = allocF32(65536);
    const out = allocF32(65536);
    // 65537 × 65536 = 2³² + 65536, which used to wrap to 65536: one "row", summed silently.
    expect(() => kernels().wn_column_sums(m.ptr, 65537, 65536, out.ptr, 0)).toThrow(WasmnetError);
    m.free();
    out.free();
  });
});

describe('files that loaded with wrong contents', () => {
  it('a model file with a valid checksum and a NaN or infinite weight is refused', () => {
    const net = smallNet();
    const bytes = net.save({ trainingState: false });
    net.dispose();
    for (const bad of [NaN, Infinity, -Infinity]) {
      const file = rewriteModel(bytes, () => {}, (data) => data.setFloat32(8, bad, true));
      expect(() => SequentialNet.load(file)).toThrow(/must hold finite numbers/);
    }
  });

  const pixels = Uint8Array.from({ length: 16 + 4 * 4 }, (_, i) => (i < 16 ? [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 4][i] : 13 * i));

  it('a gzipped IDX file whose data was damaged (the deflate stream still inflates) is refused by its CRC-32', () => {
    const gz = gzipSync(pixels, { level: 0 }); // a stored deflate block: a changed byte inflates to a changed pixel
    expect(readIdx(gz).data).toEqual(readIdx(pixels).data);
    const damaged = gz.slice();
    damaged[10 + 5 + 20] ^= 0x40;
    expect(() => readIdx(damaged, 'x.gz')).toThrow(/x\.gz: corrupt gzip data \(the CRC-32/);
    const wrongSize = gz.slice();
    new DataView(wrongSize.buffer).setUint32(wrongSize.length - 4, pixels.length - 1, true);
    expect(() => readIdx(wrongSize, 'y.gz')).toThrow(ValueError);
  });

  const npyF4 = (values: number[]) => npyBytes('<f4', [values.length], values);

  const values = Array.from({ length: 40 }, (_, i) => i / 8);

  it('a stored npz entry whose bytes were damaged is refused by its CRC-32', () => {
    const zip = zipSync({ 'x.npy': npyF4(values) }, { level: 0 });
    expect(Array.from(parseNpz(zip).x.data)).toEqual(values);
    const damaged = zip.slice();
    damaged[zip.indexOf(0x93) + 128 + 4 * 7 + 2] ^= 0x10; // inside value 7
    expect(() => parseNpz(damaged, 'd.npz')).toThrow(/d\.npz: entry x\.npy is damaged \(its CRC-32/);
  });

  it('a deflated npz entry damaged so that it still inflates is refused by its CRC-32', () => {
    const npy = npyF4(values);
    const deflated = deflateSync(npy);
    // The first one-byte change that inflates without error to the same length but other bytes.
    let silent = -1;
    for (let i = 0; i < deflated.length && silent < 0; i++) {
      const d = deflated.slice();
      d[i] ^= 0x04;
      try {
        const out = inflateSync(d, { out: new Uint8Array(npy.length) });
        if (out.length === npy.length && out.some((b, j) => b !== npy[j])) silent = i;
      } catch {
        // an error fflate reports is not the case under test
      }
    }
    expect(silent).toBeGreaterThanOrEqual(0);
    const zip = zipSync({ 'x.npy': npy }, { level: 6 });
    const at = zip.indexOf(deflated[0], 30 + 'x.npy'.length);
    expect(Array.from(zip.subarray(at, at + deflated.length))).toEqual(Array.from(deflated));
    zip[at + silent] ^= 0x04;
    expect(() => parseNpz(zip, 'e.npz')).toThrow(/e\.npz: entry x\.npy is damaged/);
  });

  it('reads what NumPy writes: np.savez (stored, with zip64 local headers) and np.savez_compressed (deflated)', () => {
    const fixture = (name: string) => new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', name)));
    // Written by NumPy 2.4: np.savez(x_train=uint8 (5, 28, 28), y_train=arange(5), __proto__=float32 [1.5, 2.5]), seed 1.
    const stored = parseNpz(fixture('numpy-savez.npz'));
    expect(Object.keys(stored)).toEqual(['x_train', 'y_train', '__proto__']);
    expect(stored.x_train.shape).toEqual([5, 28, 28]);
    expect(stored.x_train.data.reduce((a, b) => a + b, 0)).toBe(496243);
    expect(Array.from(stored.x_train.data.subarray(0, 5))).toEqual([254, 227, 33, 120, 242]);
    expect(Array.from(stored.y_train.data)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(stored['__proto__'].data)).toEqual([1.5, 2.5]);
    const deflated = parseNpz(fixture('numpy-savez-compressed.npz'));
    expect(deflated.x_test.shape).toEqual([3, 4]);
    expect(deflated.x_test.data[0]).toBe(0.20747762885186438);
    expect(Array.from(deflated.y_test.data)).toEqual([0, 1, 2]);
  });

  it('reads a zip64 archive (sizes, offset and entry count in zip64 records), as NumPy writes one past 4 GiB', () => {
    const name = new TextEncoder().encode('x.npy');
    const data = npyF4([7, 8, 9]);
    const local = new Uint8Array(30 + name.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(data, 30 + name.length);
    const central = new Uint8Array(46 + name.length + 28);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, 0xffffffff, true); // sizes and offset: in the zip64 extra field
    cv.setUint32(24, 0xffffffff, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, 28, true);
    cv.setUint32(42, 0xffffffff, true);
    central.set(name, 46);
    const x = 46 + name.length;
    cv.setUint16(x, 1, true);
    cv.setUint16(x + 2, 24, true);
    cv.setBigUint64(x + 4, BigInt(data.length), true); // size
    cv.setBigUint64(x + 12, BigInt(data.length), true); // compressed size
    cv.setBigUint64(x + 20, 0n, true); // local header offset
    const end = new Uint8Array(56 + 20 + 22);
    const ev = new DataView(end.buffer);
    const centralAt = local.length;
    const zip64End = centralAt + central.length;
    ev.setUint32(0, 0x06064b50, true);
    ev.setBigUint64(24, 1n, true);
    ev.setBigUint64(32, 1n, true);
    ev.setBigUint64(40, BigInt(central.length), true);
    ev.setBigUint64(48, BigInt(centralAt), true);
    ev.setUint32(56, 0x07064b50, true);
    ev.setBigUint64(64, BigInt(zip64End), true);
    ev.setUint32(76, 0x06054b50, true);
    ev.setUint16(76 + 8, 0xffff, true);
    ev.setUint16(76 + 10, 0xffff, true);
    ev.setUint32(76 + 12, 0xffffffff, true);
    ev.setUint32(76 + 16, 0xffffffff, true);
    const zip = new Uint8Array([...local, ...central, ...end]);
    expect(Array.from(parseNpz(zip, 'z64.npz').x.data)).toEqual([7, 8, 9]);
    const damaged = zip.slice();
    damaged[30 + name.length + data.length - 2] ^= 1;
    expect(() => parseNpz(damaged, 'z64.npz')).toThrow(/z64\.npz: entry x\.npy is damaged/);
  });

  it('an npz entry named __proto__ is an own key, not the result\'s prototype', () => {
    const arrays = parseNpz(zipSync({ '__proto__.npy': npyF4([1, 2]), 'constructor.npy': npyF4([3]), 'x.npy': npyF4([4]) }));
    expect(Object.keys(arrays)).toEqual(['__proto__', 'constructor', 'x']);
    expect(Object.getPrototypeOf(arrays)).toBe(null);
    expect(Array.from(arrays['__proto__'].data)).toEqual([1, 2]);
    expect(Array.from((arrays['constructor'] as unknown as NpyArray).data)).toEqual([3]);
    expect(parseNpz(zipSync({ 'x.npy': npyF4([4]) })).toString).toBeUndefined();
  });
});

describe('work lost at the end', () => {
  it('save() with circular, BigInt or non-finite metadata throws a ValueError (not a TypeError) and the network saves fine after', () => {
    const net = smallNet();
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(() => net.save({ meta: circular })).toThrow(/save meta must be JSON data .*\(a cycle\)/);
    expect(() => net.save({ meta: { n: 10n } })).toThrow(/save meta must be JSON data .* "n" is a bigint/);
    expect(() => net.save({ meta: { acc: NaN } })).toThrow(ValueError);
    expect(() => net.save({ meta: { f: () => 1 } })).toThrow(ValueError);
    expect(() => net.save({ meta: { bad: { toJSON: () => { throw new Error('no'); } } } })).toThrow(ValueError);
    const ok = net.save({ meta: { date: new Date(0), list: [1, 'a', null] } });
    expect(SequentialNet.load(ok).evaluate(Tensor.zeros([1, 1, 8, 8])).data).toEqual(net.evaluate(Tensor.zeros([1, 1, 8, 8])).data);
    net.dispose();
  });
});

describe('state shared or leaked', () => {
  it('one optimizer shared by many networks keeps none of the forgotten networks\' parameters alive', async () => {
    const optim = new Adam(0.01);
    const kept = new SequentialNet([4], { seed: 1 });
    kept.addDense(3, { optim });
    await collect();
    const level = wasmBytesInUse();
    for (let i = 0; i < 12; i++) {
      const net = new SequentialNet([50], { seed: i });
      net.addDense(200, { optim }); // 10,200 parameters: value, gradient, m and v, 160 KiB
      net.addDense(10, { afun: new SoftMax(), optim });
    }
    const grown = wasmBytesInUse() - level;
    expect(grown).toBeGreaterThan(12 * 160_000);
    for (let i = 0; i < 20 && wasmBytesInUse() - level > 2 * 170_000; i++) await collect();
    // The engine may keep the last network or two reachable a while longer; the others and their state must go.
    expect(wasmBytesInUse() - level).toBeLessThan(2 * 170_000);
    // The optimizer still serves the network it was kept for, state and all.
    const p = kept.layers[0].parameters()[0];
    expect(optim.stateOf(p).arrays.map((a) => a.length)).toEqual([12, 12]);
    kept.dispose();
  });
});

describe('misuse that silently gave wrong answers', () => {
  const x = uniform([2, 1, 8, 8], new Rng(3));

  it('a layer belongs to one network: a second add is refused, and using it alone on other shapes cannot reshape it', () => {
    const pool = new Pool2DLayer([2, 2]);
    const first = new SequentialNet([1, 8, 8], { seed: 2 });
    first.addConv2D([2, 3, 3]);
    first.add(pool);
    first.addFlatten();
    first.addDense(3, { afun: new SoftMax() });
    const before = first.evaluate(x).data;
    const second = new SequentialNet([1, 12, 12]);
    expect(() => second.add(pool)).toThrow(/belongs to another network/);
    expect(() => pool.evaluate(uniform([1, 1, 12, 12], new Rng(4)))).toThrow(ShapeError);
    expect(first.evaluate(x).data).toEqual(before);
    // The same shape is still fine on its own.
    expect(pool.evaluate(uniform([1, 2, 6, 6], new Rng(5))).shape).toEqual([1, 2, 3, 3]);
    expect(first.evaluate(x).data).toEqual(before);
    first.dispose();
    second.dispose();
  });

  it('net.layers cannot change the network\'s structure: it is a frozen copy', () => {
    const net = smallNet(6);
    const before = net.evaluate(x).data;
    const layers = net.layers as unknown as unknown[];
    expect(Object.isFrozen(layers)).toBe(true);
    expect(() => layers.pop()).toThrow(TypeError);
    expect(() => layers.push(new Pool2DLayer([1, 1]))).toThrow(TypeError);
    expect(() => ((net as unknown as { layers: unknown[] }).layers = [])).toThrow(TypeError);
    expect(net.layers).toHaveLength(4);
    expect(net.evaluate(x).data).toEqual(before);
    const added = net.addDense(2);
    expect(net.layers).toHaveLength(5);
    expect(net.layers[4]).toBe(added);
    expect(layers).toHaveLength(4); // an earlier copy stays as it was
    net.dispose();
  });
});
