/**
 * Average pooling: the mean over each `[ph, pw]` window, windows `stride`
 * apart (default: the area, non-overlapping, as max pooling crops). Backprop
 * spreads each window's delta equally, delta/(ph·pw), over its inputs.
 * Reference: PyTorch's `AvgPool2d` (no padding, `ceil_mode = false`).
 * Kernel: `crate/src/avgpool.rs`; reference `test/reference/avgpool2d.ts`; test `test/avgpool2d.test.ts`.
 */
import { checkShape, optionsObject } from '../core/errors.js';
import { growableF32 } from '../core/memory.js';
import type { F32Array } from '../core/memory.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { type BuildContext, type GradcheckCase, Layer } from './layer.js';
import { strideOption, windowedShape } from './window.js';

/** Options of `AvgPool2DLayer` and `net.addAvgPool2D`. */
export interface AvgPool2DOptions {
  /** Step between windows, a number or `[sh, sw]` (default: the area). */
  stride?: number | readonly [number, number];
}

/** An average-pooling layer as a model file stores it (`toSpec()`). */
export interface AvgPool2DSpec {
  /** The registry name. */
  kind: 'AvgPool2D';
  /** The window `[ph, pw]`. */
  area: [number, number];
  /** The step between windows `[sh, sw]`. */
  stride: [number, number];
}

/**
 * Average pooling: the mean over each `[ph, pw]` window, windows `stride` apart (PyTorch's
 * `AvgPool2d` without padding). See [docs/pooling.md](../../docs/pooling.md).
 */
export class AvgPool2DLayer extends Layer {
  readonly kind = 'AvgPool2D' as const;
  /** The window `[ph, pw]`. */
  readonly area: readonly [number, number];
  /** The step between windows `[sh, sw]` (default: the area). */
  readonly stride: readonly [number, number];
  private readonly out = growableF32();
  private readonly da = growableF32();

  constructor(area: readonly [number, number], options: AvgPool2DOptions = {}) {
    super();
    const { stride } = optionsObject('AvgPool2D options', options, ['stride']);
    const [ph, pw] = checkShape('AvgPool2D area', area, 2, 'the pooling area [ph, pw]');
    this.area = [ph, pw];
    this.stride = strideOption('AvgPool2D stride', stride, this.area);
  }

  /** `net.addAvgPool2D(area, options)`. */
  static forNetwork(_ctx: BuildContext, area: readonly [number, number], options: AvgPool2DOptions = {}): AvgPool2DLayer {
    return new AvgPool2DLayer(area, options);
  }

  /** The windows and strides `wasmnet gradcheck` checks. */
  static gradcheckCases(): GradcheckCase[] {
    const pool = (label: string, area: [number, number], options: AvgPool2DOptions): GradcheckCase => ({
      label,
      input: [2, 7, 9],
      smooth: true,
      build: () => new AvgPool2DLayer(area, options),
    });
    return [pool('2×2', [2, 2], {}), pool('3×3 overlapping, stride 2', [3, 3], { stride: 2 }), pool('2×3, stride [3, 1]', [2, 3], { stride: [3, 1] })];
  }

  /** The layer a model file's spec describes. */
  static fromSpec(spec: AvgPool2DSpec, _ctx: BuildContext): AvgPool2DLayer {
    return new AvgPool2DLayer(spec.area, { stride: spec.stride });
  }

  toSpec(): AvgPool2DSpec {
    return { kind: 'AvgPool2D', area: [...this.area], stride: [...this.stride] };
  }

  build(inputShape: readonly number[]): number[] {
    this.outShape = windowedShape('AvgPool2D', inputShape, this.area, this.stride);
    this.inShape = [...inputShape];
    this.input = null;
    return [...this.outShape];
  }

  protected override get shapeAgnostic(): boolean {
    return true;
  }

  forwardBuffer(input: F32Array, n: number, record = true): F32Array {
    this.beginForward(input, n, record);
    const [c, h, w] = this.inShape!;
    const out = this.out.ensure(n * product(this.outShape!));
    kernels().wn_avgpool_forward(n, c, h, w, this.area[0], this.area[1], this.stride[0], this.stride[1], input.ptr, out.ptr);
    return out;
  }

  backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.assertAlive();
    if (!wantInputGrad) return null;
    const [c, h, w] = this.inShape!;
    const n = this.batch;
    const da = this.da.ensure(n * c * h * w);
    kernels().wn_avgpool_backward(n, c, h, w, this.area[0], this.area[1], this.stride[0], this.stride[1], delta.ptr, da.ptr);
    return da;
  }

  batchBytes(n: number): number {
    return 4 * n * (product(this.outShape!) + product(this.inShape!));
  }

  protected freeBuffers(): void {
    this.out.free();
    this.da.free();
  }
}
