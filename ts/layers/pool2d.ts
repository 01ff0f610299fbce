/**
 * The course's `Pool2DLayer`: max pooling over `[ph, pw]` areas. By default
 * the areas tile the input (stride = area); a smaller stride makes them
 * overlap, a larger one skips inputs (PyTorch's `MaxPool2d` without padding).
 * The output has `floor((h − ph)/sh) + 1` rows and likewise columns; inputs
 * no area reaches, such as rows and columns that do not fill an area, get
 * gradient 0. Ties: with `strict = false` (the course's default) every tied
 * maximum of an area gets that area's whole delta; with `strict = true` the
 * delta is divided by the number of maxima in the area. An input that is a
 * maximum of several overlapping areas receives the sum of their shares.
 * Kernel: `crate/src/pool.rs`.
 */
import { ShapeError, ValueError, checkShape, optionsObject, show } from '../core/errors.js';
import { type F32Array, allocU8, growableF32 } from '../core/memory.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { type BuildContext, type GradcheckCase, Layer } from './layer.js';
import { strideOption, windowedShape } from './window.js';

/** Options of `Pool2DLayer` and `net.addPool2D`. */
export interface Pool2DOptions {
  /** Divide an area's delta among tied maxima (default false, as the course). */
  strict?: boolean;
  /** How far the area moves, `[sh, sw]` or one number for both (default: the area, so areas tile the input). */
  stride?: number | readonly [number, number];
}

/** A max-pooling layer as a model file stores it (`toSpec()`). */
export interface Pool2DSpec {
  /** The registry name. */
  kind: 'Pool2D';
  /** The window `[ph, pw]`. */
  area: [number, number];
  /** The tie rule. */
  strict: boolean;
  /** Absent when it is the area (the course's tiling), so such files read as before. */
  stride?: [number, number];
}

/**
 * The course's max pooling over `[ph, pw]` windows, with the course's two tie rules (`strict`)
 * and, optionally, a stride (PyTorch's `MaxPool2d` without padding). See [docs/pooling.md](../../docs/pooling.md).
 */
export class Pool2DLayer extends Layer {
  readonly kind = 'Pool2D' as const;
  /** The window `[ph, pw]`. */
  readonly area: readonly [number, number];
  /** Tied maxima share a window's delta (true) or each get all of it (false, the course's default). */
  readonly strict: boolean;
  /** `[sh, sw]`: the steps between areas (equal to `area` unless given). */
  readonly stride: readonly [number, number];
  private readonly out = growableF32();
  private readonly da = growableF32();

  constructor(area: readonly [number, number], options: Pool2DOptions = {}) {
    super();
    const { strict = false, stride } = optionsObject('Pool2D options', options, ['strict', 'stride']);
    if (typeof strict !== 'boolean') throw new ValueError(`Pool2D strict must be true or false, got ${show(strict)}`);
    const [ph, pw] = checkShape('Pool2D area', area, 2, 'the pooling area [ph, pw]');
    this.area = [ph, pw];
    this.strict = strict;
    this.stride = strideOption('Pool2D stride', stride, [ph, pw]);
  }

  /** `net.addPool2D(area, options)`. */
  static forNetwork(_ctx: BuildContext, area: readonly [number, number], options: Pool2DOptions = {}): Pool2DLayer {
    return new Pool2DLayer(area, options);
  }

  /** Both tie rules, tiling and overlapping windows, for `wasmnet gradcheck` (random inputs: no ties). */
  static gradcheckCases(): GradcheckCase[] {
    const pool = (label: string, area: [number, number], options: Pool2DOptions): GradcheckCase => ({
      label,
      input: [2, 7, 9],
      smooth: false,
      build: () => new Pool2DLayer(area, options),
    });
    return [
      pool('2×2, strict = false (the course\'s)', [2, 2], {}),
      pool('2×2, strict = true', [2, 2], { strict: true }),
      pool('3×3 overlapping, stride 2', [3, 3], { stride: 2 }),
      pool('2×3, stride [3, 2], strict = true', [2, 3], { stride: [3, 2], strict: true }),
    ];
  }

  /** The layer a model file's spec describes. */
  static fromSpec(spec: Pool2DSpec, _ctx: BuildContext): Pool2DLayer {
    return new Pool2DLayer(spec.area, { strict: spec.strict, stride: spec.stride });
  }

  toSpec(): Pool2DSpec {
    const tiled = this.stride[0] === this.area[0] && this.stride[1] === this.area[1];
    return { kind: 'Pool2D', area: [...this.area], strict: this.strict, ...(tiled ? {} : { stride: [...this.stride] as [number, number] }) };
  }

  /** `[n, c, h, w]` of the last input, or null before the first evaluate. */
  get shape(): readonly number[] | null {
    return this.inShape && this.input ? [this.batch, ...this.inShape] : null;
  }

  /**
   * 1 where an input held the maximum of an area containing it (of any of them, when areas overlap) in the last
   * training pass or evaluate (shape `shape`): a copy, found from that pass's input and output when read. Training
   * does not keep a mask; its backward pass finds the same winners the same way.
   */
  get mask(): Uint8Array | null {
    const shape = this.shape;
    if (!shape || !this.recorded) return null;
    const [n, c, h, w] = shape;
    const [ph, pw] = this.area;
    const [sh, sw] = this.stride;
    const mask = allocU8(product(shape));
    try {
      kernels().wn_maxpool_winners(n, c, h, w, ph, pw, sh, sw, this.input!.ptr, this.out.current.ptr, mask.ptr);
      return mask.toArray();
    } finally {
      mask.free();
    }
  }

  build(inputShape: readonly number[]): number[] {
    this.outShape = windowedShape('Pool2D', inputShape, this.area, this.stride);
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
    const [ph, pw] = this.area;
    const [sh, sw] = this.stride;
    const out = this.out.ensure(n * product(this.outShape!));
    kernels().wn_maxpool_forward(n, c, h, w, ph, pw, sh, sw, input.ptr, out.ptr);
    return out;
  }

  /**
   * @internal The forward pass's bookkeeping for `input` (the convolution's output buffer) and the buffer for the
   * pooled output, which `Conv2DLayer.forwardThroughPool` fills in the same kernel as its own output.
   */
  fusedForwardOutput(input: F32Array, n: number, record: boolean): F32Array {
    this.beginForward(input, n, record);
    return this.out.ensure(n * product(this.outShape!));
  }

  backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
    this.assertAlive();
    if (!this.recorded) throw new ShapeError('Pool2D backprop needs a forward pass that recorded the winners (the last one was inference)');
    if (!wantInputGrad) return null;
    const [c, h, w] = this.inShape!;
    const da = this.da.ensure(this.batch * c * h * w);
    this.backwardInto(delta, da, false);
    return da;
  }

  /**
   * @internal ∂C/∂z of the ReLU layer before this one (whose output max(z, 0) was this layer's input), written
   * into `dz`: the pooling's backward pass and the ReLU's in one, the same floats as the two passes. A network
   * calls it for a ReLU layer followed by max pooling (batch norm, say), then that layer's `backwardFromDeltaZ`.
   */
  backwardThroughReLU(delta: F32Array, dz: F32Array): void {
    this.assertAlive();
    if (!this.recorded) throw new ShapeError('Pool2D backprop needs a forward pass that recorded the winners (the last one was inference)');
    this.backwardInto(delta, dz, true);
  }

  /** @internal What a backward pass fused into the convolution before this layer reads: the forward's input and output. */
  fusedBackwardState(): { input: F32Array; out: F32Array } {
    this.assertAlive();
    if (!this.recorded) throw new ShapeError('Pool2D backprop needs a forward pass that recorded the winners (the last one was inference)');
    return { input: this.input!, out: this.out.current };
  }

  private backwardInto(delta: F32Array, da: F32Array, reluGate: boolean): void {
    const [c, h, w] = this.inShape!;
    const [ph, pw] = this.area;
    const [sh, sw] = this.stride;
    // The kernel finds each area's winners from the input and the pooled output.
    kernels().wn_maxpool_backward(
      this.batch, c, h, w, ph, pw, sh, sw,
      this.input!.ptr, this.out.current.ptr, delta.ptr, this.strict ? 1 : 0, reluGate ? 1 : 0, da.ptr,
    );
  }

  batchBytes(n: number): number {
    // pooled output and the input gradient (f32)
    return n * (4 * product(this.outShape!) + 4 * product(this.inShape!));
  }

  /** Does nothing: a pooling layer has no parameters to learn. It exists so a network can update every layer alike. */
  override update(): void {}

  protected freeBuffers(): void {
    this.out.free();
    this.da.free();
  }
}

/** A stride option: one positive integer for both axes, or `[sh, sw]`. */
