/**
 * Optimizers. One instance may serve several layers: its state (momentum,
 * Adam's moments and step count) is kept per parameter tensor, in wasm
 * memory, created when a layer registers the tensor. Kernels: `crate/src/optim.rs`.
 */
import { ValueError, checkPositive, checkRange, optionsObject } from './core/errors.js';
import { allocF32, type F32Array } from './core/memory.js';
import { kernels } from './core/wasm.js';

/** A parameter tensor and its gradient, both in wasm memory and equally long. */
export interface Parameter {
  value: F32Array;
  grad: F32Array;
}

export type OptimizerConfig =
  | { type: 'SGD'; lr: number; momentum: number }
  | { type: 'Adam'; lr: number; beta1: number; beta2: number; eps: number };

export abstract class Optimizer {
  /** Learning rate; may be changed between updates. */
  abstract lr: number;

  /** Prepares state for `p` (layers call this when built). */
  abstract register(p: Parameter): void;
  /** Takes one step on every parameter: p ← p − (step computed from its gradient). */
  abstract update(params: readonly Parameter[]): void;
  /** Frees the state kept for `p` (layers call this from `dispose`). */
  abstract release(p: Parameter): void;
  /** Settings, for model files. */
  abstract config(): OptimizerConfig;
  /** Arrays of state kept per parameter tensor (each as long as the tensor). */
  abstract readonly stateArrays: number;
  /** A fresh optimizer with the same settings and no state. */
  abstract clone(): Optimizer;
}

/** Stochastic gradient descent, as PyTorch's `SGD`: v ← μv + g, p ← p − lr·v. */
export class SGD extends Optimizer {
  lr: number;
  readonly momentum: number;
  private readonly velocity = new Map<F32Array, F32Array>();

  get stateArrays(): number {
    return this.momentum > 0 ? 1 : 0;
  }

  constructor(lr = 0.01, options: { momentum?: number } = {}) {
    super();
    const { momentum = 0 } = optionsObject('SGD options', options);
    this.lr = checkPositive('SGD lr', lr);
    this.momentum = checkRange('SGD momentum', momentum, 0, 1);
  }

  register(p: Parameter): void {
    if (this.momentum > 0 && !this.velocity.has(p.value)) this.velocity.set(p.value, allocF32(p.value.length));
  }

  update(params: readonly Parameter[]): void {
    const k = kernels();
    checkPositive('SGD lr', this.lr);
    for (const p of params) {
      this.register(p);
      const v = this.velocity.get(p.value);
      k.wn_sgd(p.value.ptr, p.grad.ptr, v ? v.ptr : 0, p.value.length, this.lr, this.momentum);
    }
  }

  release(p: Parameter): void {
    this.velocity.get(p.value)?.free();
    this.velocity.delete(p.value);
  }

  config(): OptimizerConfig {
    return { type: 'SGD', lr: this.lr, momentum: this.momentum };
  }

  clone(): SGD {
    return new SGD(this.lr, { momentum: this.momentum });
  }
}

interface AdamState {
  m: F32Array;
  v: F32Array;
  t: number;
}

/**
 * Adam (Kingma & Ba), bias-corrected as PyTorch's `Adam`:
 * m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − lr·m̂/(√v̂ + ε)
 * with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), t counted per parameter tensor.
 */
export class Adam extends Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly state = new Map<F32Array, AdamState>();
  readonly stateArrays = 2;

  constructor(lr = 0.001, options: { beta1?: number; beta2?: number; eps?: number } = {}) {
    super();
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = optionsObject('Adam options', options);
    this.lr = checkPositive('Adam lr', lr);
    this.beta1 = checkRange('Adam beta1', beta1, 0, 1);
    this.beta2 = checkRange('Adam beta2', beta2, 0, 1);
    this.eps = checkPositive('Adam eps', eps);
  }

  register(p: Parameter): void {
    if (!this.state.has(p.value)) {
      this.state.set(p.value, { m: allocF32(p.value.length), v: allocF32(p.value.length), t: 0 });
    }
  }

  update(params: readonly Parameter[]): void {
    const k = kernels();
    checkPositive('Adam lr', this.lr);
    for (const p of params) {
      this.register(p);
      const s = this.state.get(p.value)!;
      s.t += 1;
      const bc1 = 1 - Math.pow(this.beta1, s.t);
      const bc2 = 1 - Math.pow(this.beta2, s.t);
      k.wn_adam(p.value.ptr, p.grad.ptr, s.m.ptr, s.v.ptr, p.value.length, this.lr, this.beta1, this.beta2, this.eps, bc1, bc2);
    }
  }

  release(p: Parameter): void {
    const s = this.state.get(p.value);
    if (s) {
      s.m.free();
      s.v.free();
      this.state.delete(p.value);
    }
  }

  config(): OptimizerConfig {
    return { type: 'Adam', lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps };
  }

  clone(): Adam {
    return new Adam(this.lr, { beta1: this.beta1, beta2: this.beta2, eps: this.eps });
  }
}

export function optimizerFromConfig(c: OptimizerConfig): Optimizer {
  if (c.type === 'SGD') return new SGD(c.lr, { momentum: c.momentum });
  if (c.type === 'Adam') return new Adam(c.lr, { beta1: c.beta1, beta2: c.beta2, eps: c.eps });
  throw new ValueError(`unknown optimizer type ${JSON.stringify((c as { type: unknown }).type)}: expected SGD or Adam`);
}
