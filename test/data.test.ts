// IDX and npz parsing (ts/data/) on small generated files, plain, gzipped and damaged.
import { gzipSync, zipSync } from 'fflate';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MNIST_FILES, ValueError, loadMnist, parseNpy, parseNpz, readIdx } from 'wasmnet';

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

function npy(descr: string, shape: number[], values: number[]): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const size = { '|u1': 1, '<i8': 8, '<f4': 4, '<f8': 8 }[descr]!;
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const v = new DataView(out.buffer, 10 + header.length);
  values.forEach((x, i) => {
    if (descr === '|u1') v.setUint8(i, x);
    else if (descr === '<i8') v.setBigInt64(8 * i, BigInt(x), true);
    else if (descr === '<f4') v.setFloat32(4 * i, x, true);
    else v.setFloat64(8 * i, x, true);
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
