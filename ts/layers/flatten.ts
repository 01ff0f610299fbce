/**
 * The course's `FlattenLayer`: `[n, c, h, w]` → `[n, c·h·w]` for the dense
 * layers after it. NCHW is already that layout in memory, so the passes hand
 * the same buffer through without copying.
 */
import { ShapeError, show } from '../core/errors.js';
import type { F32Array } from '../core/memory.js';
import { product } from '../core/tensor.js';
import { type BuildContext, type GradcheckCase, Layer } from './layer.js';

/** A flatten layer as a model file stores it (`toSpec()`). */
export interface FlattenSpec {
  /** The registry name. */
  kind: 'Flatten';
}

/**
 * The course's `FlattenLayer`: `[n, c, h, w]` → `[n, c·h·w]`, no copy; backprop reshapes back.
 * See [docs/dense.md](../../docs/dense.md).
 */
export class FlattenLayer extends Layer {
  readonly kind = 'Flatten' as const;

  /** `net.addFlatten()`. */
  static forNetwork(_ctx: BuildContext): FlattenLayer {
    return new FlattenLayer();
  }

  /** The shape `wasmnet gradcheck` checks. */
  static gradcheckCases(): GradcheckCase[] {
    return [{ label: '[2, 3, 4] → [24]', input: [2, 3, 4], smooth: true, build: () => new FlattenLayer() }];
  }

  /** The layer a model file's spec describes. */
  static fromSpec(_spec: FlattenSpec, _ctx: BuildContext): FlattenLayer {
    return new FlattenLayer();
  }

  toSpec(): FlattenSpec {
    return { kind: 'Flatten' };
  }

  /** `[n, c, h, w]` of the last input, or null before the first evaluate. */
  get shape(): readonly number[] | null {
    return this.inShape && this.input ? [this.batch, ...this.inShape] : null;
  }

  build(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`Flatten expects input samples with positive dimensions, got ${show(inputShape)}`);
    }
    this.inShape = [...inputShape];
    this.outShape = [product(inputShape)];
    this.input = null;
    return [...this.outShape];
  }

  protected override get shapeAgnostic(): boolean {
    return true;
  }

  forwardBuffer(input: F32Array, n: number, record = true): F32Array {
    this.beginForward(input, n, record);
    return input;
  }

  backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.assertAlive();
    return wantInputGrad ? delta : null;
  }

  /** Flatten passes its input's buffer through: nothing of its own. */
  batchBytes(): number {
    return 0;
  }

  /** Does nothing: flattening has no parameters. */
  override update(): void {}

  protected freeBuffers(): void {}
}
