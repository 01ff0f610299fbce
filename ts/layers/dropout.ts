/**
 * Inverted dropout (Srivastava et al.; PyTorch's `Dropout`): in training mode
 * each value is kept with probability 1 − rate and scaled by 1/(1 − rate),
 * else zeroed, and backprop goes through the same mask; in inference mode the
 * layer is the identity.
 *
 * The mask is a pure function of (seed, step, the value's index in the
 * mini-batch): the same seed gives the same masks however a batch is cut into
 * chunks (or spread over workers), in Node and in browsers. `step` advances
 * with each `update()` — once per training step — so a layer used on its own
 * keeps its mask until then (which is what gradient checking needs).
 * Kernel: `crate/src/dropout.rs`; reference `test/reference/dropout.ts`; test `test/dropout.test.ts`.
 */
import { ShapeError, ValueError, checkInt, optionsObject, show } from '../core/errors.js';
import { type F32Array, growableF32, growableU8 } from '../core/memory.js';
import { randomSeed } from '../core/rng.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { type BuildContext, type GradcheckCase, Layer } from './layer.js';

/** Options of `DropoutLayer` and `net.addDropout`. */
export interface DropoutOptions {
  /** Seeds the masks (default: from the clock; in a network, from the network's seed and the layer's position). */
  seed?: number;
}

/** A dropout layer as a model file stores it (`toSpec()`). */
export interface DropoutSpec {
  /** The registry name. */
  kind: 'Dropout';
  /** The drop rate. */
  rate: number;
  /** The masks' seed. */
  seed: number;
}

/**
 * Inverted dropout (PyTorch's `Dropout`) with masks that are a pure function of
 * (seed, step, index in the batch). See [docs/dropout.md](../../docs/dropout.md).
 */
export class DropoutLayer extends Layer {
  readonly kind = 'Dropout' as const;
  /** Probability of dropping a value while training, in [0, 1). */
  readonly rate: number;
  /** Seed of the masks (with `step` and each value's index in the batch). */
  readonly seed: number;
  /** Training steps taken: the masks' counter. */
  step = 0;
  private readonly out = growableF32();
  private readonly maskBuf = growableU8();
  private readonly da = growableF32();
  /** Whether the last forward pass dropped (training) or passed through (inference). */
  private dropped = false;

  constructor(rate: number, options: DropoutOptions = {}) {
    super();
    const { seed } = optionsObject('Dropout options', options, ['seed']);
    // The kernel takes the rate as a 32-bit float: a rate within 2⁻²⁵ of 1 would round to 1 there and trap.
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || Math.fround(rate) >= 1) {
      throw new ValueError(`Dropout rate must be a number in [0, 1) (also as a 32-bit float), got ${show(rate)}`);
    }
    this.rate = rate;
    this.seed = seed === undefined ? randomSeed() : checkInt('Dropout seed', seed, 0, 2 ** 32 - 1);
  }

  /** `net.addDropout(rate)`: seeded from the network's seed and the layer's position, so training stays reproducible. */
  static forNetwork(ctx: BuildContext, rate: number, options: DropoutOptions = {}): DropoutLayer {
    const { seed = (Math.imul(ctx.seed ^ 0x2545f491, 0x9e3779b1) + ctx.index) >>> 0 } = optionsObject('addDropout options', options, ['seed']);
    return new DropoutLayer(rate, { seed });
  }

  /** Training mode (the mask fixed until `update()`) and inference mode (the identity). */
  static gradcheckCases(): GradcheckCase[] {
    return [
      { label: 'rate 0.3, training', input: [4, 5], training: true, smooth: true, build: () => new DropoutLayer(0.3, { seed: 3 }) },
      { label: 'rate 0.3, inference', input: [4, 5], smooth: true, build: () => new DropoutLayer(0.3, { seed: 3 }) },
    ];
  }

  /** The layer a model file's spec describes. */
  static fromSpec(spec: DropoutSpec, _ctx: BuildContext): DropoutLayer {
    return new DropoutLayer(spec.rate, { seed: spec.seed });
  }

  toSpec(): DropoutSpec {
    return { kind: 'Dropout', rate: this.rate, seed: this.seed };
  }

  override trainingState(): Record<string, number> {
    return { step: this.step };
  }

  override setTrainingState(state: Record<string, number>): void {
    this.step = checkInt('Dropout step', state.step, 0, 2 ** 32 - 1);
  }

  /** 1 where the last training pass kept a value, a live view (null after an inference pass). */
  get mask(): Uint8Array | null {
    if (!this.dropped || !this.inShape) return null;
    return this.maskBuf.current.view().subarray(0, this.batch * product(this.inShape));
  }

  build(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`Dropout expects input samples with positive dimensions, got ${show(inputShape)}`);
    }
    this.inShape = [...inputShape];
    this.outShape = [...inputShape];
    this.input = null;
    return [...inputShape];
  }

  protected override get shapeAgnostic(): boolean {
    return true;
  }

  forwardBuffer(input: F32Array, n: number, record = true, offset = 0): F32Array {
    this.beginForward(input, n, record);
    this.dropped = this.training && this.rate > 0;
    if (!this.dropped) return input;
    const cols = product(this.inShape!);
    const out = this.out.ensure(n * cols);
    const mask = this.maskBuf.ensure(n * cols);
    kernels().wn_dropout_forward(input.ptr, out.ptr, mask.ptr, n, cols, offset, this.rate, this.seed, this.step >>> 0);
    return out;
  }

  backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.assertAlive();
    if (!wantInputGrad) return null;
    if (!this.dropped) return delta;
    const len = this.batch * product(this.inShape!);
    const da = this.da.ensure(len);
    // The kernel's forward scale, f32(1/(1 − f32(rate))), bit for bit.
    kernels().wn_dropout_backward(delta.ptr, this.maskBuf.current.ptr, len, Math.fround(1 / (1 - Math.fround(this.rate))), da.ptr);
    return da;
  }

  /** Advances to the next training step's masks (a network calls this once per batch). */
  override update(): void {
    this.assertAlive();
    this.step = (this.step + 1) % 2 ** 32;
  }

  batchBytes(n: number): number {
    return 9 * n * product(this.inShape!);
  }

  protected freeBuffers(): void {
    this.out.free();
    this.maskBuf.free();
    this.da.free();
  }
}
