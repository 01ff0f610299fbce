/**
 * The course's `SequentialNet`: layers applied in order, trained by
 * mini-batch backpropagation. Shapes are inferred layer by layer as layers
 * are added; a batch never leaves wasm memory between layers.
 */
import { ActivationId, activationByName } from './activations.js';
import { DisposedError, ShapeError, ValueError, checkFiniteValues, checkInt, optionsObject, show } from './core/errors.js';
import { type F32Array, allocF32, allocU32, ensureFits, growableF32 } from './core/memory.js';
import { Rng, randomSeed } from './core/rng.js';
import { Tensor, product } from './core/tensor.js';
import { kernels } from './core/wasm.js';
import { CrossEntropy, type Loss, MeanSquaredError, lossByName } from './losses.js';
import { optimizerFromConfig } from './optimizers.js';
import { type LayerSpec, type ModelHeader, MODEL_VERSION, decodeModel, encodeModel } from './persistence.js';
import { ActivatedLayer } from './layers/activated.js';
import { Conv2DLayer, type Conv2DOptions } from './layers/conv2d.js';
import { DenseLayer, type DenseOptions } from './layers/dense.js';
import { FlattenLayer } from './layers/flatten.js';
import { Layer, type NamedParameter } from './layers/layer.js';
import { Pool2DLayer, type Pool2DOptions } from './layers/pool2d.js';

export interface SequentialNetOptions {
  /** Loss; default cross-entropy when the last layer's activation is SoftMax, else mean squared error. */
  loss?: Loss;
  /** Seeds the initial weights and the shuffling: one seed, one trained network, bit for bit. */
  seed?: number;
}

export interface BatchInfo {
  epoch: number;
  /** Batch index within the epoch, from 0. */
  batch: number;
  batches: number;
  /** Samples in this batch. */
  size: number;
  loss: number;
  accuracy: number;
}

export interface EpochStats {
  /** Epoch number, from 1. */
  epoch: number;
  /** Mean training loss over the epoch's batches, weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch (argmax of output = argmax of label), measured during the pass. */
  accuracy: number;
  seconds: number;
  imagesPerSecond: number;
  /** Loss and accuracy on `validationData`, when given. */
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainOptions {
  /** Samples per gradient step (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Reshuffle the samples before each epoch (default true), from the network's seeded generator. */
  shuffle?: boolean;
  /** `[x, y]` evaluated after every epoch. */
  validationData?: readonly [Tensor, Tensor];
  onBatch?: (info: BatchInfo) => void;
  onEpoch?: (stats: EpochStats) => void;
}

/**
 * Inference runs in chunks of at most this many samples, whatever the batch
 * size asked for: a chunk's activations stay in cache from one layer to the
 * next (measured here: ~10 % more images/s than chunks of 1000). Outputs do
 * not depend on the chunking: each sample's arithmetic is the same.
 */
const INFERENCE_CHUNK = 128;

/**
 * Training computes each batch's gradient in chunks of at most this many
 * samples, adding up the parameter gradients: the same gradient step (the
 * float sums run in another order), with a chunk's activations in cache.
 */
const TRAIN_CHUNK = 64;

/** Yield to the event loop at most this often while training, so pages and progress bars stay alive. */
const YIELD_MS = 50;

export class SequentialNet {
  readonly inputShape: readonly number[];
  readonly seed: number;
  readonly layers: Layer[] = [];
  private readonly explicitLoss: Loss | null;
  private readonly initRng: Rng;
  private readonly shuffleRng: Rng;
  private shapeNow: number[];
  private readonly inputBuf = growableF32();
  private readonly labelBuf = growableF32();
  private readonly gradBuf = growableF32();
  private disposed = false;

  constructor(inputShape: readonly number[], options: SequentialNetOptions = {}) {
    const { loss, seed } = optionsObject('SequentialNet options', options);
    if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`SequentialNet inputShape must be a non-empty array of positive integers such as [1, 28, 28], got ${show(inputShape)}`);
    }
    if (loss !== undefined && !(loss instanceof CrossEntropy || loss instanceof MeanSquaredError)) {
      throw new ValueError(`SequentialNet loss must be a CrossEntropy or MeanSquaredError, got ${show(loss)}`);
    }
    this.inputShape = Object.freeze([...inputShape]);
    this.seed = seed === undefined ? randomSeed() : checkInt('SequentialNet seed', seed, 0, 2 ** 32 - 1);
    this.initRng = new Rng(this.seed);
    this.shuffleRng = new Rng((this.seed ^ 0x5bd1e995) >>> 0);
    this.explicitLoss = loss ?? null;
    this.shapeNow = [...inputShape];
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

  /** Appends a layer, checking that it takes the current output shape. */
  add<L extends Layer>(layer: L): L {
    this.assertAlive();
    if (!(layer instanceof Layer)) throw new ValueError(`add needs a layer (Conv2DLayer, Pool2DLayer, FlattenLayer, DenseLayer), got ${show(layer)}`);
    if (layer.isDisposed) throw new DisposedError(`add: this ${layer.kind} layer was disposed`);
    if (this.layers.includes(layer)) throw new ValueError(`add: this ${layer.kind} layer is already in the network; create a new layer instead`);
    this.shapeNow = layer.build(this.shapeNow);
    this.layers.push(layer);
    return layer;
  }

  /** Conv2D with `fshape = [m, fh, fw]` on the current `[c, h, w]` output. */
  addConv2D(fshape: readonly [number, number, number], options: Conv2DOptions = {}): Conv2DLayer {
    const s = this.shapeNow;
    if (s.length !== 3) {
      throw new ShapeError(`addConv2D needs a [c, h, w] input, but the network's output so far has shape ${show(s)}`);
    }
    return this.add(new Conv2DLayer([s[0], s[1], s[2]], fshape, { rng: this.initRng, ...optionsObject('addConv2D options', options) }));
  }

  /** Max pooling over `area = [ph, pw]`. */
  addPool2D(area: readonly [number, number], options: Pool2DOptions = {}): Pool2DLayer {
    return this.add(new Pool2DLayer(area, options));
  }

  addFlatten(): FlattenLayer {
    return this.add(new FlattenLayer());
  }

  /** A dense layer with `outputSize` outputs on the current (flat) output. */
  addDense(outputSize: number, options: DenseOptions = {}): DenseLayer {
    const s = this.shapeNow;
    if (s.length !== 1) {
      throw new ShapeError(`addDense needs a flat input, but the network's output so far has shape ${show(s)}: call addFlatten() first`);
    }
    return this.add(new DenseLayer(s[0], outputSize, { rng: this.initRng, ...optionsObject('addDense options', options) }));
  }

  /** Every trainable tensor, named `layers.<i>.<name>`. */
  parameters(): NamedParameter[] {
    return this.layers.flatMap((l, i) => l.parameters().map((p) => ({ ...p, name: `layers.${i}.${p.name}` })));
  }

  /**
   * The forward pass for `x` `[n, ...inputShape]`, at most `batchSize`
   * (default 1000) samples at a time; returns `[n, ...outputShape]`.
   */
  evaluate(x: Tensor, options: { batchSize?: number } = {}): Tensor {
    this.assertReady();
    const { batchSize: asked = 1000 } = optionsObject('evaluate options', options);
    const n = this.checkInput('x', x);
    const batchSize = Math.min(checkInt('batchSize', asked), INFERENCE_CHUNK);
    this.reserveBatches(Math.min(n, batchSize), 'evaluate');
    const inLen = product(this.inputShape);
    const outLen = product(this.shapeNow);
    const result = new Float32Array(n * outLen);
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      const buf = this.inputBuf.ensure(m * inLen);
      buf.set(x.data.subarray(start * inLen, (start + m) * inLen));
      const out = this.forward(buf, m, false);
      result.set(out.view().subarray(0, m * outLen), start * outLen);
    }
    return new Tensor(result, [n, ...this.shapeNow]);
  }

  /** The loss on `(x, y)` without training (one batch). */
  lossOn(x: Tensor, y: Tensor): number {
    this.assertReady();
    const n = this.checkPair(x, y);
    const out = this.forward(this.upload(this.inputBuf, x), n, false);
    return this.loss.compute(out.ptr, this.upload(this.labelBuf, y).ptr, n, product(this.shapeNow), 0);
  }

  /**
   * Backpropagation on one batch without updating: sets every layer's
   * gradients (`df`, `db`, `dw`) and returns the loss and ∂C/∂x.
   */
  computeGradients(x: Tensor, y: Tensor): { loss: number; inputGradient: Tensor } {
    this.assertReady();
    const n = this.checkPair(x, y);
    const xb = this.upload(this.inputBuf, x);
    const yb = this.upload(this.labelBuf, y);
    this.forward(xb, n);
    const { loss, inputGrad } = this.backward(yb, n, n, true, rowsAreDistributions(y), false);
    return { loss, inputGradient: new Tensor(inputGrad!.view().slice(0, x.size), x.shape) };
  }

  /**
   * Mini-batch training. `x` is `[n, ...inputShape]`, `y` `[n, ...outputShape]`
   * (one-hot rows for classification). The data is copied into wasm memory
   * once; each batch is gathered there. Resolves to one entry per epoch.
   */
  async train(x: Tensor, y: Tensor, options: TrainOptions = {}): Promise<EpochStats[]> {
    this.assertReady();
    const { batchSize = 32, epochs = 1, shuffle = true, validationData, onBatch, onEpoch } = optionsObject('train options', options);
    const n = this.checkPair(x, y);
    checkInt('batchSize', batchSize);
    checkInt('epochs', epochs);
    if (typeof shuffle !== 'boolean') throw new ValueError(`shuffle must be true or false, got ${show(shuffle)}`);
    if (onBatch !== undefined && typeof onBatch !== 'function') throw new ValueError(`onBatch must be a function, got ${show(onBatch)}`);
    if (onEpoch !== undefined && typeof onEpoch !== 'function') throw new ValueError(`onEpoch must be a function, got ${show(onEpoch)}`);
    if (validationData !== undefined) {
      if (!Array.isArray(validationData) || validationData.length !== 2) {
        throw new ValueError(`validationData must be [x, y], got ${show(validationData)}`);
      }
      this.checkPair(validationData[0], validationData[1], 'validationData');
    }
    const params = this.parameters();
    const paramFloats = params.reduce((s, p) => s + p.value.length, 0);
    // Dataset, shuffled order, a checkpoint of the weights and the chunk buffers, refused up front.
    ensureFits(4 * (x.size + y.size + n + paramFloats) + this.batchBytes(Math.min(n, batchSize, TRAIN_CHUNK)), `training on ${n} samples in batches of ${batchSize}`);
    const k = kernels();
    const inLen = product(this.inputShape);
    const outLen = product(this.shapeNow);
    const fused = rowsAreDistributions(y);
    const xs = allocF32(x.size);
    const ys = allocF32(y.size);
    const order = allocU32(n);
    const checkpoint = allocF32(paramFloats);
    const history: EpochStats[] = [];
    try {
      xs.set(x.data);
      ys.set(y.data);
      const perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      const batches = Math.ceil(n / batchSize);
      let lastYield = Date.now();
      for (let epoch = 1; epoch <= epochs; epoch++) {
        const started = performance.now();
        if (shuffle) this.shuffleRng.shuffle(perm);
        order.set(perm);
        let lossSum = 0;
        let correct = 0;
        for (let b = 0; b < batches; b++) {
          const start = b * batchSize;
          const m = Math.min(batchSize, n - start);
          // The batch is one gradient step, computed in chunks: forward and backward run chunk by
          // chunk and the parameter gradients add up, so each chunk's activations stay in cache.
          let loss = 0;
          let right = 0;
          for (let c = 0; c < m; c += TRAIN_CHUNK) {
            const rows = Math.min(TRAIN_CHUNK, m - c);
            const xb = this.inputBuf.ensure(rows * inLen);
            const yb = this.labelBuf.ensure(rows * outLen);
            k.wn_gather_rows(xs.ptr, n, inLen, order.ptr + 4 * (start + c), rows, xb.ptr);
            k.wn_gather_rows(ys.ptr, n, outLen, order.ptr + 4 * (start + c), rows, yb.ptr);
            const out = this.forward(xb, rows);
            right += k.wn_count_correct(out.ptr, yb.ptr, rows, outLen);
            loss += this.backward(yb, rows, m, false, fused, c > 0).loss;
          }
          const where = `at epoch ${epoch}, batch ${b + 1} of ${batches}`;
          const advice = 'the network keeps the weights it had before this batch; lower the learning rate or check the data for huge values';
          if (!Number.isFinite(loss)) throw new ValueError(`training stopped: the loss is ${loss} ${where}; ${advice}`);
          const badGrad = params.find((p) => !k.wn_all_finite(p.grad.ptr, p.grad.length));
          if (badGrad) throw new ValueError(`training stopped: the gradient of ${badGrad.name} is not finite ${where}; ${advice}`);
          this.copyParameters(params, checkpoint, 'save');
          for (const layer of this.layers) layer.update();
          const badValue = params.find((p) => !k.wn_all_finite(p.value.ptr, p.value.length));
          if (badValue) {
            this.copyParameters(params, checkpoint, 'restore');
            throw new ValueError(`training stopped: the update made ${badValue.name} overflow ${where}; ${advice}`);
          }
          lossSum += loss * m;
          correct += right;
          onBatch?.({ epoch, batch: b, batches, size: m, loss, accuracy: right / m });
          if (Date.now() - lastYield > YIELD_MS) {
            await new Promise((r) => setTimeout(r, 0));
            this.assertReady();
            lastYield = Date.now();
          }
        }
        const seconds = (performance.now() - started) / 1000;
        const stats: EpochStats = { epoch, loss: lossSum / n, accuracy: correct / n, seconds, imagesPerSecond: n / seconds };
        if (validationData) {
          const [vx, vy] = validationData;
          const v = this.measure(vx, vy);
          stats.valLoss = v.loss;
          stats.valAccuracy = v.accuracy;
        }
        history.push(stats);
        onEpoch?.(stats);
      }
    } finally {
      xs.free();
      ys.free();
      order.free();
      checkpoint.free();
    }
    return history;
  }

  /** Loss and accuracy on `(x, y)`, evaluated in batches of `batchSize` (default 1000). */
  measure(x: Tensor, y: Tensor, options: { batchSize?: number } = {}): { loss: number; accuracy: number } {
    this.assertReady();
    const { batchSize: asked = 1000 } = optionsObject('measure options', options);
    const n = this.checkPair(x, y);
    const batchSize = Math.min(checkInt('batchSize', asked), INFERENCE_CHUNK);
    this.reserveBatches(Math.min(n, batchSize), 'measure');
    const k = kernels();
    const inLen = product(this.inputShape);
    const outLen = product(this.shapeNow);
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      const xb = this.inputBuf.ensure(m * inLen);
      const yb = this.labelBuf.ensure(m * outLen);
      xb.set(x.data.subarray(start * inLen, (start + m) * inLen));
      yb.set(y.data.subarray(start * outLen, (start + m) * outLen));
      const out = this.forward(xb, m, false);
      lossSum += this.loss.compute(out.ptr, yb.ptr, m, outLen, 0) * m;
      correct += k.wn_count_correct(out.ptr, yb.ptr, m, outLen);
    }
    return { loss: lossSum / n, accuracy: correct / n };
  }

  /**
   * The network as one self-describing file (see `ts/persistence.ts`):
   * architecture, activations, loss, optimizer settings and weights, with a
   * checksum. `meta` is stored as given (e.g. accuracy, epochs).
   */
  save(meta?: Record<string, unknown>): Uint8Array {
    this.assertReady();
    const params = this.parameters();
    const header: ModelHeader = {
      format: 'wasmnet-model',
      version: MODEL_VERSION,
      inputShape: [...this.inputShape],
      seed: this.seed,
      loss: this.loss.name,
      layers: this.layers.map(layerSpec),
      tensors: params.map((p) => ({ name: p.name, length: p.value.length })),
      meta,
    };
    return encodeModel(header, params.map((p) => p.value.view()));
  }

  /** Rebuilds a network saved with `save()`; it predicts bit-identically. Throws a ValueError on a damaged or foreign file. */
  static load(bytes: Uint8Array): SequentialNet {
    const { header, tensors } = decodeModel(bytes);
    let net: SequentialNet | null = null;
    try {
      net = new SequentialNet(header.inputShape, { seed: header.seed, loss: lossByName(header.loss) });
      for (const spec of header.layers) addFromSpec(net, spec);
      const params = net.parameters();
      const names = params.map((p) => p.name).join();
      if (names !== header.tensors.map((t) => t.name).join()) {
        throw new ValueError(`the model file's tensors (${header.tensors.map((t) => t.name).join(', ')}) do not match its layers (${names})`);
      }
      params.forEach((p, i) => {
        if (tensors[i].length !== p.value.length) {
          throw new ValueError(`the model file's ${p.name} has ${tensors[i].length} values, the layer needs ${p.value.length}`);
        }
        p.value.set(tensors[i]);
      });
      return net;
    } catch (e) {
      net?.dispose();
      if (e instanceof ValueError) throw e;
      throw new ValueError(`the model file describes an invalid network: ${(e as Error).message}`);
    }
  }

  /** Frees all wasm memory of the network and its layers. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) l.dispose();
    for (const b of [this.inputBuf, this.labelBuf, this.gradBuf]) b.free();
    this.explicitLoss?.dispose();
    this.defaultCE?.dispose();
    this.defaultMSE?.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  // ------------------------------------------------------------ internals

  /** The forward pass; `training = false` lets layers skip what only backprop needs. */
  private forward(input: F32Array, n: number, training = true): F32Array {
    let buf = input;
    for (const layer of this.layers) buf = layer.forwardBuffer(buf, n, training);
    this.lastOut = buf;
    return buf;
  }
  private lastOut: F32Array | null = null;

  /**
   * Loss and backpropagation through every layer for the last forward pass
   * of `rows` samples, part of a batch of `n` (the loss is a mean over n).
   * `accumulate` adds to the parameter gradients (the batch's later chunks).
   * With a SoftMax output, cross-entropy and label rows that sum to 1, ∂C/∂z
   * is (ŷ − y)/n directly: exact where ŷ underflows, and one pass cheaper.
   */
  private backward(
    labels: F32Array,
    rows: number,
    n: number,
    wantInputGrad: boolean,
    labelsAreDistributions: boolean,
    accumulate: boolean,
  ): { loss: number; inputGrad: F32Array | null } {
    const k = kernels();
    const last = this.layers[this.layers.length - 1];
    const outLen = product(this.shapeNow);
    const loss = this.loss;
    const yhat = this.lastOut!;
    let delta: F32Array | null;
    let value: number;
    if (labelsAreDistributions && loss instanceof CrossEntropy && last instanceof ActivatedLayer && last.afun.id === ActivationId.SoftMax) {
      value = loss.compute(yhat.ptr, labels.ptr, rows, outLen, 0, n);
      k.wn_softmax_cross_entropy_delta(yhat.ptr, labels.ptr, rows, outLen, last.deltaZBuffer().ptr, n);
      delta = last.backwardFromDeltaZ(wantInputGrad || this.layers.length > 1, accumulate);
    } else {
      const grad = this.gradBuf.ensure(rows * outLen);
      value = loss.compute(yhat.ptr, labels.ptr, rows, outLen, grad.ptr, n);
      delta = last.backwardBuffer(grad, wantInputGrad || this.layers.length > 1, accumulate);
    }
    for (let i = this.layers.length - 2; i >= 0; i--) {
      delta = this.layers[i].backwardBuffer(delta!, wantInputGrad || i > 0, accumulate);
    }
    return { loss: value, inputGrad: delta };
  }

  /** Copies every parameter into `checkpoint` ('save') or back ('restore'): a memmove inside wasm memory. */
  private copyParameters(params: NamedParameter[], checkpoint: F32Array, direction: 'save' | 'restore'): void {
    const store = checkpoint.view();
    let offset = 0;
    for (const p of params) {
      const v = p.value.view();
      if (direction === 'save') store.set(v, offset);
      else v.set(store.subarray(offset, offset + v.length));
      offset += v.length;
    }
  }

  /** Bytes of the batch buffers of every layer and of the network for `n` samples. */
  private batchBytes(n: number): number {
    const io = 4 * n * (product(this.inputShape) + 2 * product(this.shapeNow));
    return this.layers.reduce((s, l) => s + l.batchBytes(n), io);
  }

  private reserveBatches(n: number, what: string): void {
    ensureFits(this.batchBytes(n), `${what} in batches of ${n}`);
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

  private checkPair(x: Tensor, y: Tensor, prefix = ''): number {
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

  private assertReady(): void {
    this.assertAlive();
    if (this.layers.length === 0) throw new ShapeError('the network has no layers: add some with addConv2D, addPool2D, addFlatten, addDense');
  }
}

function layerSpec(layer: Layer): LayerSpec {
  if (layer instanceof Conv2DLayer) return { kind: 'Conv2D', fshape: [...layer.fshape], afun: layer.afun.name, optim: layer.optim.config() };
  if (layer instanceof Pool2DLayer) {
    // The stride is saved only when it is not the area, so the course's model files are unchanged.
    const tiled = layer.stride[0] === layer.area[0] && layer.stride[1] === layer.area[1];
    return { kind: 'Pool2D', area: [...layer.area], strict: layer.strict, ...(tiled ? {} : { stride: [...layer.stride] }) };
  }
  if (layer instanceof FlattenLayer) return { kind: 'Flatten' };
  if (layer instanceof DenseLayer) return { kind: 'Dense', outputSize: layer.outputSize, afun: layer.afun.name, optim: layer.optim.config() };
  throw new ValueError(`cannot save a layer of kind ${show((layer as Layer).kind)}`);
}

function addFromSpec(net: SequentialNet, spec: LayerSpec): void {
  switch (spec?.kind) {
    case 'Conv2D':
      net.addConv2D(spec.fshape, { afun: activationByName(spec.afun), optim: optimizerFromConfig(spec.optim) });
      return;
    case 'Pool2D':
      net.addPool2D(spec.area, { strict: spec.strict, stride: spec.stride });
      return;
    case 'Flatten':
      net.addFlatten();
      return;
    case 'Dense':
      net.addDense(spec.outputSize, { afun: activationByName(spec.afun), optim: optimizerFromConfig(spec.optim) });
      return;
    default:
      throw new ValueError(`unknown layer kind ${show((spec as { kind?: unknown })?.kind)}`);
  }
}

/** Whether every row of a 2-D label tensor sums to 1 (one-hot or probabilities), within float rounding. */
function rowsAreDistributions(y: Tensor): boolean {
  const cols = y.shape[y.shape.length - 1];
  const d = y.data;
  for (let r = 0; r < d.length; r += cols) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = d[r + j];
      if (v < 0) return false;
      s += v;
    }
    if (Math.abs(s - 1) > 1e-6) return false;
  }
  return true;
}
