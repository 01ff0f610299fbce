// loadMnist and mnistFromIdx (ts/data/mnist.ts): each option check and each refusal by its exact message, the
// file names a MNIST folder may use, empty training sets, shared memory; against small generated files.
import { zipSync } from 'fflate';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MNIST_FILES, MNIST_PIXELS, MNIST_SIDE, loadMnist, mnistFromIdx, readIdx } from 'wasmnet';
import { npyBytes } from './helpers/npy-writer.js';

/** A uint8 (or `type`) IDX file of `dims` holding `values`. */
function idx(dims: number[], values: number[], type = 0x08): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length);
  out.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d));
  out.set(values, header);
  return out;
}

/** A .npy of bytes (`|u1`) with `shape`. */
const npy = (shape: number[], values: number[]) => npyBytes('|u1', shape, values);

function folder(files: Record<string, Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmnet-mnist-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

/** 2 images of 2×3 pixels and their labels. */
const images = idx([2, 2, 3], [0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0]);
const labels = idx([2], [4, 9]);
const standard = () => folder({ [MNIST_FILES.trainImages]: images, [MNIST_FILES.trainLabels]: labels, [MNIST_FILES.testImages]: images, [MNIST_FILES.testLabels]: labels });

describe('loadMnist: options', () => {
  it('refuses a dir that is not a string, train that is not a boolean, limits that are not integers ≥ 1', async () => {
    await expect(loadMnist({ dir: 5 as unknown as string })).rejects.toThrow(/^loadMnist dir must be a path string, got 5$/);
    await expect(loadMnist({ train: 'no' as unknown as boolean })).rejects.toThrow(/^loadMnist train must be true or false, got "no"$/);
    await expect(loadMnist({ limit: 1.5 })).rejects.toThrow(/^loadMnist limit must be an integer ≥ 1, got 1\.5$/);
    await expect(loadMnist({ testLimit: -2 })).rejects.toThrow(/^loadMnist testLimit must be an integer ≥ 1, got -2$/);
    await expect(loadMnist({ testLimit: 0 })).rejects.toThrow(/^loadMnist testLimit must be an integer ≥ 1, got 0$/);
    await expect(loadMnist({ dir: standard(), bogus: 1 } as never)).rejects.toThrow(/loadMnist options/);
  });

  it('a limit equal to the images held is all of them; one more is refused', async () => {
    const dir = standard();
    expect((await loadMnist({ dir, limit: 2, testLimit: 2 })).xTrain.shape).toEqual([2, 1, 2, 3]);
    await expect(loadMnist({ dir, limit: 3 })).rejects.toThrow(/^loadMnist limit is 3, but .*train-images-idx3-ubyte holds 2 images: leave it out to use them all$/);
  });

  it('train: false gives an empty training set shaped like the test images', async () => {
    const d = await loadMnist({ dir: standard(), train: false });
    expect(d.xTrain.shape).toEqual([0, 1, 2, 3]);
    expect(d.yTrain.shape).toEqual([0, 10]);
    expect(d.labelsTrain.length).toBe(0);
    expect(Array.from(d.labelsTest)).toEqual([4, 9]);
  });

  it('images are scaled to [0, 1] in shared memory (so that workers read them where they are)', async () => {
    const d = await loadMnist({ dir: standard() });
    expect(d.xTrain.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(d.xTest.data)).toEqual([0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0].map((v) => Math.fround(v / 255)));
    expect(MNIST_PIXELS).toBe(MNIST_SIDE * MNIST_SIDE);
    expect(MNIST_PIXELS).toBe(784);
  });
});

describe('loadMnist: files', () => {
  it('reads files named with a dot before "idx" (train-images.idx3-ubyte), as some copies of MNIST are', async () => {
    const dotted = (name: string) => name.replace(/-idx(\d)-/, '.idx$1-');
    const dir = folder({
      [dotted(MNIST_FILES.trainImages)]: images, [dotted(MNIST_FILES.trainLabels)]: labels,
      [dotted(MNIST_FILES.testImages)]: images, [dotted(MNIST_FILES.testLabels)]: labels,
    });
    expect(Array.from((await loadMnist({ dir })).labelsTrain)).toEqual([4, 9]);
  });

  it('names the folder, the file it looked for and the four names a folder holds', async () => {
    const dir = folder({});
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${dir}: no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz): a MNIST folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte`,
    );
  });

  it('an mnist.npz: missing arrays (and none at all), arrays of the wrong shapes, train: false', async () => {
    const npz = (arrays: Record<string, Uint8Array>) => {
      const file = join(folder({}), 'mnist.npz');
      writeFileSync(file, zipSync(arrays));
      return file;
    };
    const x = npy([2, 2, 3], [0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0]);
    const y = npy([2], [4, 9]);
    let file = npz({ 'x_train.npy': x, 'other.npy': y });
    await expect(loadMnist({ dir: file })).rejects.toThrow(`${file}: missing y_train, x_test, y_test (found x_train, other)`);
    file = npz({ 'readme.txt': new Uint8Array(1) });
    await expect(loadMnist({ dir: file })).rejects.toThrow(`${file}: missing x_train, y_train, x_test, y_test (found no arrays)`);
    file = npz({ 'x_train.npy': npy([3, 4], Array(12).fill(0)), 'y_train.npy': y, 'x_test.npy': x, 'y_test.npy': y });
    await expect(loadMnist({ dir: file })).rejects.toThrow(`${file}: x_train must have shape (n, rows, cols), got (3, 4)`);
    file = npz({ 'x_train.npy': x, 'y_train.npy': y, 'x_test.npy': x, 'y_test.npy': npy([2, 1], [4, 9]) });
    await expect(loadMnist({ dir: file })).rejects.toThrow(`${file}: y_test must have shape (2,), got (2, 1)`);
    file = npz({ 'x_train.npy': x, 'y_train.npy': npy([3], [1, 2, 3]), 'x_test.npy': x, 'y_test.npy': y });
    await expect(loadMnist({ dir: file })).rejects.toThrow(`${file}: y_train must have shape (2,), got (3)`);
    file = npz({ 'x_train.npy': x, 'y_train.npy': y, 'x_test.npy': x, 'y_test.npy': y });
    const d = await loadMnist({ dir: file, train: false, testLimit: 1 });
    expect([d.xTrain.shape, d.xTest.shape, Array.from(d.labelsTest)]).toEqual([[0, 1, 2, 3], [1, 1, 2, 3], [4]]);
    await expect(loadMnist({ dir: file, testLimit: 3 })).rejects.toThrow(`loadMnist testLimit is 3, but ${file}'s x_test holds 2 images: leave it out to use them all`);
    await expect(loadMnist({ dir: file, limit: 3 })).rejects.toThrow(`loadMnist limit is 3, but ${file}'s x_train holds 2 images: leave it out to use them all`);
  });
});

describe('mnistFromIdx', () => {
  it('refuses images that are not uint8 [n, rows, cols] and labels that are not uint8 [n], by name or by default', () => {
    const flat = readIdx(idx([12], Array(12).fill(0)));
    const ints = readIdx(new Uint8Array([0, 0, 0x0c, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    const labelFile = readIdx(labels);
    expect(() => mnistFromIdx(flat, labelFile)).toThrow(/^images: expected uint8 images of dimensions \[n, rows, cols\], got uint8 \[12\]$/);
    expect(() => mnistFromIdx({ ...ints, name: 'a.idx' }, labelFile)).toThrow(/^a\.idx: expected uint8 images of dimensions \[n, rows, cols\], got int32 \[1, 1, 1\]$/);
    const imageFile = readIdx(images);
    expect(() => mnistFromIdx(imageFile, readIdx(idx([2, 1], [4, 9])))).toThrow(/^labels: expected uint8 labels of dimensions \[n\], got uint8 \[2, 1\]$/);
    expect(() => mnistFromIdx(imageFile, { ...readIdx(new Uint8Array([0, 0, 0x09, 1, 0, 0, 0, 2, 4, 9])), name: 'l.idx' })).toThrow(/^l\.idx: expected uint8 labels of dimensions \[n\], got int8 \[2\]$/);
    expect(() => mnistFromIdx(imageFile, labelFile, 3)).toThrow(/^mnistFromIdx limit is 3, but images holds 2 images: leave it out to use them all$/);
    expect(Array.from(mnistFromIdx(imageFile, labelFile, 1).labels)).toEqual([4]);
  });
});
