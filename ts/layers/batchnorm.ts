/**
 * Batch normalization (Ioffe & Szegedy), exactly as PyTorch's `BatchNorm2d`
 * on `[n, c, h, w]` (per channel) and `BatchNorm1d` on `[n, f]` (per feature):
 *
 *   training:  x̂ = (x − μ_B)/√(σ²_B + ε) with the batch's mean and biased
 *              variance over n·h·w values; running = (1 − momentum)·running
 *              + momentum·batch, the variance's unbiased (·N/(N − 1));
 *   inference: x̂ = (x − runningMean)/√(runningVar + ε);
 *   then z = γ·x̂ + β and, like the course's other layers, a = afun(z).
 *
 * The statistics are the whole mini-batch's (`batchWide`): a network with this
 * layer trains each batch in shards that meet here to combine their sums
 * (`train/together.ts`), on one worker or many. Kernel: `crate/src/batchnorm.rs`;
 * reference `test/reference/batchnorm.ts`; test `test/batchnorm.test.ts`.
 */
import { type Activation, ActivationId, Identity, Tanh, activationByName } from '../activations.js';
import { ShapeError, ValueError, checkInt, checkPositive, optionsObject, show } from '../core/errors.js';
import { type F32Array, allocF32, growableF32 } from '../core/memory.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { type OptimizerConfig, optimizerFromConfig } from '../optimizers.js';
import { ActivatedLayer, type ActivatedLayerOptions } from './activated.js';
import type { BuildContext, GradcheckCase, NamedBuffer, NamedParameter } from './layer.js';

/** Options of `BatchNormLayer` and `net.addBatchNorm`. */
export interface BatchNormOptions extends Pick<ActivatedLayerOptions, 'afun' | 'optim'> {
  /** Weight of the newest batch in the running statistics (default 0.1, PyTorch's). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** A batch-norm layer as a model file stores it (`toSpec()`). */
export interface BatchNormSpec {
  /** The registry name. */
  kind: 'BatchNorm';
  /** Channels or features. */
  numFeatures: number;
  /** See `BatchNormLayer.momentum`. */
  momentum: number;
  /** See `BatchNormLayer.eps`. */
  eps: number;
  /** The activation's name. */
  afun: string;
  /** The optimizer's settings. */
  optim: OptimizerConfig;
}

/**
 * Batch normalization exactly as PyTorch's `BatchNorm2d` (`[c, h, w]` samples, per channel) and
 * `BatchNorm1d` (`[f]` samples, per feature), then `afun`. See [docs/batchnorm.md](../../docs/batchnorm.md).
 */
export class BatchNormLayer extends ActivatedLayer {
  readonly kind = 'BatchNorm' as const;
  /** Channels of `[c, h, w]` input, or features of `[f]` input. */
  readonly numFeatures: number;
  /** Weight of the newest batch's statistics in the running ones: `running = (1 − momentum)·running + momentum·batch`. */
  readonly momentum: number;
  /** Added to the variance under the square root. */
  readonly eps: number;
  private readonly gammaParam: NamedParameter;
  private readonly betaParam: NamedParameter;
  private readonly meanBuf: F32Array;
  private readonly varBuf: F32Array;
  private readonly xhatBuf = growableF32();
  private readonly invstd: F32Array;
  /** Whether the last forward pass used the batch's statistics. */
  private batchStats = false;
  /** A shard's forward pass (`forwardWithStats`): the values per feature in the whole batch. */
  private shardCount = 0;
  /** Per-feature constants of a shard's passes (float32), and f64 sums on their way out. */
  private readonly shardConsts = growableF32();
  private readonly f64Buf = growableF32();

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    const o = optionsObject('BatchNorm options', options, ['afun', 'optim', 'momentum', 'eps']);
    super({ afun: o.afun ?? new Identity(), optim: o.optim }, 'BatchNorm', [], ['afun', 'optim']);
    this.numFeatures = checkInt('BatchNorm numFeatures', numFeatures);
    const { momentum = 0.1, eps = 1e-5 } = o;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
      throw new ValueError(`BatchNorm momentum must be a number in [0, 1], got ${show(momentum)}`);
    }
    this.momentum = momentum;
    this.eps = checkPositive('BatchNorm eps', eps);
    const f = this.numFeatures;
    this.reserveParameters(2 * f, 3 * f, `BatchNorm of ${f} features`);
    this.gammaParam = this.addParameter('gamma', new Float32Array(f).fill(1));
    this.betaParam = this.addParameter('beta', new Float32Array(f));
    this.meanBuf = allocF32(f);
    this.varBuf = allocF32(f);
    this.varBuf.set(new Float32Array(f).fill(1));
    this.invstd = allocF32(f);
  }

  /** `net.addBatchNorm(options)`: features from the network's output so far (`[c, h, w]` → c, `[f]` → f). */
  static forNetwork(ctx: BuildContext, options: BatchNormOptions = {}): BatchNormLayer {
    const s = ctx.shape;
    if (s.length !== 3 && s.length !== 1) {
      throw new ShapeError(`addBatchNorm needs [c, h, w] or [f] samples (PyTorch's BatchNorm2d or BatchNorm1d), but the network's output so far has shape ${show(s)}`);
    }
    return new BatchNormLayer(s[0], options);
  }

  /**
   * Both modes, on [c, h, w] and [f] samples, for `wasmnet gradcheck`. In
   * training mode every output depends on every input of its channel through
   * the batch's mean and variance, so nudging one input moves all N outputs
   * by about ε/N each — a change that float32's rounding of those outputs
   * blurs by ~1e-3 of the slope. Hence 1e-2 there; the kernels' gradients are
   * held to 1e-5 against the float64 reference in test/batchnorm.test.ts.
   */
  static gradcheckCases(): GradcheckCase[] {
    const bn = (label: string, input: number[], training: boolean, afun: Activation = new Tanh()): GradcheckCase => ({
      label,
      input,
      training,
      batch: 4,
      smooth: true,
      tolerance: training ? 1e-2 : undefined,
      build: () => {
        const layer = new BatchNormLayer(input[0], { afun });
        // Away from the defaults (γ = 1, β = 0, μ = 0, σ² = 1), so that every term of the gradient counts.
        const f = input[0];
        layer.gamma = Array.from({ length: f }, (_, i) => 0.5 + 0.25 * i);
        layer.beta = Array.from({ length: f }, (_, i) => 0.1 * i - 0.2);
        layer.runningMean = Array.from({ length: f }, (_, i) => 0.2 * i - 0.3);
        layer.runningVar = Array.from({ length: f }, (_, i) => 0.5 + 0.3 * i);
        return layer;
      },
    });
    return [
      bn('[c, h, w], training (batch statistics), Tanh', [3, 5, 4], true),
      bn('[c, h, w], inference (running statistics), Tanh', [3, 5, 4], false),
      bn('[f], training, Identity', [6], true, new Identity()),
      bn('[f], inference, Tanh', [6], false),
    ];
  }

  /** The layer a model file's spec describes, on the network's output so far. */
  static fromSpec(spec: BatchNormSpec, ctx: BuildContext): BatchNormLayer {
    return BatchNormLayer.forNetwork(ctx, { momentum: spec.momentum, eps: spec.eps, afun: activationByName(spec.afun), optim: optimizerFromConfig(spec.optim) });
  }

  toSpec(): BatchNormSpec {
    return { kind: 'BatchNorm', numFeatures: this.numFeatures, momentum: this.momentum, eps: this.eps, afun: this.afun.name, optim: this.optim.config() };
  }

  /** Scale γ `[numFeatures]` (ones at first), a live view of wasm memory. */
  get gamma(): Float32Array {
    return this.gammaParam.value.view();
  }
  /** Copies `values` (`numFeatures` finite numbers) into γ. */
  set gamma(values: ArrayLike<number>) {
    this.assign(this.gammaParam, values);
  }
  /** Shift β `[numFeatures]` (zeros at first), a live view. */
  get beta(): Float32Array {
    return this.betaParam.value.view();
  }
  /** Copies `values` (`numFeatures` finite numbers) into β. */
  set beta(values: ArrayLike<number>) {
    this.assign(this.betaParam, values);
  }
  /** ∂C/∂γ from the last backprop, a live view. */
  get dgamma(): Float32Array {
    return this.gammaParam.grad.view();
  }
  /** ∂C/∂β from the last backprop, a live view. */
  get dbeta(): Float32Array {
    return this.betaParam.grad.view();
  }
  /** Running mean (zeros at first), used in inference mode; a live view. */
  get runningMean(): Float32Array {
    return this.meanBuf.view();
  }
  /** Copies `values` (`numFeatures` finite numbers) into the running mean. */
  set runningMean(values: ArrayLike<number>) {
    this.assign({ name: 'runningMean', value: this.meanBuf, grad: this.meanBuf }, values);
  }
  /** Running (unbiased) variance (ones at first), used in inference mode; a live view. */
  get runningVar(): Float32Array {
    return this.varBuf.view();
  }
  /** Copies `values` (`numFeatures` finite numbers ≥ 0) into the running variance. */
  set runningVar(values: ArrayLike<number>) {
    const low = Array.prototype.findIndex.call(values ?? [], (v: number) => v < 0);
    if (low >= 0) throw new ValueError(`BatchNorm.runningVar must hold variances ≥ 0, but index ${low} is ${values[low]}`);
    this.assign({ name: 'runningVar', value: this.varBuf, grad: this.varBuf }, values);
  }

  override checkTrainingBatch(n: number): void {
    const perChannel = n * (product(this.inShape!) / this.numFeatures);
    if (perChannel < 2) {
      throw new ShapeError(
        `BatchNorm in training mode needs more than 1 value per channel, but a batch of ${n} gives ${perChannel} (as PyTorch); ` +
          'choose a batchSize that leaves no batch of 1 sample (the last batch of an epoch holds the remainder)',
      );
    }
  }

  override buffers(): NamedBuffer[] {
    return [
      { name: 'runningMean', value: this.meanBuf },
      { name: 'runningVar', value: this.varBuf, min: 0 },
    ];
  }

  override get batchWide(): boolean {
    return true;
  }

  build(inputShape: readonly number[]): number[] {
    if (inputShape.length === 3 && this.afun.id === ActivationId.SoftMax) {
      throw new ValueError('BatchNorm afun on [c, h, w] samples must be elementwise (ReLU, Sigmoid, Tanh, Identity); SoftMax belongs on a dense output');
    }
    if ((inputShape.length !== 3 && inputShape.length !== 1) || inputShape[0] !== this.numFeatures) {
      throw new ShapeError(
        `BatchNorm of ${this.numFeatures} features expects input samples of shape [${this.numFeatures}, h, w] or [${this.numFeatures}], got ${show(inputShape)}`,
      );
    }
    this.inShape = [...inputShape];
    this.outShape = [...inputShape];
    return [...inputShape];
  }

  protected override get shapeAgnostic(): boolean {
    return true;
  }

  forwardBuffer(input: F32Array, n: number, record = true): F32Array {
    this.assertAlive();
    const c = this.numFeatures;
    const hw = product(this.inShape!) / c;
    // Refused before any state changes, so that a following backprop cannot use this pass's size with the last pass's x̂.
    if (this.training && n * hw < 2) {
      throw new ShapeError(`BatchNorm in training mode needs more than 1 value per channel, got input of shape ${show([n, ...this.inShape!])} (as PyTorch)`);
    }
    this.beginForward(input, n, record);
    const len = n * c * hw;
    const z = this.zBuf.ensure(len);
    const xhat = this.xhatBuf.ensure(len);
    const [g, b] = [this.gammaParam.value.ptr, this.betaParam.value.ptr];
    this.batchStats = this.training;
    if (this.training) {
      kernels().wn_batchnorm_forward_train(n, c, hw, input.ptr, g, b, this.eps, this.momentum, this.meanBuf.ptr, this.varBuf.ptr, z.ptr, xhat.ptr, this.invstd.ptr);
    } else {
      kernels().wn_batchnorm_forward_eval(n, c, hw, input.ptr, g, b, this.meanBuf.ptr, this.varBuf.ptr, this.eps, z.ptr, xhat.ptr, this.invstd.ptr);
    }
    return this.activate(len, this.outShape![this.outShape!.length - 1]);
  }

  backwardFromDeltaZ(wantInputGrad: boolean, accumulate = false): F32Array | null {
    this.assertAlive();
    const c = this.numFeatures;
    const n = this.batch;
    const hw = product(this.inShape!) / c;
    const da = wantInputGrad ? this.daBuf.ensure(n * c * hw) : null;
    kernels().wn_batchnorm_backward(
      n, c, hw,
      this.dzBuf.current.ptr, this.xhatBuf.current.ptr, this.gammaParam.value.ptr, this.invstd.ptr, this.batchStats ? 1 : 0,
      da ? da.ptr : 0, this.gammaParam.grad.ptr, this.betaParam.grad.ptr, accumulate ? 1 : 0,
    );
    return da;
  }

  // ------------------------------------------ a batch in shards (train/together.ts)
  //
  // When a batch is cut into shards (and spread over workers), each shard hands over its per-feature sums, every
  // shard's are combined in shard order — the same floats whoever computed them — and each shard goes on with the
  // batch's statistics. The same mathematics as `forwardBuffer`/`backwardFromDeltaZ` on the batch in one piece.

  /** @internal Per feature, this shard's Σx and Σ(x − its mean)² (f64 pairs), for `combineStats`. */
  shardStats(input: F32Array, n: number): Float64Array {
    const hw = product(this.inShape!) / this.numFeatures;
    const out = this.f64Scratch();
    kernels().wn_batchnorm_shard_stats(n, this.numFeatures, hw, input.ptr, out.ptr);
    return this.f64View(out).slice();
  }

  /**
   * @internal The batch's statistics from every shard's `shardStats`, in shard order (`rows[i]` samples in shard
   * i), combined with Chan, Golub and LeVeque's pairwise update in f64: per feature the mean, then Σ(x − mean)²,
   * then the count of values per feature.
   */
  combineStats(parts: readonly Float64Array[], rows: readonly number[]): Float64Array {
    const c = this.numFeatures;
    const hw = product(this.inShape!) / c;
    const out = new Float64Array(2 * c + 1);
    let count = 0;
    parts.forEach((part, i) => {
      const nb = rows[i] * hw;
      for (let ch = 0; ch < c; ch++) {
        const mb = part[2 * ch] / nb;
        if (count === 0) {
          out[ch] = mb;
          out[c + ch] = part[2 * ch + 1];
        } else {
          const d = mb - out[ch];
          out[ch] += (d * nb) / (count + nb);
          out[c + ch] += part[2 * ch + 1] + (d * d * count * nb) / (count + nb);
        }
      }
      count += nb;
    });
    out[2 * c] = count;
    return out;
  }

  /** @internal Moves the running statistics towards the batch's (`combineStats`), as `forwardBuffer` in training mode does: once per batch. */
  acceptStats(stats: Float64Array): void {
    const c = this.numFeatures;
    const count = stats[2 * c];
    const m = Math.fround(this.momentum);
    const [mean, variance] = [this.meanBuf.view(), this.varBuf.view()];
    for (let ch = 0; ch < c; ch++) {
      mean[ch] = (1 - m) * mean[ch] + m * stats[ch];
      variance[ch] = (1 - m) * variance[ch] + m * (stats[c + ch] / (count - 1));
    }
  }

  /** @internal The training forward pass of one shard, normalized with the batch's statistics (`combineStats`); the running statistics are left to `acceptStats`. */
  forwardWithStats(input: F32Array, n: number, stats: Float64Array): F32Array {
    this.assertAlive();
    const c = this.numFeatures;
    const hw = product(this.inShape!) / c;
    this.beginForward(input, n, true);
    const len = n * c * hw;
    const z = this.zBuf.ensure(len);
    const xhat = this.xhatBuf.ensure(len);
    const consts = this.shardConsts.ensure(2 * c);
    const [hi, lo, inv] = [consts.view().subarray(0, c), consts.view().subarray(c), this.invstd.view()];
    const eps = Math.fround(this.eps);
    for (let ch = 0; ch < c; ch++) {
      // As the one-piece kernel: invstd from the f64 variance, the mean split into two floats.
      inv[ch] = 1 / Math.sqrt(stats[c + ch] / stats[2 * c] + eps);
      hi[ch] = stats[ch];
      lo[ch] = stats[ch] - hi[ch];
    }
    this.batchStats = true;
    this.shardCount = stats[2 * c];
    const [g, b] = [this.gammaParam.value.ptr, this.betaParam.value.ptr];
    kernels().wn_batchnorm_normalize(n, c, hw, input.ptr, g, b, consts.ptr, consts.ptr + 4 * c, this.invstd.ptr, z.ptr, xhat.ptr);
    return this.activate(len, this.outShape![this.outShape!.length - 1]);
  }

  /** @internal Per feature, this shard's Σ∂C/∂z and Σ∂C/∂z·x̂ (f64 pairs), with ∂C/∂z in `deltaZBuffer()`. */
  shardGradSums(): Float64Array {
    const c = this.numFeatures;
    const hw = product(this.inShape!) / c;
    const out = this.f64Scratch();
    kernels().wn_batchnorm_shard_grad_sums(this.batch, c, hw, this.dzBuf.current.ptr, this.xhatBuf.current.ptr, out.ptr);
    return this.f64View(out).slice();
  }

  /** @internal Every shard's `shardGradSums` added in shard order. */
  combineGradSums(parts: readonly Float64Array[]): Float64Array {
    const out = new Float64Array(2 * this.numFeatures);
    for (const part of parts) for (let j = 0; j < out.length; j++) out[j] += part[j];
    return out;
  }

  /**
   * @internal The backward pass of one shard from the batch's sums (`combineGradSums`): ∂C/∂γ and ∂C/∂β are this
   * shard's own sums (`own`, its share of the batch's gradient), ∂C/∂input goes through the batch's statistics.
   */
  backwardWithSums(own: Float64Array, sums: Float64Array, wantInputGrad: boolean): F32Array | null {
    this.assertAlive();
    const c = this.numFeatures;
    const hw = product(this.inShape!) / c;
    const [dgamma, dbeta] = [this.gammaParam.grad.view(), this.betaParam.grad.view()];
    for (let ch = 0; ch < c; ch++) {
      dbeta[ch] = own[2 * ch];
      dgamma[ch] = own[2 * ch + 1];
    }
    if (!wantInputGrad) return null;
    const consts = this.shardConsts.ensure(3 * c);
    const v = consts.view();
    const [gamma, inv] = [this.gammaParam.value.view(), this.invstd.view()];
    const nf = this.shardCount;
    for (let ch = 0; ch < c; ch++) {
      // The one-piece kernel's constants: dx = a·dy + (b·x̂ + k).
      const g = gamma[ch] * inv[ch];
      v[ch] = g;
      v[c + ch] = (-g * sums[2 * ch + 1]) / nf;
      v[2 * c + ch] = (-g * sums[2 * ch]) / nf;
    }
    const n = this.batch;
    const da = this.daBuf.ensure(n * c * hw);
    kernels().wn_batchnorm_combine(n, c, hw, this.dzBuf.current.ptr, this.xhatBuf.current.ptr, consts.ptr, consts.ptr + 4 * c, consts.ptr + 8 * c, da.ptr);
    return da;
  }

  /** Wasm memory for 2·numFeatures f64s (16-byte aligned, as every block). */
  private f64Scratch(): F32Array {
    return this.f64Buf.ensure(4 * this.numFeatures);
  }

  private f64View(buf: F32Array): Float64Array {
    const v = buf.view();
    return new Float64Array(v.buffer, v.byteOffset, 2 * this.numFeatures);
  }

  /** Bytes of wasm memory the batch buffers take for `n` samples (with x̂). */
  override batchBytes(n: number): number {
    return super.batchBytes(n) + 4 * n * product(this.inShape!);
  }

  protected override freeBuffers(): void {
    super.freeBuffers();
    for (const b of [this.meanBuf, this.varBuf, this.invstd]) b.free();
    this.xhatBuf.free();
    this.shardConsts.free();
    this.f64Buf.free();
  }
}
