/**
 * The course's `SequentialNet`: layers applied in order. This file is the
 * network's structure — the layer list, `add*`, forward and backward over
 * wasm buffers, parameters, inference, model files. The training loop lives
 * in `train/loop.ts`.
 */
import { ActivationId } from './activations.js';
import { DisposedError, ShapeError, ValueError, checkFiniteValues, checkInt, optionsObject, show } from './core/errors.js';
import { type F32Array, checkSampleFits, ensureFits, growableF32 } from './core/memory.js';
import { Rng, randomSeed } from './core/rng.js';
import { Tensor, product } from './core/tensor.js';
import { kernels } from './core/wasm.js';
import { CrossEntropy, type Loss, MeanSquaredError, rowsAreDistributions } from './losses.js';
import { type SaveOptions, loadNetwork, saveNetwork } from './io/model-file.js';
import { ActivatedLayer } from './layers/activated.js';
import { BatchNormLayer } from './layers/batchnorm.js';
import { Conv2DLayer } from './layers/conv2d.js';
import { Pool2DLayer } from './layers/pool2d.js';
import { type BuildContext, Layer, type NamedBuffer, type NamedParameter } from './layers/layer.js';
import { type LayerAdders, adderNames, layerClassNames, layerKinds } from './layers/registry.js';
import { endIdleWorkers } from './parallel/pool.js';
import { type EpochStats, type TrainOptions, trainNetwork } from './train/loop.js';

/** Options of `SequentialNet`. */
export interface SequentialNetOptions {
  /** Loss; default cross-entropy when the last layer's activation is SoftMax, else mean squared error. */
  loss?: Loss;
  /** Seeds the initial weights, the shuffling and dropout: one seed, one trained network, bit for bit. */
  seed?: number;
}

/**
 * Inference runs in chunks of this many samples by default: a chunk's
 * activations stay in cache from one layer to the next (measured here: ~10 %
 * more images/s than chunks of 1000). Outputs do not depend on the chunking:
 * each sample's arithmetic is the same.
 */
export const INFERENCE_CHUNK = 128;

/** `net.addConv2D(…)`, `net.addPool2D(…)`, …: one per registered layer kind (see `layers/registry.ts`). */
export interface SequentialNet extends LayerAdders {}

export class SequentialNet {
  /** Shape of one input sample, e.g. `[1, 28, 28]`. */
  readonly inputShape: readonly number[];
  /** The seed of the initial weights, the shuffling and dropout. */
  readonly seed: number;
  /** The layers in order; only `add` changes them (see `layers`). */
  private readonly layerList: Layer[] = [];
  /** A frozen copy of `layerList`, made anew by each `add`. */
  private layerView: readonly Layer[] = Object.freeze([]);
  /** Epochs trained so far (saved with the training state; `train` numbers its epochs after it). */
  epochsTrained = 0;
  private readonly explicitLoss: Loss | null;
  private readonly initRng: Rng;
  /** @internal The shuffling stream (its state is saved with the training state). */
  readonly shuffleRng: Rng;
  private shapeNow: number[];
  /** @internal Batch buffers the training loop fills. */
  readonly inputBuf = growableF32();
  /** @internal */
  readonly labelBuf = growableF32();
  private readonly gradBuf = growableF32();
  private lastOut: F32Array | null = null;
  private disposed = false;
  /** A `train` call is running: the structure must not change under it. */
  private trainingRun = false;

  constructor(inputShape: readonly number[], options: SequentialNetOptions = {}) {
    const { loss, seed } = optionsObject('SequentialNet options', options, ['loss', 'seed']);
    if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`SequentialNet inputShape must be a non-empty array of positive integers such as [1, 28, 28], got ${show(inputShape)}`);
    }
    if (loss !== undefined && !(loss instanceof CrossEntropy || loss instanceof MeanSquaredError)) {
      throw new ValueError(`SequentialNet loss must be a CrossEntropy or MeanSquaredError, got ${show(loss)}`);
    }
    // Before anything else is built: a file's or caller's shape whose one sample cannot fit fails here, in no time.
    checkSampleFits(inputShape, 'SequentialNet inputShape');
    this.inputShape = Object.freeze([...inputShape]);
    this.seed = seed === undefined ? randomSeed() : checkInt('SequentialNet seed', seed, 0, 2 ** 32 - 1);
    this.initRng = new Rng(this.seed);
    this.shuffleRng = new Rng((this.seed ^ 0x5bd1e995) >>> 0);
    this.explicitLoss = loss ?? null;
    this.shapeNow = [...inputShape];
  }

  /**
   * @internal The order the last epoch visited the samples in, which the next
   * epoch's shuffle starts from (0, 1, 2, … for a new network or another
   * sample count). Saved with the training state.
   */
  sampleOrder(n: number): Uint32Array {
    if (this.order?.length !== n) {
      this.order = new Uint32Array(n);
      for (let i = 0; i < n; i++) this.order[i] = i;
    }
    return this.order;
  }
  /** @internal */
  order: Uint32Array | null = null;

  /**
   * The layers in order: a frozen array (`push`, `pop` or assigning an index
   * throw a TypeError in strict code, and change nothing). Only `add` and the
   * `add<Kind>` adders change a network's structure, so the shapes it checked
   * stay true.
   */
  get layers(): readonly Layer[] {
    return this.layerView;
  }

  /** Per-sample output shape of the last layer added (the input shape while there is none). */
  get outputShape(): readonly number[] {
    return this.shapeNow;
  }

  /** The loss `train` minimizes. */
  get loss(): Loss {
    if (this.explicitLoss) return this.explicitLoss;
    return this.endsInSoftMax() ? (this.defaultCE ??= new CrossEntropy()) : (this.defaultMSE ??= new MeanSquaredError());
  }
  private defaultCE?: CrossEntropy;
  private defaultMSE?: MeanSquaredError;

  /** Whether every layer is in training mode; setting it sets every layer's `training`. */
  get training(): boolean {
    return this.layers.length > 0 && this.layers.every((l) => l.training);
  }
  /** Sets every layer's `training`. */
  set training(on: boolean) {
    this.assertAlive();
    if (typeof on !== 'boolean') throw new ValueError(`training must be true or false, got ${show(on)}`);
    for (const l of this.layers) l.training = on;
  }

  /** Runs `fn` with every layer's `training` set to `on`, then restores each layer's own flag. */
  inMode<T>(on: boolean, fn: () => T): T {
    const saved = this.layers.map((l) => l.training);
    this.training = on;
    try {
      return fn();
    } finally {
      this.layers.forEach((l, i) => (l.training = saved[i]));
    }
  }

  /** Appends a layer, checking that it takes the current output shape. */
  add<L extends Layer>(layer: L): L {
    this.assertAlive();
    if (this.trainingRun) throw new ValueError(`add: the network is training; add layers before train() or after it resolves, not from its callbacks`);
    if (!(layer instanceof Layer)) throw new ValueError(`add needs a layer (${layerClassNames()}), got ${show(layer)}`);
    if (layer.isDisposed) throw new DisposedError(`add: this ${layer.kind} layer was disposed`);
    if (this.layerList.includes(layer)) throw new ValueError(`add: this ${layer.kind} layer is already in the network; create a new layer instead`);
    if (layer.inNetwork) throw new ValueError(`add: this ${layer.kind} layer belongs to another network (which disposes it); create a new layer instead`);
    this.shapeNow = layer.attach(this.shapeNow);
    this.layerList.push(layer);
    this.layerView = Object.freeze([...this.layerList]);
    return layer;
  }

  /** What a layer kind needs to build a layer at the end of this network. */
  buildContext(): BuildContext {
    this.assertAlive();
    return { shape: [...this.shapeNow], rng: this.initRng, seed: this.seed, index: this.layers.length };
  }

  /**
   * Every trainable tensor, named `layers.<i>.<name>`. Setting an entry's `grad` sets the layer's own (the training
   * loop does, for a shard's backward pass to write into the gradient tree's buffers, and puts it back): an array
   * set there must stay alive as long as the layer uses it. Setting `value` changes only the entry.
   */
  parameters(): NamedParameter[] {
    this.assertAlive();
    return this.layers.flatMap((l, i) =>
      l.parameters().map((p): NamedParameter => ({
        name: `layers.${i}.${p.name}`,
        value: p.value,
        get grad() {
          return p.grad;
        },
        set grad(g) {
          p.grad = g;
        },
        get addToGrad() {
          return p.addToGrad;
        },
        set addToGrad(add) {
          p.addToGrad = add;
        },
        ...(p.addsExactly ? { addsExactly: (rows: number) => p.addsExactly!(rows) } : {}),
      })),
    );
  }

  /** Every non-trainable model tensor (batch norm's running statistics), named `layers.<i>.<name>`. */
  buffers(): NamedBuffer[] {
    this.assertAlive();
    return this.layers.flatMap((l, i) => l.buffers().map((b) => ({ ...b, name: `layers.${i}.${b.name}` })));
  }

  /**
   * Inference on `x` `[n, ...inputShape]` (every layer in inference mode).
   * Returns `[n, ...outputShape]`. The forward pass takes at most
   * `batchSize` samples at a time and never more than 128 (INFERENCE_CHUNK),
   * so that a chunk's activations stay in cache; the result does not depend
   * on either.
   */
  evaluate(x: Tensor, options: { batchSize?: number } = {}): Tensor {
    this.assertReady();
    const { batchSize = INFERENCE_CHUNK } = optionsObject('evaluate options', options, ['batchSize']);
    const n = this.checkInput('x', x);
    checkInt('batchSize', batchSize);
    const outLen = product(this.shapeNow);
    const result = new Float32Array(n * outLen);
    this.forEachChunk(x, null, batchSize, 'evaluate', (out, start, m) => result.set(out.view().subarray(0, m * outLen), start * outLen));
    return new Tensor(result, [n, ...this.shapeNow]);
  }

  /** Loss and accuracy on `(x, y)` in inference mode, in forward passes of at most `batchSize` and at most 128 samples (as `evaluate`). */
  measure(x: Tensor, y: Tensor, options: { batchSize?: number } = {}): { loss: number; accuracy: number } {
    this.assertReady();
    const { batchSize = INFERENCE_CHUNK } = optionsObject('measure options', options, ['batchSize']);
    const n = this.checkPair(x, y);
    checkInt('batchSize', batchSize);
    const k = kernels();
    const outLen = product(this.shapeNow);
    let lossSum = 0;
    let correct = 0;
    this.forEachChunk(x, y, batchSize, 'measure', (out, _start, m, labels) => {
      lossSum += this.loss.compute(out.ptr, labels!.ptr, m, outLen, 0) * m;
      correct += k.wn_count_correct(out.ptr, labels!.ptr, m, outLen);
    });
    return { loss: lossSum / n, accuracy: correct / n };
  }

  /** The loss on `(x, y)` as one batch, without training, with the layers in the mode they are in. */
  lossOn(x: Tensor, y: Tensor): number {
    this.assertReady();
    const n = this.checkPair(x, y);
    const out = this.forwardBuffer(this.upload(this.inputBuf, x), n, false);
    return this.loss.compute(out.ptr, this.upload(this.labelBuf, y).ptr, n, product(this.shapeNow), 0);
  }

  /**
   * Backpropagation on one batch without updating, with the layers in the
   * mode they are in: sets every layer's gradients (`df`, `db`, `dw`) and
   * returns the loss and ∂C/∂x.
   */
  computeGradients(x: Tensor, y: Tensor): { loss: number; inputGradient: Tensor } {
    this.assertReady();
    const n = this.checkPair(x, y);
    const xb = this.upload(this.inputBuf, x);
    const yb = this.upload(this.labelBuf, y);
    this.forwardBuffer(xb, n);
    const { loss, inputGrad } = this.backwardBuffer(yb, n, n, true, rowsAreDistributions(y), false);
    return { loss, inputGradient: new Tensor(inputGrad!.view().slice(0, x.size), x.shape) };
  }

  /**
   * Mini-batch training (see `train/loop.ts`). `x` is `[n, ...inputShape]`,
   * `y` `[n, ...outputShape]` (one-hot rows for classification). Every layer
   * is in training mode for the duration. Resolves to one entry per epoch.
   */
  async train(x: Tensor, y: Tensor, options: TrainOptions = {}): Promise<EpochStats[]> {
    this.assertReady();
    if (this.trainingRun) throw new ValueError('train: this network is already training; await the running train() before starting another');
    this.trainingRun = true;
    try {
      return await trainNetwork(this, x, y, options);
    } finally {
      this.trainingRun = false;
    }
  }

  /**
   * The network as one self-describing file (see `io/model-file.ts`):
   * architecture, weights, batch-norm statistics and — unless
   * `{ trainingState: false }` — the optimizers' state, the random streams
   * and the epoch count, so that training resumes exactly where it stopped.
   */
  save(options: SaveOptions = {}): Uint8Array {
    this.assertReady();
    return saveNetwork(this, options);
  }

  /** Rebuilds a network saved with `save()` (bytes or an ArrayBuffer); it predicts bit-identically and, with its training state, trains on exactly. */
  static load(bytes: Uint8Array | ArrayBuffer): SequentialNet {
    return loadNetwork(bytes, (inputShape, options) => new SequentialNet(inputShape, options));
  }

  /** Frees all wasm memory of the network and its layers, and ends the idle workers its last `train` call left. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) l.dispose();
    for (const b of [this.inputBuf, this.labelBuf, this.gradBuf]) b.free();
    this.explicitLoss?.dispose();
    this.defaultCE?.dispose();
    this.defaultMSE?.dispose();
    // Workers another network took since are that network's to end.
    endIdleWorkers(this);
  }

  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ------------------------------------------------ buffer level (the training loop's)

  /**
   * @internal The forward pass over `n` samples in wasm memory, the first of
   * them sample `offset` of its mini-batch; `record = false` skips what only
   * backprop needs.
   */
  forwardBuffer(input: F32Array, n: number, record = true, offset = 0): F32Array {
    let buf = input;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      if (this.poolsInConvKernel(i)) {
        buf = (layer as Conv2DLayer).forwardThroughPool(this.layers[++i] as Pool2DLayer, buf, n, record);
      } else {
        buf = layer.forwardBuffer(buf, n, record, offset);
      }
    }
    this.lastOut = buf;
    return buf;
  }

  /**
   * Whether layer `i` is a convolution with its ReLU fused and layer i + 1 a max pooling, whose forward passes then
   * run image by image in one kernel (`Conv2DLayer.forwardThroughPool`; the same floats).
   */
  private poolsInConvKernel(i: number): boolean {
    const layer = this.layers[i];
    return layer instanceof Conv2DLayer && layer.outputIsFusedReLU && this.layers[i + 1] instanceof Pool2DLayer;
  }

  /**
   * @internal The training forward pass of one shard of a batch whose batch-norm statistics are the whole
   * batch's (`train/together.ts`): at each batch-norm layer it yields the shard's sums and goes on with the
   * batch's statistics it is given back.
   */
  *forwardShard(input: F32Array, n: number, offset: number): Generator<ShardExchange, F32Array, Float64Array> {
    let buf = input;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      if (layer instanceof BatchNormLayer && layer.training) {
        const stats = yield { layer: i, kind: 'stats', partial: layer.shardStats(buf, n) };
        buf = layer.forwardWithStats(buf, n, stats);
      } else if (this.poolsInConvKernel(i)) {
        buf = (layer as Conv2DLayer).forwardThroughPool(this.layers[++i] as Pool2DLayer, buf, n, true);
      } else {
        buf = layer.forwardBuffer(buf, n, true, offset);
      }
    }
    this.lastOut = buf;
    return buf;
  }

  /**
   * @internal Loss and backpropagation through every layer for the last
   * forward pass of `rows` samples, part of a batch of `n` (the loss is a
   * mean over n). `accumulate` adds to the parameter gradients (a batch's
   * later chunks). With a SoftMax output, cross-entropy and label rows that
   * sum to 1, ∂C/∂z is (ŷ − y)/n directly: exact where ŷ underflows, and one
   * pass cheaper.
   */
  backwardBuffer(
    labels: F32Array,
    rows: number,
    n: number,
    wantInputGrad: boolean,
    labelsAreDistributions: boolean,
    accumulate: boolean,
  ): { loss: number; inputGrad: F32Array | null } {
    const pass = this.backwardSteps(labels, rows, n, wantInputGrad, labelsAreDistributions, accumulate, false);
    const r = pass.next();
    if (!r.done) throw new ShapeError('a backward pass in one piece stopped for other shards (a wasmnet bug)');
    return r.value;
  }

  /**
   * @internal `backwardBuffer` as steps: with `inShards`, each batch-norm layer in training mode yields its
   * shard's sums and takes back the batch's (`train/together.ts`); without, it never yields.
   */
  *backwardSteps(
    labels: F32Array,
    rows: number,
    n: number,
    wantInputGrad: boolean,
    labelsAreDistributions: boolean,
    accumulate: boolean,
    inShards: boolean,
  ): Generator<ShardExchange, { loss: number; inputGrad: F32Array | null }, Float64Array> {
    const k = kernels();
    const last = this.layers[this.layers.length - 1];
    const top = this.layers.length - 1;
    const outLen = product(this.shapeNow);
    const loss = this.loss;
    const yhat = this.lastOut!;
    // A batch-norm layer in shards meets the others between its ∂C/∂z and its ∂C/∂input (`meetShards`, a generator);
    // every other layer is called directly. A generator per layer and shard, created and delegated to right after
    // the kernels have evicted the engine's code and data, cost the course's network 20–30 µs each.
    const meets = (layer: Layer): layer is BatchNormLayer => inShards && layer instanceof BatchNormLayer && layer.training;
    let delta: F32Array | null;
    let value: number;
    if (labelsAreDistributions && loss instanceof CrossEntropy && last instanceof ActivatedLayer && last.afun.id === ActivationId.SoftMax) {
      value = loss.compute(yhat.ptr, labels.ptr, rows, outLen, 0, n);
      k.wn_softmax_cross_entropy_delta(yhat.ptr, labels.ptr, rows, outLen, last.deltaZBuffer().ptr, n);
      const want = wantInputGrad || top > 0;
      delta = meets(last) ? yield* this.meetShards(last, top, want) : last.backwardFromDeltaZ(want, accumulate);
    } else {
      const grad = this.gradBuf.ensure(rows * outLen);
      value = loss.compute(yhat.ptr, labels.ptr, rows, outLen, grad.ptr, n);
      const want = wantInputGrad || top > 0;
      delta = meets(last) ? yield* this.meetShards(last, top, want, grad) : last.backwardBuffer(grad, want, accumulate);
    }
    for (let i = top - 1; i >= 0; i--) {
      const layer = this.layers[i];
      const before = i > 0 ? this.layers[i - 1] : null;
      if (layer instanceof Pool2DLayer && before instanceof Conv2DLayer && before.outputIsFusedReLU) {
        // Max pooling, a fused ReLU and the convolution before them, image by image in one kernel (the same floats).
        delta = before.backwardThroughPool(layer, delta!, wantInputGrad || i > 1, accumulate);
        i--;
        continue;
      }
      if (layer instanceof Pool2DLayer && before instanceof ActivatedLayer && before.outputIsReLU) {
        // Max pooling after a ReLU: one pass gives the ReLU layer its ∂C/∂z (see backwardThroughReLU).
        layer.backwardThroughReLU(delta!, before.deltaZBuffer());
        const want = wantInputGrad || i > 1;
        delta = meets(before) ? yield* this.meetShards(before, i - 1, want) : before.backwardFromDeltaZ(want, accumulate);
        i--;
        continue;
      }
      const want = wantInputGrad || i > 0;
      delta = meets(layer) ? yield* this.meetShards(layer, i, want, delta!) : layer.backwardBuffer(delta!, want, accumulate);
    }
    return { loss: value, inputGrad: delta };
  }

  /**
   * A batch-norm layer's backward pass in shards: its ∂C/∂z from `delta` (∂C/∂output) unless its deltaZBuffer holds
   * it already, its shard's sums out, every shard's back in, then its ∂C/∂input.
   */
  private *meetShards(layer: BatchNormLayer, i: number, want: boolean, delta?: F32Array): Generator<ShardExchange, F32Array | null, Float64Array> {
    if (delta) layer.deltaZFrom(delta);
    const own = layer.shardGradSums();
    const sums = yield { layer: i, kind: 'grads', partial: own };
    return layer.backwardWithSums(own, sums, want);
  }

  /** @internal Runs `step` between every layer's `beginStep(backward)` and `endStep` (see `Layer.beginStep`). */
  inStep<T>(step: () => T, backward = true): T {
    let begun = 0;
    try {
      for (const layer of this.layers) {
        layer.beginStep(backward);
        begun++;
      }
      return step();
    } finally {
      for (let i = 0; i < begun; i++) this.layers[i].endStep();
    }
  }

  /** @internal Bytes of the batch buffers of every layer and of the network for `n` samples. */
  batchBytes(n: number): number {
    const io = 4 * n * (product(this.inputShape) + 2 * product(this.shapeNow));
    return this.layers.reduce((s, l) => s + l.batchBytes(n), io);
  }

  /**
   * The one chunked inference pass `evaluate` and `measure` share: every
   * layer in inference mode, `chunk` samples at a time, `visit` called with
   * each chunk's output (and its labels, when `y` is given).
   */
  private forEachChunk(
    x: Tensor,
    y: Tensor | null,
    chunk: number,
    what: string,
    visit: (out: F32Array, start: number, m: number, labels: F32Array | null) => void,
  ): void {
    const n = x.shape[0];
    chunk = Math.min(chunk, INFERENCE_CHUNK);
    const size = Math.min(n, chunk);
    ensureFits(this.batchBytes(size), `${what} in batches of ${size}`);
    const inLen = product(this.inputShape);
    const outLen = product(this.shapeNow);
    const chunks = () => {
      for (let start = 0; start < n; start += chunk) {
        const m = Math.min(chunk, n - start);
        const xb = this.inputBuf.ensure(m * inLen);
        xb.set(x.data.subarray(start * inLen, (start + m) * inLen));
        let yb: F32Array | null = null;
        if (y) {
          yb = this.labelBuf.ensure(m * outLen);
          yb.set(y.data.subarray(start * outLen, (start + m) * outLen));
        }
        visit(this.forwardBuffer(xb, m, false), start, m, yb);
      }
    };
    // Several chunks share each dense layer's weights packed once for the GEMM (one chunk packs them as it goes).
    this.inMode(false, () => (n > chunk ? this.inStep(chunks, false) : chunks()));
  }

  private upload(target: ReturnType<typeof growableF32>, t: Tensor): F32Array {
    const buf = target.ensure(Math.max(1, t.size));
    buf.set(t.data);
    return buf;
  }

  private checkInput(name: string, x: Tensor): number {
    if (!(x instanceof Tensor)) throw new ShapeError(`${name} must be a Tensor, got ${show(x)}`);
    const want = [...this.inputShape];
    if (x.shape.length !== want.length + 1 || x.shape.slice(1).join() !== want.join()) {
      throw new ShapeError(`${name} must have shape [n, ${want.join(', ')}] to fit the network's input, got ${show(x.shape)}`);
    }
    if (x.shape[0] === 0) throw new ShapeError(`${name} has no samples`);
    checkFiniteValues(name, x.data, product(want));
    return x.shape[0];
  }

  /** @internal Checks `x` and `y` against the network and each other; returns the sample count. */
  checkPair(x: Tensor, y: Tensor, prefix = ''): number {
    const [xn, yn] = prefix ? [`${prefix}[0]`, `${prefix}[1]`] : ['x', 'y'];
    const n = this.checkInput(xn, x);
    if (!(y instanceof Tensor)) throw new ShapeError(`${yn} must be a Tensor, got ${show(y)}`);
    const want = [n, ...this.shapeNow];
    if (y.shape.join() !== want.join()) {
      const what = y.shape[0] !== n ? `${xn} has ${n} samples` : `the network's output is ${show([...this.shapeNow])} per sample`;
      throw new ShapeError(`${yn} must have shape ${show(want)} (${what}), got ${show(y.shape)}`);
    }
    checkFiniteValues(yn, y.data, product(this.shapeNow));
    if (this.loss instanceof CrossEntropy) {
      const neg = y.data.findIndex((v) => v < 0);
      if (neg >= 0) throw new ValueError(`${yn} must hold labels ≥ 0 for cross-entropy (one-hot rows or probabilities), but index ${neg} is ${y.data[neg]}`);
    }
    return n;
  }

  private endsInSoftMax(): boolean {
    const last = this.layers[this.layers.length - 1];
    return last instanceof ActivatedLayer && last.afun.id === ActivationId.SoftMax;
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('this SequentialNet was disposed');
  }

  /** @internal */
  assertReady(): void {
    this.assertAlive();
    if (this.layers.length === 0) throw new ShapeError(`the network has no layers: add some with ${adderNames()}`);
  }
}

/** @internal What one shard's pass hands over at a batch-norm layer: the layer, the pass, and the shard's sums. */
export interface ShardExchange {
  /** The layer's index in the network. */
  layer: number;
  /** 'stats' in the forward pass (`shardStats`), 'grads' in the backward pass (`shardGradSums`). */
  kind: 'stats' | 'grads';
  partial: Float64Array;
}

// `addConv2D`, `addPool2D`, …: one adder per registered kind, building the layer from the network's output so far.
for (const [kind, cls] of Object.entries(layerKinds)) {
  const build = cls.forNetwork as (ctx: BuildContext, ...args: unknown[]) => Layer;
  Object.defineProperty(SequentialNet.prototype, `add${kind}`, {
    value(this: SequentialNet, ...args: unknown[]) {
      const layer = build.call(cls, this.buildContext(), ...args);
      try {
        return this.add(layer);
      } catch (e) {
        layer.dispose(); // the adder made it, so nobody else can free it
        throw e;
      }
    },
    writable: true,
    configurable: true,
  });
}
