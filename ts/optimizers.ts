/**
 * Optimizers, as PyTorch's `torch.optim` defines them (one parameter group).
 * One instance may serve several layers: its state (momentum, Adam's moments
 * and step count) is kept per parameter tensor, in wasm memory, created when
 * a layer registers the tensor. Kernels: `crate/src/optim.rs`.
 */
import { ShapeError, ValueError, checkFiniteValues, checkInt, checkPositive, checkRange, knownOptions, optionsObject, show } from './core/errors.js';
import { WasmArray, allocF32, type F32Array } from './core/memory.js';
import { kernels } from './core/wasm.js';
import { plural } from './core/words.js';

/** A parameter tensor and its gradient, both in wasm memory and equally long. */
export interface Parameter {
  /** The values, in wasm memory. */
  value: F32Array;
  /** The gradient of the last backward pass, in wasm memory. */
  grad: F32Array;
}

/**
 * An optimizer's state for one parameter tensor, for resumable training:
 * `step` counts the updates it has taken, `arrays` are named by the
 * optimizer's `stateNames` and are each as long as the tensor.
 */
export interface OptimizerState {
  /** Updates taken on this tensor. */
  step: number;
  /** The state arrays, in the order of the optimizer's `stateNames`. */
  arrays: Float32Array[];
}

/**
 * Settings, as model files store them. Fields marked optional were added
 * later: files written without them load with their defaults (0 / false).
 */
export type OptimizerConfig =
  | {
      /** Which optimizer. */
      type: 'SGD';
      /** The base learning rate. */
      lr: number;
      /** `SGD.momentum`. */
      momentum: number;
      /** `SGD.nesterov`. */
      nesterov?: boolean;
      /** `SGD.weightDecay`. */
      weightDecay?: number;
    }
  | {
      /** Which optimizer. */
      type: 'Adam';
      /** The base learning rate. */
      lr: number;
      /** `Adam.beta1`. */
      beta1: number;
      /** `Adam.beta2`. */
      beta2: number;
      /** `Adam.eps`. */
      eps: number;
      /** `Adam.weightDecay`. */
      weightDecay?: number;
    }
  | {
      /** Which optimizer. */
      type: 'AdamW';
      /** The base learning rate. */
      lr: number;
      /** `AdamW.beta1`. */
      beta1: number;
      /** `AdamW.beta2`. */
      beta2: number;
      /** `AdamW.eps`. */
      eps: number;
      /** `AdamW.weightDecay`. */
      weightDecay: number;
    };

/** Options of `SGD`. */
export interface SGDOptions {
  /** Momentum μ in [0, 1), default 0. */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0), default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, `g + weightDecay·p`, default 0. */
  weightDecay?: number;
}

/** Options of `Adam` and `AdamW`. */
export interface AdamOptions {
  /** Decay of the first moment, in [0, 1), default 0.9. */
  beta1?: number;
  /** Decay of the second moment, in [0, 1), default 0.999. */
  beta2?: number;
  /** Added to the denominator, > 0, default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay `p·(1 − lr·wd)` (default 0.01). */
  weightDecay?: number;
}

const SGD_OPTIONS: readonly (keyof SGDOptions)[] = ['momentum', 'nesterov', 'weightDecay'];
const ADAM_OPTIONS: readonly (keyof AdamOptions)[] = ['beta1', 'beta2', 'eps', 'weightDecay'];

/**
 * What `SGD`, `Adam` and `AdamW` share: one step per `update`, state per parameter tensor.
 * See [docs/optimizers.md](../docs/optimizers.md).
 */
export abstract class Optimizer {
  /** Learning rate (> 0 when constructed); may be changed between updates, to 0 too (a schedule's end). */
  abstract lr: number;

  /**
   * The rate a learning-rate schedule set for the current epoch, or null:
   * updates use it instead of `lr`, which stays the base rate that model
   * files store (so a file saved mid-run, e.g. in `onEpoch`, resumes exactly).
   */
  scheduledLr: number | null = null;

  /** The rate the next update uses: `scheduledLr` while a schedule runs, else `lr`. */
  get effectiveLr(): number {
    return this.scheduledLr ?? this.lr;
  }

  /**
   * The rate the next update uses, checked (a number ≥ 0): the training loop
   * asks every optimizer before it updates any layer, so that a bad rate
   * (say, set to NaN from `onBatch`) stops the batch whole, not half-applied.
   */
  checkedLr(): number {
    return checkPositive(`${this.config().type} lr`, this.effectiveLr, true);
  }

  /** Prepares state for `p` (layers call this when built). */
  abstract register(p: Parameter): void;
  /**
   * Takes one step on every parameter: p ← p − (step computed from its gradient). May return true when it found
   * every new value finite as it wrote it: the training loop then skips its own check of these parameters.
   */
  abstract update(params: readonly Parameter[]): boolean | void;
  /** Frees the state kept for `p` (layers call this from `dispose`). */
  abstract release(p: Parameter): void;
  /** Settings, for model files. */
  abstract config(): OptimizerConfig;
  /** Names of the arrays of state kept per parameter tensor (each as long as the tensor), in `stateOf`'s order. */
  abstract readonly stateNames: readonly string[];
  /** A copy of the state kept for parameter tensor `p` (which must be registered). */
  abstract stateOf(p: Parameter): OptimizerState;
  /** Replaces the state kept for parameter tensor `p` by a copy of `state` (registering `p` if needed). */
  abstract setState(p: Parameter, state: { step: number; arrays: readonly ArrayLike<number>[] }): void;
  /** A fresh optimizer with the same settings and no state. */
  abstract clone(): Optimizer;

  /** Arrays of state kept per parameter tensor. */
  get stateArrays(): number {
    return this.stateNames.length;
  }
}

/** Per-tensor state: a step count and the named arrays, in wasm memory. */
interface TensorState {
  step: number;
  arrays: F32Array[];
}

/**
 * State bookkeeping shared by the optimizers: one `TensorState` per
 * registered parameter tensor. Keyed weakly by the tensor, so an optimizer
 * shared by several networks never keeps a forgotten network's parameters
 * (or their state) reachable: once the network is unreachable, the
 * `FinalizationRegistry` frees both.
 */
abstract class StatefulOptimizer extends Optimizer {
  private readonly states = new WeakMap<F32Array, TensorState>();

  protected constructor(private readonly kind: string) {
    super();
  }

  register(p: Parameter): void {
    if (!this.states.has(p.value)) {
      this.states.set(p.value, { step: 0, arrays: this.stateNames.map(() => allocF32(p.value.length)) });
    }
  }

  /** The state of `p`, registering it first (a parameter updated without being registered still gets its state). */
  protected stateFor(p: Parameter): TensorState {
    this.register(p);
    return this.states.get(p.value)!;
  }

  release(p: Parameter): void {
    const s = this.states.get(p.value);
    if (s) {
      for (const a of s.arrays) a.free();
      this.states.delete(p.value);
    }
  }

  stateOf(p: Parameter): OptimizerState {
    // A WeakMap answers undefined for any key that is not a registered tensor, primitives included.
    const s = this.states.get((p as Partial<Parameter> | null | undefined)?.value as F32Array);
    if (!s) throw new ValueError(`${this.kind}.stateOf: the parameter is not registered with this optimizer`);
    return { step: s.step, arrays: s.arrays.map((a) => a.toArray()) };
  }

  setState(p: Parameter, state: { step: number; arrays: readonly ArrayLike<number>[] }): void {
    const what = `${this.kind} state`;
    // The kernels take p.value's wasm address: a look-alike (a plain Float32Array) would write elsewhere.
    if (!((p as Partial<Parameter> | null | undefined)?.value instanceof WasmArray)) {
      throw new ValueError(`${this.kind}.setState: p must be a Parameter, got ${show(p)}`);
    }
    if (!state || typeof state !== 'object') throw new ValueError(`${what} must be { step, arrays }, got ${show(state)}`);
    knownOptions(what, state, ['step', 'arrays']);
    checkInt(`${what} step`, state.step, 0);
    const names = this.stateNames;
    if (!Array.isArray(state.arrays) || state.arrays.length !== names.length) {
      const given = Array.isArray(state.arrays) ? `${state.arrays.length}` : show(state.arrays);
      throw new ShapeError(`${what} arrays must be ${names.length} arrays [${names.join(', ')}], got ${given}`);
    }
    names.forEach((name, i) => {
      const a = state.arrays[i];
      if (!a || typeof a !== 'object' || a.length !== p.value.length) {
        const given = a && typeof a === 'object' && typeof a.length === 'number' ? `${a.length}` : show(a);
        throw new ShapeError(`${what} ${name} must hold ${plural(p.value.length, 'value')} (the parameter's length), got ${given}`);
      }
      checkFiniteValues(`${what} ${name}`, a);
      this.checkStateArray(name, a);
    });
    const s = this.stateFor(p);
    s.step = state.step;
    names.forEach((_, i) => s.arrays[i].set(state.arrays[i]));
  }

  /** Further checks of a state array before `setState` copies it in. */
  protected checkStateArray(_name: string, _values: ArrayLike<number>): void {}
}

/**
 * Stochastic gradient descent, as PyTorch's `SGD` (dampening 0):
 * g ← ∇ + weightDecay·p; with momentum μ: v ← μv + g, then g ← g + μv (Nesterov) or g ← v;
 * p ← p − lr·g. State per parameter tensor: `velocity` (with momentum).
 */
export class SGD extends StatefulOptimizer {
  lr: number;
  /** Momentum μ (0: none). */
  readonly momentum: number;
  /** Nesterov's variant of momentum. */
  readonly nesterov: boolean;
  /** L2 penalty λ added to the gradient as λ·p. */
  readonly weightDecay: number;
  readonly stateNames: readonly string[];

  constructor(lr = 0.01, options: SGDOptions = {}) {
    super('SGD');
    const { momentum = 0, nesterov = false, weightDecay = 0 } = optionsObject('SGD options', options, SGD_OPTIONS);
    this.lr = checkPositive('SGD lr', lr);
    this.momentum = checkRange('SGD momentum', momentum, 0, 1);
    if (typeof nesterov !== 'boolean') throw new ValueError(`SGD nesterov must be true or false, got ${show(nesterov)}`);
    if (nesterov && this.momentum === 0) throw new ValueError('SGD nesterov needs momentum > 0, got momentum 0');
    this.nesterov = nesterov;
    this.weightDecay = checkPositive('SGD weightDecay', weightDecay, true);
    this.stateNames = this.momentum > 0 ? ['velocity'] : [];
  }

  update(params: readonly Parameter[]): void {
    const k = kernels();
    const lr = this.checkedLr();
    for (const p of params) {
      const s = this.stateFor(p);
      s.step += 1;
      // With momentum, register() always made the velocity; the kernel traps rather than drop momentum.
      const v = this.momentum > 0 ? s.arrays[0].ptr : 0;
      k.wn_sgd(p.value.ptr, p.grad.ptr, v, p.value.length, lr, this.momentum, this.weightDecay, this.nesterov ? 1 : 0);
    }
  }

  config(): OptimizerConfig {
    return { type: 'SGD', lr: this.lr, momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  clone(): SGD {
    return withRate('SGD lr', this.lr, (lr) => new SGD(lr, { momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay }));
  }
}

/** What Adam and AdamW share: the moments, the bias correction and the kernel. */
abstract class AdamFamily extends StatefulOptimizer {
  lr: number;
  /** Decay β1 of the first moment. */
  readonly beta1: number;
  /** Decay β2 of the second moment. */
  readonly beta2: number;
  /** ε added to the denominator √v̂. */
  readonly eps: number;
  /** Adam: L2 penalty λ added to the gradient; AdamW: decoupled decay p ← p·(1 − lr·λ). */
  readonly weightDecay: number;
  readonly stateNames: readonly string[] = ['m', 'v'];

  protected constructor(private readonly name: 'Adam' | 'AdamW', lr: number, options: AdamOptions, defaultWeightDecay: number) {
    super(name);
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = defaultWeightDecay } = optionsObject(`${name} options`, options, ADAM_OPTIONS);
    this.lr = checkPositive(`${name} lr`, lr);
    this.beta1 = checkRange(`${name} beta1`, beta1, 0, 1);
    this.beta2 = checkRange(`${name} beta2`, beta2, 0, 1);
    this.eps = checkPositive(`${name} eps`, eps);
    this.weightDecay = checkPositive(`${name} weightDecay`, weightDecay, true);
  }

  /** AdamW's decay is decoupled from the gradient; Adam's is an L2 penalty added to it. */
  protected abstract readonly decoupled: boolean;

  update(params: readonly Parameter[]): boolean {
    const k = kernels();
    const lr = this.checkedLr();
    const l2 = this.decoupled ? 0 : this.weightDecay;
    let finite = true;
    // PyTorch's AdamW: p ← p·(1 − lr·wd), the factor computed in float64 (1 exactly when wd = 0).
    const decay = this.decoupled ? 1 - lr * this.weightDecay : 1;
    for (const p of params) {
      const s = this.stateFor(p);
      s.step += 1;
      const bc1 = 1 - Math.pow(this.beta1, s.step);
      const bc2 = 1 - Math.pow(this.beta2, s.step);
      const [m, v] = s.arrays;
      finite = k.wn_adam(p.value.ptr, p.grad.ptr, m.ptr, v.ptr, p.value.length, lr, this.beta1, this.beta2, this.eps, bc1, bc2, l2, decay) === 1 && finite;
    }
    return finite;
  }

  protected override checkStateArray(name: string, values: ArrayLike<number>): void {
    if (name !== 'v') return;
    let i = 0;
    while (i < values.length && !(values[i] < 0)) i++;
    if (i < values.length) throw new ValueError(`${this.name} state v (a mean of squares) must be ≥ 0, but index ${i} is ${values[i]}`);
  }

  protected options(): Required<AdamOptions> {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }
}

/**
 * Adam (Kingma & Ba), bias-corrected as PyTorch's `Adam`:
 * g ← ∇ + weightDecay·p, m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − lr·m̂/(√v̂ + ε)
 * with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), t counted per parameter tensor.
 * State per parameter tensor: `m`, `v` and the step t.
 */
export class Adam extends AdamFamily {
  protected readonly decoupled = false;

  constructor(lr = 0.001, options: AdamOptions = {}) {
    super('Adam', lr, options, 0);
  }

  config(): OptimizerConfig {
    return { type: 'Adam', lr: this.lr, ...this.options() };
  }

  clone(): Adam {
    return withRate('Adam lr', this.lr, (lr) => new Adam(lr, this.options()));
  }
}

/**
 * AdamW (Loshchilov & Hutter), as PyTorch's `AdamW`: p ← p·(1 − lr·weightDecay), then
 * Adam's step with the raw gradient. Default weightDecay 0.01, as PyTorch.
 * State per parameter tensor: `m`, `v` and the step t.
 */
export class AdamW extends AdamFamily {
  protected readonly decoupled = true;

  constructor(lr = 0.001, options: AdamOptions = {}) {
    super('AdamW', lr, options, 0.01);
  }

  config(): OptimizerConfig {
    return { type: 'AdamW', lr: this.lr, ...this.options() };
  }

  clone(): AdamW {
    return withRate('AdamW lr', this.lr, (lr) => new AdamW(lr, this.options()));
  }
}

/** The optimizer a model file's settings describe (newer fields missing: their defaults); lr may be 0, as `lr` may be set to. */
export function optimizerFromConfig(c: OptimizerConfig): Optimizer {
  if (!c || typeof c !== 'object') throw new ValueError(`optimizer config must be an object, got ${show(c)}`);
  if (c.type === 'SGD') {
    knownOptions('SGD config', c, ['type', 'lr', ...SGD_OPTIONS]);
    return withRate('SGD config lr', c.lr, (lr) => new SGD(lr, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay }));
  }
  if (c.type === 'Adam' || c.type === 'AdamW') {
    knownOptions(`${c.type} config`, c, ['type', 'lr', ...ADAM_OPTIONS]);
    const options = { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay };
    const make = (lr: number): Optimizer => (c.type === 'Adam' ? new Adam(lr, options) : new AdamW(lr, options));
    return withRate(`${c.type} config lr`, c.lr, make);
  }
  throw new ValueError(`unknown optimizer type ${show((c as { type: unknown }).type)}: expected SGD, Adam or AdamW`);
}

/** `make(lr)` for `lr` (named `name`) ≥ 0; constructors refuse 0, so it is set after. */
function withRate<T extends Optimizer>(name: string, lr: unknown, make: (lr: number) => T): T {
  if (checkPositive(name, lr, true) > 0) return make(lr as number);
  const opt = make(1);
  opt.lr = 0;
  return opt;
}
