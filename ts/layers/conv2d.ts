/**
 * The course's `Conv2DLayer`: z[i,j] = b[j] + Σ_k a[i,k] * f[j,k] with `*`
 * the valid true convolution of `scipy.signal.convolve2d` (the kernel is
 * flipped), then a = φ(z). Kernels: `crate/src/conv/`.
 *
 * Padding and stride (options, PyTorch's meaning applied to that
 * convolution): zero-pad each input plane, take the valid true convolution,
 * keep every `sh`-th row and `sw`-th column of it starting at the first. So
 * the output is `⌊(h + pt + pb − fh)/sh⌋ + 1` by `⌊(w + pl + pr − fw)/sw⌋ + 1`.
 */
import { ActivationId, Identity, ReLU, Sigmoid, Tanh, activationByName } from '../activations.js';
import { ShapeError, ValueError, checkShape, optionsObject, show } from '../core/errors.js';
import { type F32Array, allocF32, checkSampleFits, gemmWorkspace } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import { type OptimizerConfig, optimizerFromConfig } from '../optimizers.js';
import { ActivatedLayer, type ActivatedLayerOptions } from './activated.js';
import type { BuildContext, GradcheckCase, NamedParameter } from './layer.js';
import type { Pool2DLayer } from './pool2d.js';
import { strideOption } from './window.js';

/** Zero padding: the same on all four sides, `[ph, pw]` (rows above and below, columns left and right), `'valid'` (none) or `'same'`. */
export type Conv2DPadding = number | readonly [number, number] | 'valid' | 'same';
/** Stride: the same both ways, or `[sh, sw]`. */
export type Conv2DStride = number | readonly [number, number];

/** The options that fix a Conv2D layer's geometry, in the form that rebuilds it exactly. */
export interface Conv2DGeometry {
  /** `'same'`, or `[ph, pw]`: rows above and below, columns left and right. */
  padding: 'same' | [number, number];
  /** `[sh, sw]`. */
  stride: [number, number];
}

/** Options of `Conv2DLayer` and `net.addConv2D`: an activated layer's (`afun`, `optim`, `initializer`, `seed`) plus `padding` and `stride`. */
export interface Conv2DOptions extends ActivatedLayerOptions {
  /**
   * Zero padding around each input plane, default 0 (`'valid'`, the course's).
   * `'same'` (stride 1 only) keeps the output h×w: the total padding fh−1 is
   * split as top = ⌊(fh−1)/2⌋, bottom = the rest, likewise left/right, so for
   * an even filter the extra row and column go at the bottom and right, as
   * PyTorch's `padding='same'` does (scipy's `convolve2d(mode='same')` puts it
   * at the top and left instead).
   */
  padding?: Conv2DPadding;
  /** Stride, default 1: keeps every sh-th output row and sw-th output column. */
  stride?: Conv2DStride;
}

/** Padding and stride values beyond this cannot be passed to the kernels (32-bit sizes). */
const MAX_GEOMETRY = 0x7fffffff;

const isCount = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= MAX_GEOMETRY;

/** `[pt, pb, pl, pr]` for the `padding` option. */
function parsePadding(value: unknown, fh: number, fw: number, stride: readonly [number, number]): [number, number, number, number] {
  if (value === 'valid') return [0, 0, 0, 0];
  if (value === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new ValueError(`Conv2D padding 'same' needs stride 1, got stride ${show(stride)}`);
    const [top, left] = [Math.floor((fh - 1) / 2), Math.floor((fw - 1) / 2)];
    return [top, fh - 1 - top, left, fw - 1 - left];
  }
  if (isCount(value, 0)) return [value, value, value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((p) => isCount(p, 0))) return [value[0], value[0], value[1], value[1]];
  throw new ValueError(`Conv2D padding must be a non-negative integer, [ph, pw], 'valid' or 'same', got ${show(value)}`);
}

/** A Conv2D layer as a model file stores it (`toSpec()`); padding and stride only when they are not the course's 0 and 1. */
export interface Conv2DSpec {
  /** The registry name. */
  kind: 'Conv2D';
  /** The filter bank shape `[m, fh, fw]`. */
  fshape: [number, number, number];
  /** The activation's name. */
  afun: string;
  /** The optimizer's settings. */
  optim: OptimizerConfig;
  /** As `Conv2DGeometry.padding`; absent for no padding. */
  padding?: Conv2DGeometry['padding'];
  /** As `Conv2DGeometry.stride`; absent for stride 1. */
  stride?: Conv2DGeometry['stride'];
}

/**
 * The course's convolutional layer: $\mathbf{Z}(i,j) = b(j)\mathbf{E} + \sum_k \mathbf{A}(i,k) * \mathbf{F}(j,k)$
 * with $*$ the valid true convolution (the kernel flipped, as `scipy.signal.convolve2d`), then
 * `afun`; optional zero padding and stride as PyTorch's. The mathematics, the three gradients and
 * where each is computed: [docs/convolution.md](../../docs/convolution.md).
 */
export class Conv2DLayer extends ActivatedLayer {
  readonly kind = 'Conv2D' as const;
  /** Input sample shape `[c, h, w]`. */
  readonly tensor: readonly [number, number, number];
  /** Filter bank shape `[m, fh, fw]`. */
  readonly fshape: readonly [number, number, number];
  /** Zero rows and columns added to each input plane: `[top, bottom, left, right]`. */
  readonly padding: readonly [number, number, number, number];
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** Whether `padding` came from `'same'` (kept so that `geometry()` rebuilds an even filter's asymmetric padding). */
  private readonly samePadding: boolean;
  private readonly fParam: NamedParameter;
  private readonly bParam: NamedParameter;
  /** im2col scratch for one image (forward and backward) and its gradient. */
  private readonly cols: F32Array;
  private readonly dcols: F32Array;

  constructor(tensor: readonly [number, number, number], fshape: readonly [number, number, number], options: Conv2DOptions = {}) {
    super(options, 'Conv2D', ['padding', 'stride']);
    const [c, h, w] = checkShape('Conv2D tensor', tensor, 3, 'the input shape [c, h, w]');
    const [m, fh, fw] = checkShape('Conv2D fshape', fshape, 3, 'the filter bank shape [m, fh, fw]');
    // The kernels take 32-bit sizes: a dimension past them would wrap around on the way in, so an input that cannot fit is refused here.
    checkSampleFits([c, h, w], 'Conv2D tensor');
    const { padding = 0, stride = 1 } = options ?? {};
    this.stride = strideOption('Conv2D stride', stride, [1, 1]);
    this.padding = parsePadding(padding, fh, fw, this.stride);
    this.samePadding = padding === 'same';
    const [pt, pb, pl, pr] = this.padding;
    const [hp, wp] = [h + pt + pb, w + pl + pr];
    if (fh > hp || fw > wp) {
      const padded = hp !== h || wp !== w ? ` padded to ${hp}×${wp}` : '';
      throw new ShapeError(`Conv2D fshape ${show(fshape)}: a ${fh}×${fw} filter does not fit the ${h}×${w} input${padded}`);
    }
    if (this.afun.id === ActivationId.SoftMax) {
      throw new ValueError('Conv2D afun must be elementwise (ReLU, Sigmoid, Tanh, Identity); SoftMax belongs on a dense output layer');
    }
    this.tensor = [c, h, w];
    this.fshape = [m, fh, fw];
    this.inShape = [c, h, w];
    this.outShape = [m, Math.floor((hp - fh) / this.stride[0]) + 1, Math.floor((wp - fw) / this.stride[1]) + 1];
    const what = `Conv2D with input [${c}, ${h}, ${w}], filters [${m}, ${fh}, ${fw}], padding ${show(this.padding)} and stride ${show(this.stride)}`;
    // usize::MAX (read unsigned) is the kernel's answer for a size that overflows.
    const colsLen = kernels().wn_conv2d_cols_len(c, h, w, fh, fw, pt, pb, pl, pr, this.stride[0], this.stride[1]) >>> 0;
    if (colsLen === 0xffffffff) throw new ShapeError(`${what} is too large: its im2col scratch would not fit WebAssembly's 32-bit address space`);
    this.reserveParameters(m * c * fh * fw + m, 2 * colsLen, what);
    const f = this.initializer.ffun(m, c, fh, fw, ActivatedLayer.weightRng(options));
    for (let i = 0; i < f.length; i++) f[i] *= this.afun.factor;
    this.fParam = this.addParameter('f', f);
    this.bParam = this.addParameter('b', new Float32Array(m));
    this.cols = allocF32(colsLen);
    this.dcols = allocF32(colsLen);
  }

  /** `net.addConv2D(fshape, options)`: a convolution on the network's `[c, h, w]` output so far. */
  static forNetwork(ctx: BuildContext, fshape: readonly [number, number, number], options: Conv2DOptions = {}): Conv2DLayer {
    const s = ctx.shape;
    if (s.length !== 3) {
      throw new ShapeError(`addConv2D needs a [c, h, w] input, but the network's output so far has shape ${show(s)}`);
    }
    return new Conv2DLayer([s[0], s[1], s[2]], fshape, { rng: ctx.rng, ...optionsObject('addConv2D options', options) });
  }

  /** The geometries and activations `wasmnet gradcheck` checks: every option that changes the mathematics. */
  static gradcheckCases(): GradcheckCase[] {
    const conv = (label: string, tensor: [number, number, number], fshape: [number, number, number], options: Conv2DOptions, smooth = true): GradcheckCase => ({
      label,
      input: tensor,
      smooth,
      build: () => new Conv2DLayer(tensor, fshape, { seed: 1, ...options }),
    });
    return [
      conv('valid, Tanh (the course\'s convolution)', [2, 7, 6], [3, 3, 3], { afun: new Tanh() }),
      conv('valid, ReLU (fused)', [2, 7, 6], [3, 3, 3], { afun: new ReLU() }, false),
      conv('padding 1, Sigmoid', [3, 6, 5], [2, 3, 3], { padding: 1, afun: new Sigmoid() }),
      conv("'same' with an even 4×2 filter, Tanh", [2, 7, 6], [3, 4, 2], { padding: 'same', afun: new Tanh() }),
      conv('stride 2 not dividing the input, Identity', [2, 11, 9], [3, 3, 3], { stride: 2, afun: new Identity() }),
      conv('padding [2, 1], stride [3, 2], Tanh', [2, 9, 8], [2, 3, 2], { padding: [2, 1], stride: [3, 2], afun: new Tanh() }),
    ];
  }

  /** The layer a model file's spec describes, on the network's output so far. */
  static fromSpec(spec: Conv2DSpec, ctx: BuildContext): Conv2DLayer {
    const { padding, stride } = spec;
    return Conv2DLayer.forNetwork(ctx, spec.fshape, { afun: activationByName(spec.afun), optim: optimizerFromConfig(spec.optim), padding, stride });
  }

  toSpec(): Conv2DSpec {
    const g = this.geometry();
    // Padding and stride are written only when they are not the course's (0 and 1), so its files read as before.
    const padded = g.padding === 'same' || g.padding[0] !== 0 || g.padding[1] !== 0;
    const strided = g.stride[0] !== 1 || g.stride[1] !== 1;
    return {
      kind: 'Conv2D',
      fshape: [...this.fshape],
      afun: this.afun.name,
      optim: this.optim.config(),
      ...(padded ? { padding: g.padding } : {}),
      ...(strided ? { stride: g.stride } : {}),
    };
  }

  /** Exactly the `padding` and `stride` options that rebuild this layer (for a model file). */
  geometry(): Conv2DGeometry {
    const [pt, , pl] = this.padding;
    return { padding: this.samePadding ? 'same' : [pt, pl], stride: [this.stride[0], this.stride[1]] };
  }

  /** The filter bank `[m, c, fh, fw]`, a live view of wasm memory. */
  get f(): Float32Array {
    return this.fParam.value.view();
  }
  /** Copies `values` (`m·c·fh·fw` finite numbers) into the filter bank. */
  set f(values: ArrayLike<number>) {
    this.assign(this.fParam, values);
  }
  /** The biases `[m]`, a live view. */
  get b(): Float32Array {
    return this.bParam.value.view();
  }
  /** Copies `values` (`m` finite numbers) into the biases. */
  set b(values: ArrayLike<number>) {
    this.assign(this.bParam, values);
  }
  /** ∂C/∂f from the last backprop (overwritten by each, never accumulated). */
  get df(): Float32Array {
    return this.fParam.grad.view();
  }
  /** ∂C/∂b from the last backprop. */
  get db(): Float32Array {
    return this.bParam.grad.view();
  }

  /** With ReLU the z buffer holds a = max(z, 0): ReLU's derivative only asks whether z > 0, which a answers. */
  protected override get activationHoldsZ(): boolean {
    return this.afun.id === ActivationId.ReLU;
  }

  build(inputShape: readonly number[]): number[] {
    if (inputShape.join() !== this.inShape!.join()) {
      throw new ShapeError(`Conv2D expects input samples of shape ${show(this.inShape)}, got ${show(inputShape)}`);
    }
    return [...this.outShape!];
  }

  forwardBuffer(input: F32Array, n: number, record = true): F32Array {
    this.beginForward(input, n, record);
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    const len = this.outputLength();
    const z = this.zBuf.ensure(len);
    // ReLU is fused into the kernel: it writes max(z, 0) over z (see `activationHoldsZ`); others run after it.
    const fused = this.activationHoldsZ;
    kernels().wn_conv2d_forward(n, c, h, w, m, fh, fw, ...this.padding, ...this.stride, input.ptr, this.fParam.value.ptr, this.bParam.value.ptr, z.ptr, fused ? 1 : 0, this.cols.ptr, gemmWorkspace());
    return fused ? z : this.activate(len, this.outShape![2]);
  }

  backwardFromDeltaZ(wantInputGrad: boolean, accumulate = false): F32Array | null {
    this.assertAlive();
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    const n = this.batch;
    const da = wantInputGrad ? this.daBuf.ensure(n * c * h * w) : null;
    kernels().wn_conv2d_backward(
      n, c, h, w, m, fh, fw, ...this.padding, ...this.stride,
      this.input!.ptr, this.fParam.value.ptr, this.dzBuf.current.ptr,
      this.fParam.grad.ptr, this.bParam.grad.ptr, da ? da.ptr : 0,
      this.cols.ptr, this.dcols.ptr, gemmWorkspace(), accumulate ? 1 : 0,
    );
    return da;
  }

  /**
   * @internal The forward pass of this layer (its ReLU fused, `outputIsFusedReLU`) and of the max pooling after it,
   * image by image in one kernel (`crate/src/conv_pool.rs`): the pooling reads each image's output while it is in
   * cache. The same floats, and the same state in both layers, as `forwardBuffer` of one then the other; without
   * `record` (inference) the kernel may leave z unwritten (the course's pair pools in registers), since no backward
   * pass will read it.
   */
  forwardThroughPool(pool: Pool2DLayer, input: F32Array, n: number, record: boolean): F32Array {
    this.beginForward(input, n, record);
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    const z = this.zBuf.ensure(this.outputLength());
    const out = pool.fusedForwardOutput(z, n, record);
    kernels().wn_conv2d_maxpool_forward(
      n, c, h, w, m, fh, fw, ...this.padding, ...this.stride, ...pool.area, ...pool.stride,
      input.ptr, this.fParam.value.ptr, this.bParam.value.ptr, z.ptr, out.ptr, 1, record ? 1 : 0, this.cols.ptr, gemmWorkspace(),
    );
    return out;
  }

  /**
   * @internal The backward pass of the max pooling after this layer, of this layer's fused ReLU and of this layer,
   * image by image in one kernel (`crate/src/conv_pool.rs`): the same floats as the pooling's `backwardThroughReLU`
   * then `backwardFromDeltaZ`. `delta` is ∂C/∂(pooled output).
   */
  backwardThroughPool(pool: Pool2DLayer, delta: F32Array, wantInputGrad: boolean, accumulate: boolean): F32Array | null {
    this.assertAlive();
    const { input: z, out } = pool.fusedBackwardState();
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    const n = this.batch;
    const dz = this.deltaZBuffer();
    const da = wantInputGrad ? this.daBuf.ensure(n * c * h * w) : null;
    kernels().wn_maxpool_conv2d_backward(
      n, c, h, w, m, fh, fw, ...this.padding, ...this.stride, ...pool.area, ...pool.stride,
      this.input!.ptr, this.fParam.value.ptr, z.ptr, out.ptr, delta.ptr, pool.strict ? 1 : 0, 1,
      dz.ptr, this.fParam.grad.ptr, this.bParam.grad.ptr, da ? da.ptr : 0, this.cols.ptr, this.dcols.ptr, gemmWorkspace(), accumulate ? 1 : 0,
    );
    return da;
  }

  protected override freeBuffers(): void {
    super.freeBuffers();
    this.cols.free();
    this.dcols.free();
  }
}
