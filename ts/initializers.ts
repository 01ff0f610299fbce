/**
 * Weight initializers. `RandnAverage` is the course's: normal with variance
 * 1 over the average fan, 2/(fan_in + fan_out) (Glorot/Xavier normal). The
 * layer then multiplies by its activation's `factor`.
 */
import { checkInt, optionsObject } from './core/errors.js';
import { Rng, randomSeed } from './core/rng.js';

/** Draws a layer's initial weights; the layer multiplies them by its activation's `factor`. */
export abstract class Initializer {
  /** A filter bank `[m, c, fh, fw]`, row-major. */
  abstract ffun(m: number, c: number, fh: number, fw: number, rng?: Rng): Float32Array;
  /** A dense weight matrix `[inputSize, outputSize]`, row-major. */
  abstract wfun(inputSize: number, outputSize: number, rng?: Rng): Float32Array;
}

/** The course's initializer: normal weights with variance 2/(fan_in + fan_out) (Glorot/Xavier normal). */
export class RandnAverage extends Initializer {
  private readonly rng: Rng;

  /** `seed` is used when a layer does not pass its network's generator. */
  constructor(options: { seed?: number } = {}) {
    super();
    const { seed } = optionsObject('RandnAverage options', options, ['seed']);
    this.rng = new Rng(seed === undefined ? randomSeed() : checkInt('RandnAverage seed', seed, 0, 2 ** 32 - 1));
  }

  /** fan_in = c·fh·fw, fan_out = m·fh·fw, as Keras and PyTorch count a convolution's fans. */
  ffun(m: number, c: number, fh: number, fw: number, rng: Rng = this.rng): Float32Array {
    return normal(m * c * fh * fw, Math.sqrt(2 / (c * fh * fw + m * fh * fw)), rng);
  }

  wfun(inputSize: number, outputSize: number, rng: Rng = this.rng): Float32Array {
    return normal(inputSize * outputSize, Math.sqrt(2 / (inputSize + outputSize)), rng);
  }
}

function normal(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}
