/**
 * The course's `Conv2DLayer`: z[i,j] = b[j] + Σ_k a[i,k] * f[j,k] with `*`
 * the valid true convolution of `scipy.signal.convolve2d` (the kernel is
 * flipped), then a = φ(z). Kernel: `crate/src/conv.rs`.
 */
import { ActivationId } from '../activations.js';
import { ShapeError, ValueError, checkShape, show } from '../core/errors.js';
import { type F32Array, allocF32, gemmWorkspace } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import { ActivatedLayer, type ActivatedLayerOptions } from './activated.js';
import type { NamedParameter } from './layer.js';

export type Conv2DOptions = ActivatedLayerOptions;

export class Conv2DLayer extends ActivatedLayer {
  readonly kind = 'Conv2D' as const;
  /** Input sample shape `[c, h, w]`. */
  readonly tensor: readonly [number, number, number];
  /** Filter bank shape `[m, fh, fw]`. */
  readonly fshape: readonly [number, number, number];
  private readonly fParam: NamedParameter;
  private readonly bParam: NamedParameter;
  /** im2col scratch for one image (forward and backward) and its gradient. */
  private readonly cols: F32Array;
  private readonly dcols: F32Array;

  constructor(tensor: readonly [number, number, number], fshape: readonly [number, number, number], options: Conv2DOptions = {}) {
    super(options, 'Conv2D');
    const [c, h, w] = checkShape('Conv2D tensor', tensor, 3, 'the input shape [c, h, w]');
    const [m, fh, fw] = checkShape('Conv2D fshape', fshape, 3, 'the filter bank shape [m, fh, fw]');
    if (fh > h || fw > w) {
      throw new ShapeError(`Conv2D fshape ${show(fshape)}: a ${fh}×${fw} filter does not fit the ${h}×${w} input`);
    }
    if (this.afun.id === ActivationId.SoftMax) {
      throw new ValueError('Conv2D afun must be elementwise (ReLU, Sigmoid, Tanh, Identity); SoftMax belongs on a dense output layer');
    }
    this.tensor = [c, h, w];
    this.fshape = [m, fh, fw];
    this.inShape = [c, h, w];
    this.outShape = [m, h - fh + 1, w - fw + 1];
    const colsLen = kernels().wn_conv2d_cols_len(c, h, w, fh, fw);
    this.reserveParameters(m * c * fh * fw + m, 2 * colsLen, `Conv2D with input [${c}, ${h}, ${w}] and filters [${m}, ${fh}, ${fw}]`);
    const f = this.initializer.ffun(m, c, fh, fw, ActivatedLayer.weightRng(options));
    for (let i = 0; i < f.length; i++) f[i] *= this.afun.factor;
    this.fParam = this.addParameter('f', f);
    this.bParam = this.addParameter('b', new Float32Array(m));
    this.cols = allocF32(colsLen);
    this.dcols = allocF32(colsLen);
  }

  /** The filter bank `[m, c, fh, fw]`, a live view of wasm memory. */
  get f(): Float32Array {
    return this.fParam.value.view();
  }
  set f(values: ArrayLike<number>) {
    this.assign(this.fParam, values);
  }
  /** The biases `[m]`, a live view. */
  get b(): Float32Array {
    return this.bParam.value.view();
  }
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

  forwardBuffer(input: F32Array, n: number, training = true): F32Array {
    this.assertAlive();
    this.trainingPass = training;
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    this.batch = n;
    this.input = input;
    const len = this.outputLength();
    const z = this.zBuf.ensure(len);
    // ReLU is fused into the kernel: it writes max(z, 0) over z (see `activationHoldsZ`); others run after it.
    const fused = this.activationHoldsZ;
    kernels().wn_conv2d_forward(n, c, h, w, m, fh, fw, input.ptr, this.fParam.value.ptr, this.bParam.value.ptr, z.ptr, fused ? 1 : 0, this.cols.ptr, gemmWorkspace());
    return fused ? z : this.activate(len, this.outShape![2]);
  }

  backwardFromDeltaZ(wantInputGrad: boolean, accumulate = false): F32Array | null {
    this.assertAlive();
    const [c, h, w] = this.tensor;
    const [m, fh, fw] = this.fshape;
    const n = this.batch;
    const da = wantInputGrad ? this.daBuf.ensure(n * c * h * w) : null;
    kernels().wn_conv2d_backward(
      n, c, h, w, m, fh, fw,
      this.input!.ptr, this.fParam.value.ptr, this.dzBuf.current.ptr,
      this.fParam.grad.ptr, this.bParam.grad.ptr, da ? da.ptr : 0,
      this.cols.ptr, this.dcols.ptr, gemmWorkspace(), accumulate ? 1 : 0,
    );
    return da;
  }

  protected override freeBuffers(): void {
    super.freeBuffers();
    this.cols.free();
    this.dcols.free();
  }
}
