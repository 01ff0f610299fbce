/**
 * The part Conv2D and Dense share: parameters updated by an optimizer, and an
 * activation applied to z = (linear map of the input) + bias.
 */
import { type Activation, ActivationId, ReLU } from '../activations.js';
import { ShapeError, ValueError, checkFiniteValues, checkInt, optionsObject, show } from '../core/errors.js';
import { type F32Array, allocF32, ensureFits, growableF32 } from '../core/memory.js';
import { Rng } from '../core/rng.js';
import { product } from '../core/tensor.js';
import { kernels } from '../core/wasm.js';
import { type Initializer, RandnAverage } from '../initializers.js';
import { type Optimizer, SGD } from '../optimizers.js';
import { Layer, type NamedParameter } from './layer.js';
import { plural } from '../core/words.js';

/** The options every activated layer takes; a kind lists its own besides these. */
export const ACTIVATED_LAYER_OPTIONS = ['afun', 'optim', 'initializer', 'seed', 'rng'] as const;

/** The options every layer with parameters and an activation takes (Conv2D, Dense; BatchNorm takes `afun` and `optim`). */
export interface ActivatedLayerOptions {
  /** Activation φ, default ReLU. */
  afun?: Activation;
  /** Optimizer, default `new SGD()`. */
  optim?: Optimizer;
  /** Initializer for the weights, default `new RandnAverage()`. */
  initializer?: Initializer;
  /** Seed for the initial weights of a layer built on its own. */
  seed?: number;
  /** Generator to draw the initial weights from (a network passes its own, seeded by the network's seed). */
  rng?: Rng;
}

export abstract class ActivatedLayer extends Layer {
  /** The activation applied to z. */
  readonly afun: Activation;
  /** The optimizer that `update()` uses on this layer's parameters. */
  readonly optim: Optimizer;
  /** The initializer that drew the initial weights. */
  readonly initializer: Initializer;

  /** z of the last forward pass, `[n, ...outputShape]`. */
  protected readonly zBuf = growableF32();
  /** a = φ(z). */
  protected readonly aBuf = growableF32();
  /** ∂C/∂z of the last backward pass. */
  protected readonly dzBuf = growableF32();
  /** ∂C/∂input of the last backward pass. */
  protected readonly daBuf = growableF32();
  private readonly params: NamedParameter[] = [];
  /** Whether the parameter values are another layer's (`borrowParametersOf`): they are not this layer's to free. */
  private borrowed = false;

  protected constructor(options: ActivatedLayerOptions, kind: string, ownOptions: readonly string[] = [], shared: readonly string[] = ACTIVATED_LAYER_OPTIONS) {
    super();
    const known = [...shared, ...ownOptions];
    const { afun = new ReLU(), optim = new SGD(), initializer = new RandnAverage() } = optionsObject(`${kind} options`, options, known);
    if (!afun || typeof (afun as Activation).id !== 'number') throw new ValueError(`${kind} afun must be an Activation (ReLU, SoftMax, …), got ${show(afun)}`);
    if (!optim || typeof (optim as Optimizer).update !== 'function') throw new ValueError(`${kind} optim must be an Optimizer (SGD, Adam, AdamW), got ${show(optim)}`);
    if (!initializer || typeof (initializer as Initializer).wfun !== 'function') throw new ValueError(`${kind} initializer must be an Initializer, got ${show(initializer)}`);
    this.afun = afun;
    this.optim = optim;
    this.initializer = initializer;
    if (options?.seed !== undefined) checkInt(`${kind} seed`, options.seed, 0, 2 ** 32 - 1);
    if (options?.rng !== undefined && !(options.rng instanceof Rng)) throw new ValueError(`${kind} rng must be an Rng, got ${show(options.rng)}`);
  }

  /** The generator for the initial weights: `rng`, else one seeded with `seed`, else the initializer's own. */
  protected static weightRng(options: ActivatedLayerOptions): Rng | undefined {
    return options?.rng ?? (options?.seed !== undefined ? new Rng(options.seed) : undefined);
  }

  /** Refuses, before allocating, parameters of `floats` values (plus gradients, optimizer state and `scratchFloats`) that would not fit. */
  protected reserveParameters(floats: number, scratchFloats: number, what: string): void {
    ensureFits(4 * (floats * (2 + this.optim.stateArrays) + scratchFloats), what);
  }

  batchBytes(n: number): number {
    return 4 * n * ((this.activationHoldsZ ? 2 : 3) * product(this.outShape!) + product(this.inShape!));
  }

  /** Allocates a parameter and its gradient, fills it and registers it with the optimizer. */
  protected addParameter(name: string, values: Float32Array): NamedParameter {
    const value = allocF32(values.length);
    const grad = allocF32(values.length);
    value.set(values);
    const p = { name, value, grad };
    this.params.push(p);
    this.optim.register(p);
    return p;
  }

  /** Copies `values` into parameter `p`, checking the length. */
  protected assign(p: NamedParameter, values: ArrayLike<number>): void {
    this.assertAlive();
    if (!values || typeof values !== 'object' || values.length !== p.value.length) {
      const given = values && typeof values === 'object' && typeof values.length === 'number' ? values.length : show(values);
      throw new ShapeError(`${this.kind}.${p.name} must get ${plural(p.value.length, 'value')}, got ${given}`);
    }
    checkFiniteValues(`${this.kind}.${p.name}`, values);
    p.value.set(values);
  }

  /**
   * @internal Makes this layer compute with `master`'s parameter values, for a shard's copy of a network in
   * training (`train/together.ts`): its own values and optimizer state are freed; its gradients stay its own.
   * It must never `update()`.
   */
  borrowParametersOf(master: ActivatedLayer): void {
    this.assertAlive();
    if (master.kind !== this.kind || master.params.length !== this.params.length || master.params.some((p, i) => p.value.length !== this.params[i].value.length)) {
      throw new ShapeError(`a ${this.kind} layer cannot borrow the parameters of a different ${master.kind} layer (a wasmnet bug)`);
    }
    this.params.forEach((p, i) => {
      if (!this.borrowed) {
        this.optim.release(p);
        p.value.free();
      }
      p.value = master.params[i].value;
    });
    this.borrowed = true;
  }

  override parameters(): NamedParameter[] {
    return [...this.params];
  }

  override optimizers(): Optimizer[] {
    return [this.optim];
  }

  override update(): boolean | void {
    this.assertAlive();
    if (this.borrowed) throw new ValueError(`this ${this.kind} layer computes with another layer's parameters and cannot update them (a wasmnet bug)`);
    return this.optim.update(this.params);
  }

  /** Applies φ to the first `len` values of z into a. */
  protected activate(len: number, cols: number): F32Array {
    const a = this.aBuf.ensure(len);
    kernels().wn_activation_forward(this.afun.id, this.zBuf.current.ptr, a.ptr, len, cols);
    return a;
  }

  /**
   * The buffer a network may write ∂C/∂z into directly (SoftMax +
   * cross-entropy), before calling `backwardFromDeltaZ`.
   */
  deltaZBuffer(): F32Array {
    return this.dzBuf.ensure(this.outputLength());
  }

  /**
   * Whether the forward pass left the activation in the z buffer instead of
   * keeping z (a fused ReLU): then both roles are played by that buffer.
   */
  protected get activationHoldsZ(): boolean {
    return false;
  }

  /**
   * @internal Whether this layer's output is max(z, 0) held in its z buffer (a ReLU fused into the kernel), so
   * that a convolution can run the backward pass of the max pooling after it in its own kernel
   * (`Conv2DLayer.backwardThroughPool`).
   */
  get outputIsFusedReLU(): boolean {
    return this.activationHoldsZ && this.afun.id === ActivationId.ReLU;
  }

  /**
   * @internal Whether this layer's output is max(z, 0), fused or not: a max pooling after it can then hand back
   * ∂C/∂z directly (`Pool2DLayer.backwardThroughReLU`), since a window's winners hold its maximum.
   */
  get outputIsReLU(): boolean {
    return this.afun.id === ActivationId.ReLU;
  }

  override backwardBuffer(delta: F32Array, wantInputGrad: boolean, accumulate = false): F32Array | null {
    this.deltaZFrom(delta);
    return this.backwardFromDeltaZ(wantInputGrad, accumulate);
  }

  /** @internal ∂C/∂z into `deltaZBuffer()` from ∂C/∂a = `delta`: the activation's backward pass, the first half of `backwardBuffer`. */
  deltaZFrom(delta: F32Array): void {
    this.assertAlive();
    const len = this.outputLength();
    const dz = this.dzBuf.ensure(len);
    const z = this.zBuf.current;
    const a = this.activationHoldsZ ? z : this.aBuf.current;
    kernels().wn_activation_backward(this.afun.id, z.ptr, a.ptr, delta.ptr, dz.ptr, len, this.outShape![this.outShape!.length - 1]);
  }

  /** The backward pass from ∂C/∂z in `deltaZBuffer()`; `accumulate` adds to the parameter gradients. */
  abstract backwardFromDeltaZ(wantInputGrad: boolean, accumulate?: boolean): F32Array | null;

  /** Floats of the output for the current batch. */
  protected outputLength(): number {
    return this.batch * product(this.outShape!);
  }

  protected override freeBuffers(): void {
    for (const p of this.params) {
      if (!this.borrowed) {
        this.optim.release(p);
        p.value.free();
      }
      p.grad.free();
    }
    for (const b of [this.zBuf, this.aBuf, this.dzBuf, this.daBuf]) b.free();
  }
}
