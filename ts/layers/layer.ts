/**
 * What every layer shares: the Tensor-level `evaluate`/`backprop`/`update`
 * of the course, on top of buffer-level passes that a network chains without
 * leaving wasm memory.
 *
 * A layer kind is a plug-in: its one file holds everything the kind knows
 * (name, output shape, parameters, forward/backward, its model-file spec) and
 * `registry.ts` lists the kinds. Besides the members below, each kind's class
 * has two static members the registry uses:
 *   - `forNetwork(ctx, ...args)`: the layer for a network whose output so far
 *     is `ctx.shape` (what `net.add<Kind>(...args)` calls);
 *   - `fromSpec(spec, ctx)`: the layer back from its `toSpec()` (model files).
 */
import { DisposedError, ShapeError, show } from '../core/errors.js';
import { type F32Array, checkSampleFits, growableF32 } from '../core/memory.js';
import type { Rng } from '../core/rng.js';
import { Tensor, product } from '../core/tensor.js';
import type { Optimizer, Parameter } from '../optimizers.js';

/** A parameter tensor with the name it has on its layer (`f`, `b`, `w`). */
export interface NamedParameter extends Parameter {
  /** The name on the layer: `f`, `b`, `w`, `gamma`, `beta`. */
  name: string;
  /**
   * Whether the layer's backward pass, told to add a shard's gradient to `grad` (`addToGrad`), makes bit for bit
   * `grad` + that shard's gradient computed on its own, for shards of up to `rows` samples: the gradient tree then
   * lets a shard add into its sibling's sum instead of adding the two afterwards (a dense layer's w, see
   * `GradientTree.prepareShard`). Absent: never.
   */
  addsExactly?(rows: number): boolean;
  /** Set by the gradient tree around one shard's backward pass: add its gradient to `grad` instead of overwriting it. */
  addToGrad?: boolean;
}

/** State a layer keeps that is not trained by gradients but belongs to the model (batch norm's running statistics). */
export interface NamedBuffer {
  /** The name on the layer: `runningMean`, `runningVar`. */
  name: string;
  /** The values, in wasm memory. */
  value: F32Array;
  /** The smallest value the buffer may hold (batch norm's running variance: 0), checked when a file is loaded. */
  min?: number;
}

/** What a layer's spec in a model file has at least: its kind. */
export interface LayerSpecBase {
  /** The layer kind's registry name. */
  kind: string;
}

/** What a network tells a layer kind when it builds one for it. */
export interface BuildContext {
  /** The network's per-sample output shape so far: the new layer's input. */
  shape: readonly number[];
  /** The network's generator for initial weights. */
  rng: Rng;
  /** The network's seed and the new layer's index, for layers that draw random numbers while training (dropout). */
  seed: number;
  /** The new layer's position in the network. */
  index: number;
}

/**
 * One configuration of a layer kind for the gradient-check suite
 * (`wasmnet gradcheck`): each kind lists the option combinations that change
 * its mathematics, so a new kind is checked by being registered.
 */
export interface GradcheckCase {
  /** What is checked, e.g. "padding 1, stride 2, Tanh". */
  label: string;
  /** Per-sample input shape. */
  input: number[];
  /** Samples in the checked batch (default 3). */
  batch?: number;
  /** The layer in training mode (dropout drops, batch norm uses the batch's statistics). */
  training?: boolean;
  /** False when a kink (ReLU, a max) lies in the function: a looser tolerance, and kinks are skipped. */
  smooth: boolean;
  /** A tolerance of its own, when float32 rounding makes the difference quotient noisier than usual (say why in the label's kind). */
  tolerance?: number;
  /** Builds the layer to check. */
  build(): Layer;
}

/**
 * What every layer kind shares: the course's `evaluate` / `backprop` / `update` on Tensors,
 * `training`, `dispose`, and the buffer-level passes a network chains inside wasm memory.
 */
export abstract class Layer {
  /** The kind's name in the registry and in model files ('Conv2D', 'Pool2D', …). */
  abstract readonly kind: string;

  /**
   * Training mode: dropout drops and batch norm uses the batch's statistics
   * (and updates its running ones). `SequentialNet.train` sets it for its
   * duration and restores it; inference (`evaluate`, `measure`) runs with it
   * false. A layer used on its own follows it (default false).
   */
  training = false;

  /** Shape of one input sample (without the batch axis), once known. */
  protected inShape: number[] | null = null;
  /** Shape of one output sample, once known. */
  protected outShape: number[] | null = null;
  /** Samples in the last forward pass. */
  protected batch = 0;
  /** Whether the last forward pass kept what backprop needs (`record`). */
  protected recorded = false;
  /** The input of the last forward pass (owned by the previous layer, or `hostInput`). */
  protected input: F32Array | null = null;
  private readonly hostInput = growableF32();
  private readonly hostDelta = growableF32();
  private disposed = false;
  /** Whether a network took the layer (`attach`): its input shape is fixed from then on. */
  private attached = false;

  /** Whether a network has taken this layer: a layer belongs to one network, which disposes it. */
  get inNetwork(): boolean {
    return this.attached;
  }

  /**
   * @internal A network takes the layer for per-sample inputs of
   * `inputShape`: builds it (a ShapeError if it cannot take them), checks
   * that one output sample fits WebAssembly memory and returns its shape.
   * From then on the input shape is fixed: the network's buffers are sized
   * for it, so `evaluate` on samples of another shape is refused instead of
   * rebuilding the layer under the network.
   */
  attach(inputShape: readonly number[]): number[] {
    this.assertAlive();
    if (this.attached) throw new ShapeError(`this ${this.kind} layer already belongs to a network; create a new layer instead`);
    const out = this.build(inputShape);
    checkSampleFits(out, `the ${this.kind} layer's output`);
    this.attached = true;
    return out;
  }

  /** Per-sample input shape, or null before the layer has seen its input. */
  get inputShape(): readonly number[] | null {
    return this.inShape;
  }

  /** Per-sample output shape, or null before the layer has seen its input. */
  get outputShape(): readonly number[] | null {
    return this.outShape;
  }

  /**
   * Fixes the per-sample input shape and returns the output shape; throws a
   * ShapeError if the layer cannot take that input. Networks call it (through
   * `attach`) when a layer is added; shape-agnostic layers used on their own
   * call it on each new input shape. Not for a layer in a network.
   */
  abstract build(inputShape: readonly number[]): number[];

  /**
   * Forward pass over `n` samples in `input`; returns the buffer holding the
   * output. With `record = false` a layer may skip what only backprop needs,
   * such as pooling's winners (inference); backprop must then not follow.
   * What the pass computes follows `training`, never `record`. `offset` is
   * the index of the first of these samples within the mini-batch (a batch
   * taken in chunks): layers that draw random numbers per sample (dropout)
   * draw by it, so no chunking changes a result.
   */
  abstract forwardBuffer(input: F32Array, n: number, record?: boolean, offset?: number): F32Array;

  /**
   * Backward pass for the last forward pass: `delta` = ∂C/∂output. Sets the
   * parameter gradients — overwriting them, or adding to them with
   * `accumulate` (a batch taken in chunks) — and returns ∂C/∂input, or null
   * when `wantInputGrad` is false (the first layer of a network).
   */
  abstract backwardBuffer(delta: F32Array, wantInputGrad: boolean, accumulate?: boolean): F32Array | null;

  /** What every forward pass does first: refuses a disposed layer and remembers the pass's input, size and `record`. */
  protected beginForward(input: F32Array, n: number, record: boolean): void {
    this.assertAlive();
    this.batch = n;
    this.input = input;
    this.recorded = record;
  }

  /** Bytes of WebAssembly memory the layer's batch buffers take for `n` samples (for refusing too large a batch up front). */
  abstract batchBytes(n: number): number;

  /** The trainable tensors with their gradients (none for pooling and flatten). */
  parameters(): NamedParameter[] {
    return [];
  }

  /** The optimizers that update this layer's parameters (one, or none). */
  optimizers(): Optimizer[] {
    return [];
  }

  /** Non-trainable tensors that belong to the model and are saved with it (batch norm's running statistics). */
  buffers(): NamedBuffer[] {
    return [];
  }

  /** The layer's settings for a model file; its class's `fromSpec` rebuilds it from them. */
  abstract toSpec(): LayerSpecBase;

  /** Training progress beyond parameters and buffers (dropout's step), saved with a model's training state. */
  trainingState(): Record<string, number> | null {
    return null;
  }

  /** Restores what `trainingState()` returned. */
  setTrainingState(_state: Record<string, number>): void {}

  /**
   * Throws, before training starts, if the layer cannot train on batches of
   * `n` samples (batch norm on one value per channel). The loop asks for the
   * batch size and for the last, smaller batch of an epoch.
   */
  checkTrainingBatch(_n: number): void {}

  /**
   * Whether the layer's forward pass looks across the samples of a batch
   * (batch norm): then a network runs each batch's shards in step, one copy
   * of itself per shard, and they meet at such a layer to combine their sums
   * (`train/together.ts`), so that the statistics are the whole mini-batch's.
   */
  get batchWide(): boolean {
    return false;
  }

  /**
   * @internal A training step's shards begin: the parameters stay as they are until `endStep`, so a layer may
   * prepare them once for every shard (a dense layer packs its weights for the GEMM). Nothing runs in between
   * but this step's forward and backward passes, or with `backward` false an inference pass's chunks.
   */
  beginStep(backward = true): void {}

  /** @internal The step's shards are done: whatever `beginStep` prepared is stale from now on. */
  endStep(): void {}

  /**
   * @internal Names of the parameters whose values at the step's `beginStep` this layer still holds a copy of (a
   * dense layer's packed w), so that the training loop's checkpoint need not copy them before the update: it calls
   * `restoreParametersOfStep` to undo an update, and `releaseParametersOfStep` when the update stands or is undone.
   */
  parametersKeptForStep(): readonly string[] {
    return [];
  }

  /** @internal Puts back the values of `parametersKeptForStep()` as they were at `beginStep`. */
  restoreParametersOfStep(): void {}

  /** @internal The step's update is checked: `parametersKeptForStep` is empty until the next `beginStep`. */
  releaseParametersOfStep(): void {}

  /**
   * Applies the optimizer to the parameters, using the gradients of the last `backprop`. Returns true when the
   * optimizer found every new value finite (the training loop then skips its own check of this layer's parameters).
   */
  update(): boolean | void {}

  /** The forward pass: `a` is `[n, ...inputShape]`; returns `[n, ...outputShape]`. */
  evaluate(a: Tensor): Tensor {
    this.assertAlive();
    if (!(a instanceof Tensor)) throw new ShapeError(`${this.kind}.evaluate: a must be a Tensor, got ${show(a)}`);
    const sample = a.shape.slice(1);
    // A layer in a network keeps the shape the network built it for (its neighbours' buffers depend on it).
    if (!this.inShape || (this.shapeAgnostic && !this.attached && sample.join() !== this.inShape.join())) this.build(sample);
    if (a.shape.length !== this.inShape!.length + 1 || sample.join() !== this.inShape!.join()) {
      const owner = this.attached ? ' (the layer belongs to a network built for those samples)' : '';
      throw new ShapeError(`${this.kind}.evaluate: a must have shape [n, ${this.inShape!.join(', ')}]${owner}, got ${show(a.shape)}`);
    }
    const n = a.shape[0];
    const buf = this.hostInput.ensure(Math.max(1, a.size));
    buf.set(a.data);
    const out = this.forwardBuffer(buf, n);
    const size = n * product(this.outShape!);
    return new Tensor(out.view().slice(0, size), [n, ...this.outShape!]);
  }

  /** The backward pass: `delta` = ∂C/∂output of the last `evaluate`; returns ∂C/∂input. */
  backprop(delta: Tensor): Tensor {
    this.assertAlive();
    if (!this.input || !this.outShape || !this.recorded) throw new ShapeError(`${this.kind}.backprop needs a preceding evaluate()`);
    const expected = [this.batch, ...this.outShape];
    if (!(delta instanceof Tensor) || delta.shape.join() !== expected.join()) {
      throw new ShapeError(`${this.kind}.backprop: delta must have shape ${show(expected)} (the last output's), got ${show(delta?.shape)}`);
    }
    const buf = this.hostDelta.ensure(Math.max(1, delta.size));
    buf.set(delta.data);
    const out = this.backwardBuffer(buf, true)!;
    const size = this.batch * product(this.inShape!);
    return new Tensor(out.view().slice(0, size), [this.batch, ...this.inShape!]);
  }

  /** Whether `evaluate` re-derives the input shape from each input (pooling, flatten). */
  protected get shapeAgnostic(): boolean {
    return false;
  }

  /** Frees the layer's wasm memory and its optimizer state. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.hostInput.free();
    this.hostDelta.free();
    this.input = null;
    this.freeBuffers();
  }

  /** Whether `dispose()` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  protected abstract freeBuffers(): void;

  protected assertAlive(): void {
    if (this.disposed) throw new DisposedError(`this ${this.kind} layer was disposed`);
  }
}
