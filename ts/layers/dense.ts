/**
 * The course's `DenseLayer`: z = a·w + b with `w` `[inputSize, outputSize]`
 * row-major, then φ(z). Products go through the SIMD GEMM (`crate/src/gemm.rs`).
 */
import { ReLU, SoftMax, Tanh, activationByName } from '../activations.js';
import { ShapeError, checkInt, optionsObject, show } from '../core/errors.js';
import { type F32Array, gemmWorkspace, growableF32 } from '../core/memory.js';
import { kernels } from '../core/wasm.js';
import { type OptimizerConfig, optimizerFromConfig } from '../optimizers.js';
import { ActivatedLayer, type ActivatedLayerOptions } from './activated.js';
import type { BuildContext, GradcheckCase, NamedParameter } from './layer.js';

/** Options of `DenseLayer` and `net.addDense`: an activated layer's (`afun`, `optim`, `initializer`, `seed`). */
export type DenseOptions = ActivatedLayerOptions;

/** A dense layer as a model file stores it (`toSpec()`). */
export interface DenseSpec {
  /** The registry name. */
  kind: 'Dense';
  /** Outputs per sample. */
  outputSize: number;
  /** The activation's name. */
  afun: string;
  /** The optimizer's settings. */
  optim: OptimizerConfig;
}

/**
 * The course's dense layer: $\mathbf{Z} = \mathbf{A}\mathbf{W} + \mathbf{b}$ with `w` stored
 * `[inputSize, outputSize]`, then `afun`. See [docs/dense.md](../../docs/dense.md).
 */
export class DenseLayer extends ActivatedLayer {
  readonly kind = 'Dense' as const;
  /** Inputs per sample. */
  readonly inputSize: number;
  /** Outputs per sample. */
  readonly outputSize: number;
  private readonly wParam: NamedParameter;
  private readonly bParam: NamedParameter;
  /** w and wᵀ as the GEMM's B panels, packed once per training step (`beginStep`) for all of its shards. */
  private readonly packedW = growableF32();
  private readonly packedWt = growableF32();
  private packedForStep = false;
  private packedWtForStep = false;
  /** A shard's copy computes with the packed weights of the layer it borrows from (`borrowParametersOf`). */
  private packSource: DenseLayer = this;
  /** `packedW` holds w as it was at this step's `beginStep`, for undoing the step's update (`parametersKeptForStep`). */
  private packedWHoldsW = false;

  constructor(inputSize: number, outputSize: number, options: DenseOptions = {}) {
    super(options, 'Dense');
    this.inputSize = checkInt('Dense inputSize', inputSize);
    this.outputSize = checkInt('Dense outputSize', outputSize);
    this.inShape = [inputSize];
    this.outShape = [outputSize];
    this.reserveParameters(inputSize * outputSize + outputSize, 0, `Dense ${inputSize} → ${outputSize}`);
    const w = this.initializer.wfun(inputSize, outputSize, ActivatedLayer.weightRng(options));
    for (let i = 0; i < w.length; i++) w[i] *= this.afun.factor;
    this.wParam = this.addParameter('w', w);
    // ∂C/∂w is one GEMM whose tiles each sum a whole shard (up to KC rows) before adding it to C.
    const depth = kernels().wn_gemm_depth_block();
    this.wParam.addsExactly = (rows) => rows <= depth;
    this.bParam = this.addParameter('b', new Float32Array(outputSize));
  }

  /** `net.addDense(outputSize, options)`: a dense layer on the network's flat output so far. */
  static forNetwork(ctx: BuildContext, outputSize: number, options: DenseOptions = {}): DenseLayer {
    const s = ctx.shape;
    if (s.length !== 1) {
      throw new ShapeError(`addDense needs a flat input, but the network's output so far has shape ${show(s)}: call addFlatten() first`);
    }
    return new DenseLayer(s[0], outputSize, { rng: ctx.rng, ...optionsObject('addDense options', options) });
  }

  /** The activations `wasmnet gradcheck` checks on a dense layer. */
  static gradcheckCases(): GradcheckCase[] {
    const dense = (label: string, options: DenseOptions, smooth = true): GradcheckCase => ({
      label,
      input: [7],
      smooth,
      build: () => new DenseLayer(7, 5, { seed: 2, ...options }),
    });
    return [dense('Tanh', { afun: new Tanh() }), dense('SoftMax', { afun: new SoftMax() }), dense('ReLU', { afun: new ReLU() }, false)];
  }

  /** The layer a model file's spec describes, on the network's output so far. */
  static fromSpec(spec: DenseSpec, ctx: BuildContext): DenseLayer {
    return DenseLayer.forNetwork(ctx, spec.outputSize, { afun: activationByName(spec.afun), optim: optimizerFromConfig(spec.optim) });
  }

  toSpec(): DenseSpec {
    return { kind: 'Dense', outputSize: this.outputSize, afun: this.afun.name, optim: this.optim.config() };
  }

  /** The weights `[inputSize, outputSize]`, row-major, a live view of wasm memory. */
  get w(): Float32Array {
    return this.wParam.value.view();
  }
  /** Copies `values` (`inputSize·outputSize` finite numbers, row-major) into the weights. */
  set w(values: ArrayLike<number>) {
    this.assign(this.wParam, values);
  }
  /** The biases `[outputSize]`, a live view. */
  get b(): Float32Array {
    return this.bParam.value.view();
  }
  /** Copies `values` (`outputSize` finite numbers) into the biases. */
  set b(values: ArrayLike<number>) {
    this.assign(this.bParam, values);
  }
  /** ∂C/∂w from the last backprop (overwritten, never accumulated). */
  get dw(): Float32Array {
    return this.wParam.grad.view();
  }
  /** ∂C/∂b from the last backprop. */
  get db(): Float32Array {
    return this.bParam.grad.view();
  }

  build(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1 || inputShape[0] !== this.inputSize) {
      const hint = inputShape.length > 1 ? ' (add a Flatten layer before a dense layer)' : '';
      throw new ShapeError(`Dense expects input samples of shape [${this.inputSize}], got ${show(inputShape)}${hint}`);
    }
    return [this.outputSize];
  }

  forwardBuffer(input: F32Array, n: number, record = true): F32Array {
    this.beginForward(input, n, record);
    const k = kernels();
    const [nin, nout] = [this.inputSize, this.outputSize];
    const z = this.zBuf.ensure(n * nout);
    const w = this.wParam.value;
    // z (n × out) = a (n × in) · w (in × out), then + b per row
    const packs = this.packSource;
    if (packs.packedForStep) {
      k.wn_gemm_prepacked(n, nout, nin, input.ptr, n * nin, nin, 1, packs.packedW.current.ptr, z.ptr, nout, 0, gemmWorkspace());
    } else {
      k.wn_gemm(n, nout, nin, input.ptr, n * nin, nin, 1, w.ptr, w.length, nout, 1, z.ptr, nout, 0, gemmWorkspace());
    }
    k.wn_add_row_bias(z.ptr, n, nout, this.bParam.value.ptr);
    return this.activate(n * nout, nout);
  }

  backwardFromDeltaZ(wantInputGrad: boolean, accumulate = false): F32Array | null {
    this.assertAlive();
    const k = kernels();
    const [nin, nout, n] = [this.inputSize, this.outputSize, this.batch];
    const dz = this.dzBuf.current;
    const a = this.input!;
    const w = this.wParam.value;
    const ws = gemmWorkspace();
    // dw (in × out) (+)= aᵀ (in × n) · dz (n × out)
    const addW = accumulate || this.wParam.addToGrad === true;
    k.wn_gemm(nin, nout, n, a.ptr, n * nin, 1, nin, dz.ptr, n * nout, nout, 1, this.wParam.grad.ptr, nout, addW ? 1 : 0, ws);
    // db (+)= Σ_rows dz
    k.wn_column_sums(dz.ptr, n, nout, this.bParam.grad.ptr, accumulate ? 1 : 0);
    if (!wantInputGrad) return null;
    // da (n × in) = dz (n × out) · wᵀ (out × in)
    const da = this.daBuf.ensure(n * nin);
    const packs = this.packSource;
    if (packs.packedWtForStep) {
      k.wn_gemm_prepacked(n, nin, nout, dz.ptr, n * nout, nout, 1, packs.packedWt.current.ptr, da.ptr, nin, 0, ws);
    } else {
      k.wn_gemm(n, nin, nout, dz.ptr, n * nout, nout, 1, w.ptr, w.length, 1, nout, da.ptr, nin, 0, ws);
    }
    return da;
  }

  /**
   * Packs w (for z = a·w) and, with `backward`, wᵀ (for ∂C/∂a = δ·wᵀ) once for all of the step's shards (or an
   * inference pass's chunks): the same bits as packing per product.
   */
  override beginStep(backward = true): void {
    this.assertAlive();
    const k = kernels();
    const [nin, nout] = [this.inputSize, this.outputSize];
    const w = this.wParam.value;
    const packedW = this.packedW.ensure(k.wn_gemm_packed_b_len(nin, nout) >>> 0);
    k.wn_gemm_pack_b(nin, nout, w.ptr, w.length, nout, 1, packedW.ptr);
    if (backward) {
      const packedWt = this.packedWt.ensure(k.wn_gemm_packed_b_len(nout, nin) >>> 0);
      k.wn_gemm_pack_b(nout, nin, w.ptr, w.length, 1, nout, packedWt.ptr);
    }
    // Last: a pack that throws (out of memory) leaves no flag set, and `inStep` calls no `endStep` for this layer.
    this.packedForStep = true;
    this.packedWtForStep = backward;
    // Only a training step's pack is an update's copy of w: the update follows it before anything can write w.
    this.packedWHoldsW = backward;
  }

  override parametersKeptForStep(): readonly string[] {
    return this.packedWHoldsW ? ['w'] : [];
  }

  override restoreParametersOfStep(): void {
    if (!this.packedWHoldsW) return;
    kernels().wn_gemm_unpack_b(this.inputSize, this.outputSize, this.packedW.current.ptr, this.wParam.value.ptr);
  }

  override releaseParametersOfStep(): void {
    this.packedWHoldsW = false;
  }

  protected override assign(p: NamedParameter, values: ArrayLike<number>): void {
    super.assign(p, values);
    if (p === this.wParam) this.packedWHoldsW = false;
  }

  override borrowParametersOf(master: ActivatedLayer): void {
    super.borrowParametersOf(master);
    this.packSource = master as DenseLayer;
  }

  override endStep(): void {
    this.packedForStep = false;
    this.packedWtForStep = false;
  }

  protected override freeBuffers(): void {
    super.freeBuffers();
    this.packedForStep = false;
    this.packedWtForStep = false;
    this.packedWHoldsW = false;
    this.packedW.free();
    this.packedWt.free();
  }
}
