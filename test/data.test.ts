// IDX and npz parsing (ts/data/) on small generated files, plain, gzipped and damaged.
import { gzipSync, zipSync } from 'fflate';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyBytes as npy } from './helpers/npy-writer.js';
import { messageOf } from './helpers/util.js';
import { MNIST_FILES, ValueError, loadMnist, loadNpz, parseNpy, parseNpz, readIdx } from 'wasmnet';

function idx(type: number, dims: number[], values: number[], bytesPer = 1): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length * bytesPer);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  values.forEach((x, i) => {
    if (bytesPer === 1) out[header + i] = x;
    else if (type === 0x0d) v.setFloat32(header + 4 * i, x);
    else v.setInt32(header + 4 * i, x);
  });
  return out;
}

describe('readIdx', () => {
  const images = idx(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  it('parses images and labels', () => {
    const f = readIdx(images);
    expect(f.dims).toEqual([2, 2, 3]);
    expect(f.type).toBe('uint8');
    expect(Array.from(f.data)).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });
  it('detects and inflates gzip', () => {
    expect(readIdx(gzipSync(images))).toEqual(readIdx(images));
  });
  it('reads big-endian wider types', () => {
    expect(Array.from(readIdx(idx(0x0c, [3], [1, -2, 70000], 4)).data)).toEqual([1, -2, 70000]);
    expect(Array.from(readIdx(idx(0x0d, [2], [0.5, -1.25], 4)).data)).toEqual([0.5, -1.25]);
  });
  it('rejects truncated, padded, foreign and corrupt data with the file name', () => {
    expect(() => readIdx(images.subarray(0, images.length - 1), 'x.idx')).toThrow(/x.idx: truncated: dimensions \[2, 2, 3\] need 28 bytes, the file has 27/);
    expect(() => readIdx(new Uint8Array([...images, 0]), 'x.idx')).toThrow(/x.idx: 1 unexpected bytes/);
    expect(() => readIdx(new TextEncoder().encode('hello world'), 'y')).toThrow(/y: not an IDX file/);
    expect(() => readIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]))).toThrow(/unknown IDX element type 0x42/);
    expect(() => readIdx(gzipSync(images).subarray(0, 20), 'z.gz')).toThrow(ValueError);
    expect(() => readIdx(new Uint8Array([0, 0, 8, 3, 0, 0]), 'h')).toThrow(/h: truncated header/);
  });
});

describe('npz (the course\'s mnist.npz)', () => {
  it('parses .npy of uint8, int64, float32 and float64', () => {
    expect(parseNpy(npy('|u1', [2, 2], [1, 2, 3, 255]))).toEqual({ shape: [2, 2], data: Float64Array.from([1, 2, 3, 255]), dtype: '|u1' });
    expect(Array.from(parseNpy(npy('<i8', [3], [7, 0, 9])).data)).toEqual([7, 0, 9]);
    expect(Array.from(parseNpy(npy('<f4', [2], [0.25, -3])).data)).toEqual([0.25, -3]);
    expect(Array.from(parseNpy(npy('<f8', [1], [Math.PI])).data)).toEqual([Math.PI]);
  });
  it('rejects damaged arrays and archives', () => {
    const good = npy('|u1', [4], [1, 2, 3, 4]);
    expect(() => parseNpy(good.subarray(0, good.length - 1), 'a.npy')).toThrow(/a.npy: truncated/);
    expect(() => parseNpy(new Uint8Array(20), 'b.npy')).toThrow(/b.npy: not a .npy array/);
    expect(() => parseNpz(new Uint8Array([1, 2, 3]), 'c.npz')).toThrow(/c.npz: not a readable .npz/);
  });
  it('loadMnist reads an mnist.npz with the course\'s scaling', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmnet-npz-'));
    const file = join(dir, 'mnist.npz');
    const px = Array.from({ length: 3 * 4 }, (_, i) => i * 20);
    writeFileSync(file, zipSync({
      'x_train.npy': npy('|u1', [3, 2, 2], px),
      'y_train.npy': npy('<i8', [3], [0, 9, 4]),
      'x_test.npy': npy('|u1', [1, 2, 2], [0, 0, 255, 255]),
      'y_test.npy': npy('<i8', [1], [7]),
    }));
    const d = await loadMnist({ dir: file });
    expect(d.xTrain.shape).toEqual([3, 1, 2, 2]);
    expect(d.xTrain.data[3]).toBeCloseTo(60 / 255, 6);
    expect(Array.from(d.labelsTrain)).toEqual([0, 9, 4]);
    expect(Array.from(d.yTest.data)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    writeFileSync(file, zipSync({ 'x_train.npy': npy('|u1', [1, 1, 1], [1]) }));
    await expect(loadMnist({ dir: file })).rejects.toThrow(/mnist.npz: missing y_train, x_test, y_test/);
  });
});

describe('loadMnist from IDX folders', () => {
  function folder(files: Record<string, Uint8Array>) {
    const dir = mkdtempSync(join(tmpdir(), 'wasmnet-idx-'));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    return dir;
  }
  const images = idx(0x08, [2, 2, 2], [0, 255, 255, 0, 51, 102, 153, 204]);
  const labels = idx(0x08, [2], [3, 8]);

  it('reads the four standard names, plain or gzipped', async () => {
    const dir = folder({
      [MNIST_FILES.trainImages]: images,
      [`${MNIST_FILES.trainLabels}.gz`]: gzipSync(labels),
      [`${MNIST_FILES.testImages}.gz`]: gzipSync(images),
      [MNIST_FILES.testLabels]: labels,
    });
    const d = await loadMnist({ dir });
    expect(d.xTrain.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(d.xTrain.data.subarray(4))).toEqual([0.2, 0.4, 0.6, 0.8].map(Math.fround));
    expect(Array.from(d.labelsTest)).toEqual([3, 8]);
  });

  it('names the file that is wrong', async () => {
    const dir = folder({
      [MNIST_FILES.trainImages]: images,
      [MNIST_FILES.trainLabels]: idx(0x08, [3], [1, 2, 3]),
      [MNIST_FILES.testImages]: images,
      [MNIST_FILES.testLabels]: idx(0x08, [2], [1, 12]),
    });
    await expect(loadMnist({ dir })).rejects.toThrow(/train-labels-idx1-ubyte: 3 labels for 2 images/);
    await expect(loadMnist({ dir: folder({}) })).rejects.toThrow(/no train-images-idx3-ubyte/);
    const badLabel = folder({
      [MNIST_FILES.trainImages]: images,
      [MNIST_FILES.trainLabels]: labels,
      [MNIST_FILES.testImages]: images,
      [MNIST_FILES.testLabels]: idx(0x08, [2], [1, 12]),
    });
    await expect(loadMnist({ dir: badLabel })).rejects.toThrow(/t10k-labels-idx1-ubyte: label 1 is 12, expected a digit 0–9/);
  });

  it('gives the same tensors from IDX files and from an mnist.npz, and rejects the same bad labels', async () => {
    const px = [0, 255, 255, 0, 51, 102, 153, 204];
    const idxData = await loadMnist({
      dir: folder({
        [MNIST_FILES.trainImages]: images, [MNIST_FILES.trainLabels]: labels,
        [MNIST_FILES.testImages]: images, [MNIST_FILES.testLabels]: labels,
      }),
      limit: 1,
    });
    const npz = (x: Uint8Array, y: Uint8Array) => {
      const file = join(folder({}), 'mnist.npz');
      writeFileSync(file, zipSync({ 'x_train.npy': x, 'y_train.npy': y, 'x_test.npy': x, 'y_test.npy': y }));
      return file;
    };
    const npzData = await loadMnist({ dir: npz(npy('|u1', [2, 2, 2], px), npy('<i8', [2], [3, 8])), limit: 1 });
    for (const key of ['xTrain', 'yTrain', 'xTest', 'yTest'] as const) {
      expect(npzData[key].shape).toEqual(idxData[key].shape);
      expect(Array.from(npzData[key].data)).toEqual(Array.from(idxData[key].data));
    }
    expect(Array.from(npzData.labelsTrain)).toEqual([3]);
    // Float pixels are taken as already scaled.
    const floats = await loadMnist({ dir: npz(npy('<f4', [2, 2, 2], px.map((v) => v / 255)), npy('<i8', [2], [3, 8])) });
    expect(Array.from(floats.xTest.data)).toEqual(Array.from(idxData.xTest.data));
    await expect(loadMnist({ dir: npz(npy('|u1', [2, 2, 2], px), npy('<f8', [2], [3, 2.5])) })).rejects.toThrow(/mnist.npz: y_train\[1\] is 2.5, expected a digit 0–9/);
    await expect(loadMnist({ dir: npz(npy('|u1', [2, 2, 2], px), npy('<i8', [2], [-1, 3])) })).rejects.toThrow(/mnist.npz: y_train\[0\] is -1, expected a digit 0–9/);
  });
});

describe('readIdx: every element type, and each way a file is refused, by its exact message', () => {
  /** An IDX file of `type` with big-endian values written by `put`. */
  function typed(type: number, size: number, values: number[], put: (v: DataView, o: number, x: number) => void): Uint8Array {
    const out = new Uint8Array(8 + size * values.length);
    const v = new DataView(out.buffer);
    out.set([0, 0, type, 1]);
    v.setUint32(4, values.length);
    values.forEach((x, i) => put(v, 8 + size * i, x));
    return out;
  }

  it('reads uint8, int8, int16, int32, float32 and float64 into their typed arrays, big-endian', () => {
    const cases: [number, number, number[], (v: DataView, o: number, x: number) => void, string, unknown][] = [
      [0x08, 1, [0, 200, 255], (v, o, x) => v.setUint8(o, x), 'uint8', Uint8Array],
      [0x09, 1, [-128, -1, 0, 127], (v, o, x) => v.setInt8(o, x), 'int8', Int8Array],
      [0x0b, 2, [-32768, -2, 300, 32767], (v, o, x) => v.setInt16(o, x), 'int16', Int16Array],
      [0x0c, 4, [-(2 ** 31), -3, 70000, 2 ** 31 - 1], (v, o, x) => v.setInt32(o, x), 'int32', Int32Array],
      [0x0d, 4, [-1.5, 0.1, 3e38], (v, o, x) => v.setFloat32(o, x), 'float32', Float32Array],
      [0x0e, 8, [-1e300, Math.PI, 5e-324], (v, o, x) => v.setFloat64(o, x), 'float64', Float64Array],
    ];
    for (const [type, size, values, put, name, kind] of cases) {
      const f = readIdx(typed(type, size, values, put));
      expect(f.type, name).toBe(name);
      expect(f.data, name).toBeInstanceOf(kind);
      expect(Array.from(f.data), name).toEqual(name === 'float32' ? values.map(Math.fround) : values);
      expect(f.dims).toEqual([values.length]);
    }
  });

  it('1-byte data is a copy: changing the file afterwards does not change it', () => {
    for (const type of [0x08, 0x09]) {
      const file = typed(type, 1, [1, 2, 3], (v, o, x) => v.setUint8(o, x));
      const f = readIdx(file);
      file.fill(9);
      expect(Array.from(f.data)).toEqual([1, 2, 3]);
      expect(f.data.byteOffset).toBe(0);
    }
  });

  it('refuses with messages that name the file (or "IDX data"), the sizes and the type', () => {
    const msg = (bytes: Uint8Array, name?: string) => messageOf(() => readIdx(bytes, name));
    expect(msg(new Uint8Array([0, 0, 8]), 'a.idx')).toBe('a.idx: 3 bytes is too short for an IDX header');
    expect(msg(new Uint8Array([0, 0, 8]))).toBe('IDX data: 3 bytes is too short for an IDX header');
    expect(msg(new Uint8Array([0]), 7 as unknown as string)).toBe('IDX data: 1 byte is too short for an IDX header');
    expect(msg(new Uint8Array([0, 1, 8, 1]), 'a')).toBe('a: not an IDX file (magic must start with two zero bytes)');
    expect(msg(new Uint8Array([1, 0, 8, 1]), 'a')).toBe('a: not an IDX file (magic must start with two zero bytes)');
    expect(msg(new Uint8Array([0, 0, 0x0a, 1]), 'a')).toBe('a: unknown IDX element type 0xa');
    expect(msg(new Uint8Array([0, 0, 8, 0]), 'a')).toBe('a: IDX rank 0 (no dimensions)');
    expect(msg(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0]), 'a')).toBe('a: truncated header (11 bytes, rank 2 needs 12)');
    expect(msg(typed(0x0b, 2, [1, 2], (v, o, x) => v.setInt16(o, x)).subarray(0, 11), 'a')).toBe('a: truncated: dimensions [2] need 12 bytes, the file has 11');
    expect(msg(new Uint8Array([...typed(0x0c, 4, [1], (v, o, x) => v.setInt32(o, x)), 0, 0]), 'a')).toBe('a: 2 unexpected bytes after the data of dimensions [1]');
    expect(msg(new Uint8Array([...idx(0x08, [2, 1], [1, 2]), 0]), 'a')).toBe('a: 1 unexpected bytes after the data of dimensions [2, 1]');
    expect(msg([0, 0, 8, 1] as unknown as Uint8Array, 'a')).toBe('readIdx: bytes must be a Uint8Array, got object');
    // A header of exactly its length with a zero dimension: no data, no error.
    expect(readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 0])).dims).toEqual([0]);
  });

  it('gzip: too short for its header and trailer, a claimed size deflate cannot reach, data that does not inflate', () => {
    const msg = (bytes: Uint8Array) => messageOf(() => readIdx(bytes, 'g.gz'));
    const gz = gzipSync(idx(0x08, [3], [1, 2, 3]));
    expect(msg(gz.subarray(0, 17))).toBe('g.gz: corrupt gzip data (17 bytes is shorter than gzip\'s header and trailer)');
    // 18 bytes pass the length check and go to the trailer's claims.
    expect(msg(gz.subarray(0, 18))).toMatch(/^g\.gz: corrupt gzip data \((?!18 bytes is shorter)/);
    const huge = gz.slice();
    new DataView(huge.buffer).setUint32(huge.length - 4, 1032 * huge.length + 1025, true);
    expect(msg(huge)).toBe(`g.gz: corrupt gzip data (claims ${1032 * huge.length + 1025} bytes from ${huge.length})`);
    const most = gz.slice();
    new DataView(most.buffer).setUint32(most.length - 4, 1032 * most.length + 1024, true);
    expect(msg(most)).toBe('g.gz: corrupt gzip data (the CRC-32 or size in its trailer does not match the inflated data)');
    const broken = gz.slice();
    broken[10] = 0xff; // the first deflate block: a reserved block type
    expect(msg(broken)).toMatch(/^g\.gz: corrupt gzip data \((?!the CRC-32).+\)$/);
    // Both magic bytes make it gzip, and two are enough to be taken for gzip; either alone is an IDX file that is not one.
    expect(msg(new Uint8Array([0x1f, 0, 8, 1]))).toBe('g.gz: not an IDX file (magic must start with two zero bytes)');
    expect(msg(new Uint8Array([0, 0x8b, 8, 1]))).toBe('g.gz: not an IDX file (magic must start with two zero bytes)');
    expect(msg(new Uint8Array([0x1f, 0x8b]))).toBe('g.gz: corrupt gzip data (2 bytes is shorter than gzip\'s header and trailer)');
    expect(msg(new Uint8Array([0x1f]))).toBe('g.gz: 1 byte is too short for an IDX header');
  });
});

describe('parseNpy: header forms and refusals', () => {
  /** A .npy of version `major` with `header` as its dictionary text and `data` after it. */
  function raw(major: number, header: string, data: number[] = []): Uint8Array {
    const text = new TextEncoder().encode(header);
    const start = major === 1 ? 10 : 12;
    const out = new Uint8Array(start + text.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const v = new DataView(out.buffer);
    if (major === 1) v.setUint16(8, text.length, true);
    else v.setUint32(8, text.length, true);
    out.set(text, start);
    out.set(data, start + text.length);
    return out;
  }
  const msg = (bytes: Uint8Array) => messageOf(() => parseNpy(bytes, 'p.npy'));

  it('reads version 1 and 2 headers, every byte order mark, big-endian data, and a 0-d array', () => {
    expect(parseNpy(raw(2, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", [1, 0, 0, 1]))).toEqual({ shape: [2], data: Float64Array.from([1, 256]), dtype: '<u2' });
    expect(Array.from(parseNpy(raw(1, "{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }", [1, 0, 0, 1])).data)).toEqual([256, 1]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '=i2', 'fortran_order': False, 'shape': (1,), }", [0xff, 0xff])).data)).toEqual([-1]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", [1, 0])).data)).toEqual([1, 0]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", [0x80])).data)).toEqual([-128]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", [0xff, 0xff, 0xff, 0xfe])).data)).toEqual([-2]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '>u4', 'fortran_order': False, 'shape': (1,), }", [0xff, 0xff, 0xff, 0xfe])).data)).toEqual([2 ** 32 - 2]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '>u8', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 1, 0, 0, 0, 2])).data)).toEqual([2 ** 32 + 2]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0x3f, 0xc0, 0, 0])).data)).toEqual([1.5]);
    expect(Array.from(parseNpy(raw(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", [0x3f, 0xf8, 0, 0, 0, 0, 0, 0])).data)).toEqual([1.5]);
    expect(parseNpy(raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", [0, 0, 0, 0, 0, 0, 0xf8, 0x3f]))).toEqual({ shape: [], data: Float64Array.from([1.5]), dtype: '<f8' });
    expect(parseNpy(raw(1, "{'descr':'<f8','fortran_order':False,'shape':(0, 3)}"))).toEqual({ shape: [0, 3], data: new Float64Array(0), dtype: '<f8' });
    // Spaces where Python's repr puts none, and a trailing comma with a space.
    expect(parseNpy(raw(1, "{'descr' :  '|u1', 'fortran_order' : False, 'shape' : (3, ), }", [7, 8, 9]))).toEqual({ shape: [3], data: Float64Array.from([7, 8, 9]), dtype: '|u1' });
    // Data past what the shape needs is ignored (NumPy pads nothing, but other writers may).
    expect(Array.from(parseNpy(raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", [5, 6])).data)).toEqual([5]);
  });

  it('reads a version 2 header longer than 65,535 bytes (its length is 4 bytes)', () => {
    const long = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }" + ' '.repeat(70_000) + '\n';
    expect(parseNpy(raw(2, long, [4, 5]))).toEqual({ shape: [2], data: Float64Array.from([4, 5]), dtype: '|u1' });
  });

  it('loadNpz names a file it cannot read', async () => {
    await expect(loadNpz('/nonexistent-wasmnet-dir/m.npz')).rejects.toThrow(/^cannot read \/nonexistent-wasmnet-dir\/m\.npz: .*ENOENT/);
  });

  it('refuses with messages that name the file, the header and what is unsupported', () => {
    expect(msg(raw(1, '').subarray(0, 9))).toBe('p.npy: not a .npy array (bad magic)');
    const magic = raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", [1]);
    for (let i = 0; i < 6; i++) {
      const bad = magic.slice();
      bad[i] ^= 1;
      expect(msg(bad), `magic byte ${i}`).toBe('p.npy: not a .npy array (bad magic)');
    }
    expect(msg(raw(2, '').subarray(0, 11))).toBe('p.npy: truncated .npy header');
    // A header of length 0 (v1: 10 bytes in all, v2: 12) is read, and is malformed, not truncated.
    expect(msg(raw(1, ''))).toBe('p.npy: malformed .npy header ""');
    expect(msg(raw(2, ''))).toBe('p.npy: malformed .npy header ""');
    // The message shows the header without the padding around it.
    expect(msg(raw(1, "  {'descr': '|u1', 'shape': (1,), }   \n"))).toBe(`p.npy: malformed .npy header ${JSON.stringify("{'descr': '|u1', 'shape': (1,), }")}`);
    expect(msg(raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }").subarray(0, 20))).toBe('p.npy: truncated .npy header');
    expect(msg(raw(1, "{'fortran_order': False, 'shape': (1,), }"))).toBe(`p.npy: malformed .npy header ${JSON.stringify("{'fortran_order': False, 'shape': (1,), }")}`);
    expect(msg(raw(1, "{'descr': '|u1', 'shape': (1,), }"))).toMatch(/^p\.npy: malformed \.npy header/);
    expect(msg(raw(1, "{'descr': '|u1', 'fortran_order': False, }"))).toMatch(/^p\.npy: malformed \.npy header/);
    expect(msg(raw(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (1,), }", [1]))).toBe('p.npy: Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
    expect(msg(raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1.5,), }", [1]))).toBe('p.npy: bad shape (1.5,)');
    expect(msg(raw(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }", [1]))).toBe('p.npy: bad shape (-1,)');
    expect(msg(raw(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", [1]))).toBe('p.npy: unsupported dtype <c8 (supported: integers, bool, float32, float64)');
    expect(msg(raw(1, "{'descr': '!f4', 'fortran_order': False, 'shape': (1,), }", [1]))).toBe('p.npy: unsupported dtype !f4 (supported: integers, bool, float32, float64)');
    expect(msg(raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", [0, 0, 0, 0]))).toBe('p.npy: truncated: shape (2, 2) of <f4 needs 16 data bytes, found 4');
    expect(() => parseNpy('x' as unknown as Uint8Array, 'p.npy')).toThrow('p.npy: bytes must be a Uint8Array, got "x"');
    expect(() => parseNpz('x' as unknown as Uint8Array)).toThrow('npz data: bytes must be a Uint8Array, got "x"');
  });
});
