// Optimizers (crate/src/optim.rs, ts/optimizers.ts) against test/reference/optimizers.ts, their state
// for resumable training, and the learning-rate schedules (ts/train/schedules.ts).
// No PyTorch goldens: installing python3-torch here pulls 224 Debian packages; the references are
// written from PyTorch's documented algorithms instead.
import { describe, expect, it } from 'vitest';
import {
  Adam, AdamW, CosineAnnealing, DenseLayer, ExponentialDecay, FunctionSchedule, Identity, Rng, SGD, ShapeError, StepDecay,
  ValueError, asLrSchedule, optimizerFromConfig, scheduleFromConfig, type Optimizer, type OptimizerConfig,
} from 'wasmnet';
import { MIN_NORMAL, adamSteps, adamStepFloat32, adamWithOptions, flushSubnormal as flush, sgdMomentumStepFloat32, sgdSteps } from './reference/optimizers.js';
import { expectClose, uniform, values } from './helpers/util.js';

/** Runs `steps` updates on a dense layer whose gradients are set directly, returning w and the gradients used. */
function run(optim: Optimizer, steps: number, nin = 5, nout = 7) {
  const rng = new Rng(11);
  const dense = new DenseLayer(nin, nout, { afun: new Identity(), optim, seed: 3 });
  const w0 = dense.w.slice();
  const grads: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    const g = values(nin * nout, rng);
    grads.push(g);
    // Write the gradient the optimizer will read, through a real backprop: a = e_i rows make dw = delta rows.
    dense.evaluate(uniform([1, nin], rng));
    dense.backprop(uniform([1, nout], rng));
    dense.dw.set(g);
    dense.update();
  }
  const w = dense.w.slice();
  dense.dispose();
  return { w0, w, grads };
}

/** A dense layer with non-zero biases, so weight decay acts on both of its tensors. */
function layerWith(optim: Optimizer, nin: number, nout: number, seed = 3): DenseLayer {
  const dense = new DenseLayer(nin, nout, { afun: new Identity(), optim, seed });
  dense.b = values(nout, new Rng(seed + 100), 0.5);
  return dense;
}

/** One update of `dense` with gradients `gw`, `gb` written into its live gradient views. */
function stepWith(dense: DenseLayer, gw: Float32Array, gb: Float32Array, rng: Rng): void {
  dense.evaluate(uniform([1, dense.inputSize], rng));
  dense.backprop(uniform([1, dense.outputSize], rng));
  dense.dw.set(gw);
  dense.db.set(gb);
  dense.update();
}

/** `steps` updates on both tensors of a dense layer; the weights and gradients before and after. */
function runBoth(optim: Optimizer, steps: number, nin: number, nout: number) {
  const rng = new Rng(29);
  const dense = layerWith(optim, nin, nout);
  const w0 = dense.w.slice();
  const b0 = dense.b.slice();
  const gw: Float32Array[] = [];
  const gb: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    gw.push(values(nin * nout, rng));
    gb.push(values(nout, rng));
    stepWith(dense, gw[t], gb[t], rng);
  }
  const out = { w0, b0, w: dense.w.slice(), b: dense.b.slice(), gw, gb };
  dense.dispose();
  return out;
}

// Tensor lengths 7·13 = 91, 13, 37·1 = 37, 1, 3·7 = 21, 7: none a multiple of 4, so every SIMD tail runs.
const SHAPES: [number, number][] = [[7, 13], [37, 1], [3, 7]];

describe('optimizers against the reference', () => {
  it('SGD: p ← p − lr·g', () => {
    const { w0, w, grads } = run(new SGD(0.1), 3);
    expectClose(w, sgdSteps(w0, grads, 0.1, 0), 1e-6);
  });
  it('SGD with momentum 0.9, as PyTorch', () => {
    const { w0, w, grads } = run(new SGD(0.05, { momentum: 0.9 }), 5);
    expectClose(w, sgdSteps(w0, grads, 0.05, 0.9), 1e-6);
  });
  it('Adam, bias-corrected, as PyTorch (35 parameters: not a multiple of 4)', () => {
    const { w0, w, grads } = run(new Adam(0.01), 6);
    expectClose(w, adamSteps(w0, grads, 0.01), 1e-5);
  });
  it('Adam with custom betas and eps', () => {
    const { w0, w, grads } = run(new Adam(0.003, { beta1: 0.5, beta2: 0.9, eps: 1e-3 }), 4, 3, 3);
    expectClose(w, adamSteps(w0, grads, 0.003, 0.5, 0.9, 1e-3), 1e-5);
  });

  const sgdCases: [string, number, { nesterov?: boolean; weightDecay?: number }][] = [
    ['plain', 0, {}],
    ['weight decay', 0, { weightDecay: 0.05 }],
    ['momentum 0.9', 0.9, {}],
    ['momentum 0.9 + weight decay', 0.9, { weightDecay: 0.01 }],
    ['Nesterov', 0.9, { nesterov: true }],
    ['Nesterov + weight decay', 0.5, { nesterov: true, weightDecay: 0.1 }],
  ];
  for (const [name, momentum, options] of sgdCases) {
    it(`SGD ${name}: 6 steps on tensors of 91, 13, 37, 1, 21, 7 values, as PyTorch (rel. 1e-6)`, () => {
      for (const [nin, nout] of SHAPES) {
        const r = runBoth(new SGD(0.05, { momentum, ...options }), 6, nin, nout);
        expectClose(r.w, sgdSteps(r.w0, r.gw, 0.05, momentum, options), 1e-6, `w ${nin}×${nout}`);
        expectClose(r.b, sgdSteps(r.b0, r.gb, 0.05, momentum, options), 1e-6, `b ${nout}`);
      }
    });
  }

  const adamCases: [string, () => Optimizer, Parameters<typeof adamWithOptions>[3]][] = [
    ['Adam with weight decay 0.1 (L2 on the gradient)', () => new Adam(0.01, { weightDecay: 0.1 }), { weightDecay: 0.1 }],
    ['AdamW, default weight decay 0.01', () => new AdamW(0.01), { weightDecay: 0.01, decoupled: true }],
    ['AdamW, weight decay 0.3, custom betas and eps', () => new AdamW(0.02, { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.3 }),
      { beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.3, decoupled: true }],
    ['AdamW with weight decay 0 (= Adam)', () => new AdamW(0.01, { weightDecay: 0 }), {}],
  ];
  for (const [name, make, options] of adamCases) {
    it(`${name}: 6 steps on tensors of 91, 13, 37, 1, 21, 7 values, as PyTorch (rel. 1e-6)`, () => {
      for (const [nin, nout] of SHAPES) {
        const lr = make().lr;
        const r = runBoth(make(), 6, nin, nout);
        expectClose(r.w, adamWithOptions(r.w0, r.gw, lr, options), 1e-6, `w ${nin}×${nout}`);
        expectClose(r.b, adamWithOptions(r.b0, r.gb, lr, options), 1e-6, `b ${nout}`);
      }
    });
  }

  it('AdamW with weight decay 0 takes exactly the steps of Adam', () => {
    const a = runBoth(new Adam(0.01), 5, 7, 13);
    const b = runBoth(new AdamW(0.01, { weightDecay: 0 }), 5, 7, 13);
    expect(Array.from(b.w)).toEqual(Array.from(a.w));
    expect(Array.from(b.b)).toEqual(Array.from(a.b));
  });

  it('a learning rate set to 0 (a schedule’s end) leaves the weights as they are', () => {
    const optim = new SGD(0.1, { weightDecay: 0.1 });
    const dense = layerWith(optim, 3, 5);
    const w = dense.w.slice();
    optim.lr = 0;
    stepWith(dense, values(15, new Rng(1)), values(5, new Rng(2)), new Rng(3));
    expect(Array.from(dense.w)).toEqual(Array.from(w));
    dense.dispose();
  });

  it('one Adam shared by two layers keeps separate state per parameter tensor', () => {
    const shared = new Adam(0.01);
    const rng = new Rng(1);
    const a = new DenseLayer(3, 4, { afun: new Identity(), optim: shared, seed: 1 });
    const b = new DenseLayer(3, 4, { afun: new Identity(), optim: shared, seed: 2 });
    const alone = new DenseLayer(3, 4, { afun: new Identity(), optim: new Adam(0.01), seed: 1 });
    for (let t = 0; t < 3; t++) {
      const x = uniform([2, 3], rng);
      const d = uniform([2, 4], rng);
      for (const layer of [a, b, alone]) {
        layer.evaluate(x);
        layer.backprop(d);
        layer.update();
      }
    }
    // a saw the same data as `alone`; sharing the optimizer with b must not change its steps.
    expect(Array.from(a.w)).toEqual(Array.from(alone.w));
    for (const l of [a, b, alone]) l.dispose();
  });

  it('rejects learning rates that are not finite and positive', () => {
    expect(() => new SGD(0)).toThrow(ValueError);
    expect(() => new Adam(NaN)).toThrow(/Adam lr must be a finite number > 0, got NaN/);
    expect(() => new Adam(0.1, { beta1: 1 })).toThrow(/beta1/);
  });
});

describe('optimizer options', () => {
  it('rejects unknown option names, listing the known ones', () => {
    expect(() => new SGD(0.1, { momentun: 0.9 } as never)).toThrow(
      new ValueError('SGD options: unknown option "momentun", did you mean "momentum"? (known: momentum, nesterov, weightDecay)'),
    );
    expect(() => new Adam(0.1, { weight_decay: 0.1 } as never)).toThrow(/^Adam options: unknown option "weight_decay", did you mean "weightDecay"\? \(known: beta1, beta2, eps, weightDecay\)$/);
    expect(() => new AdamW(0.1, { betas: [0.9, 0.99] } as never)).toThrow(/AdamW options: unknown option "betas"/);
  });

  it('validates each option, naming it', () => {
    expect(() => new SGD(0.1, { weightDecay: -1 })).toThrow(new ValueError('SGD weightDecay must be a finite number ≥ 0, got -1'));
    expect(() => new SGD(0.1, { nesterov: true })).toThrow(/SGD nesterov needs momentum > 0/);
    expect(() => new SGD(0.1, { momentum: 0, nesterov: true })).toThrow(/SGD nesterov needs momentum > 0/);
    expect(() => new SGD(0.1, { momentum: 0.9, nesterov: 1 as never })).toThrow(/SGD nesterov must be true or false, got 1/);
    expect(() => new Adam(0.1, { weightDecay: NaN })).toThrow(/Adam weightDecay must be a finite number ≥ 0, got NaN/);
    expect(() => new AdamW(0.1, { weightDecay: -0.01 })).toThrow(/AdamW weightDecay must be a finite number ≥ 0, got -0.01/);
    expect(() => new AdamW(0, {})).toThrow(/AdamW lr must be a finite number > 0, got 0/);
    expect(() => new Adam(0.1, { beta2: 1 })).toThrow(new ValueError('Adam beta2 must be a number in [0, 1), got 1'));
    expect(() => new AdamW(0.1, { eps: 0 })).toThrow(new ValueError('AdamW eps must be a finite number > 0, got 0'));
  });

  it('config, optimizerFromConfig and clone carry every option', () => {
    const optimizers = [
      new SGD(0.1, { momentum: 0.8, nesterov: true, weightDecay: 0.001 }),
      new Adam(0.002, { beta1: 0.8, beta2: 0.95, eps: 1e-7, weightDecay: 0.1 }),
      new AdamW(0.003, { weightDecay: 0.05 }),
    ];
    expect(optimizers.map((o) => o.config())).toEqual([
      { type: 'SGD', lr: 0.1, momentum: 0.8, nesterov: true, weightDecay: 0.001 },
      { type: 'Adam', lr: 0.002, beta1: 0.8, beta2: 0.95, eps: 1e-7, weightDecay: 0.1 },
      { type: 'AdamW', lr: 0.003, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 },
    ]);
    for (const o of optimizers) {
      expect(optimizerFromConfig(o.config()).config()).toEqual(o.config());
      expect(o.clone().config()).toEqual(o.config());
      expect(o.clone().constructor).toBe(o.constructor);
    }
    // A rate set to 0 (a frozen layer) clones and reads back; one that is not a number ≥ 0 is refused, named.
    for (const o of optimizers) {
      const type = o.config().type;
      o.lr = 0;
      expect(o.clone().config()).toEqual(o.config());
      expect(optimizerFromConfig(o.config()).config()).toEqual(o.config());
      o.lr = NaN;
      expect(() => o.clone()).toThrow(new ValueError(`${type} lr must be a finite number ≥ 0, got NaN`));
    }
  });

  it('optimizerFromConfig reads settings written before the new options existed, with their defaults', () => {
    const sgd = optimizerFromConfig({ type: 'SGD', lr: 0.2, momentum: 0.5 });
    expect(sgd.config()).toEqual({ type: 'SGD', lr: 0.2, momentum: 0.5, nesterov: false, weightDecay: 0 });
    const adam = optimizerFromConfig({ type: 'Adam', lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(adam.config()).toEqual({ type: 'Adam', lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    expect(() => optimizerFromConfig({ type: 'SGD', lr: 0.1, momentum: 0, dampening: 0.1 } as OptimizerConfig)).toThrow(
      /SGD config: unknown option "dampening"/,
    );
    expect(() => optimizerFromConfig({ type: 'RMSprop' } as never)).toThrow(/unknown optimizer type "RMSprop": expected SGD, Adam or AdamW/);
    for (const [bad, shown] of [[null, 'null'], [undefined, 'undefined'], ['Adam', '"Adam"']] as const) {
      expect(() => optimizerFromConfig(bad as never)).toThrow(new ValueError(`optimizer config must be an object, got ${shown}`));
    }
    expect(() => optimizerFromConfig({ type: 'AdamW', lr: 0.01, momentum: 0.9 } as never)).toThrow(
      new ValueError('AdamW config: unknown option "momentum" (known: type, lr, beta1, beta2, eps, weightDecay)'),
    );
  });
});

describe("Adam's m and SGD's velocity flush subnormals to zero (crate/src/optim.rs)", () => {
  const f = Math.fround;
  const subnormals = (a: ArrayLike<number>) => Array.from(a).filter((x) => x !== 0 && Math.abs(x) < MIN_NORMAL).length;
  type Emulated = { p: Float64Array; s: Float64Array[] };
  // The kernels' float32 arithmetic (test/reference/optimizers.ts), with or without the flush.
  const emulate = {
    Adam: (p: Float64Array, s: Float64Array[], g: ArrayLike<number>, t: number, flushing: boolean) => adamStepFloat32(p, s[0], s[1], g, t, flushing),
    SGD: (p: Float64Array, s: Float64Array[], g: ArrayLike<number>, _t: number, flushing: boolean) => sgdMomentumStepFloat32(p, s[0], g, flushing),
  };

  it('the flush in the wasm SIMD lanes and the scalar tail: subnormals and −0 become +0; NaN, ±∞ and normal numbers pass', () => {
    // SGD's velocity after one step is 0.9·v + g, flushed: 9 values = two vectors and a tail of one. The state must
    // be finite (setState), so NaN and ±∞ come in through the gradient.
    const optim = new SGD(0.01, { momentum: 0.9 });
    const dense = layerWith(optim, 3, 3);
    const [wParam] = dense.parameters();
    const v0 = [0, 0, 0, 1e-39, -1e-39, 2e-38, 0.5, 1.05 * MIN_NORMAL, -2e-39].map(f);
    const g = Float32Array.from([NaN, Infinity, -Infinity, 0, 0, 0, 0, 0, 0]);
    optim.setState(wParam, { step: 0, arrays: [Float32Array.from(v0)] });
    stepWith(dense, g, new Float32Array(3), new Rng(1));
    const want = v0.map((x, i) => flush(f(f(f(0.9) * x) + g[i])));
    expect(Array.from(optim.stateOf(wParam).arrays[0])).toEqual(want);
    // Spelled out: NaN, ∞, −∞ kept; 0.9·1e-39 and 0.9·(−1e-39) are subnormal, so +0; 0.9·2e-38 is normal; 0.9·1.05·2⁻¹²⁶ is not.
    expect(want.map((x) => (Number.isNaN(x) ? 'NaN' : Object.is(x, 0) ? '+0' : x > 0 ? '>0' : '<0'))).toEqual(['NaN', '>0', '<0', '+0', '+0', '>0', '>0', '+0', '+0']);
    dense.dispose();
  });

  for (const [name, make] of [['Adam', () => new Adam(0.01)], ['SGD', () => new SGD(0.01, { momentum: 0.9 })]] as const) {
    it(`${name}: a state decaying below 1.2e-38 becomes 0 instead of staying subnormal, and the weights keep the bits of unflushed arithmetic`, () => {
      const optim = make();
      // 7·13 = 91 weights and 13 biases: whole vectors and a tail. Every other weight and every bias sees a gradient
      // of 0 after the first step (a dead unit's), so its state decays by 0.9 a step: subnormal after about 790.
      const dense = layerWith(optim, 7, 13);
      const [wParam, bParam] = dense.parameters();
      const start = (x: Float32Array): [Emulated, Emulated] => {
        const states = () => optim.stateOf(wParam).arrays.map(() => new Float64Array(x.length));
        return [{ p: Float64Array.from(x), s: states() }, { p: Float64Array.from(x), s: states() }];
      };
      const [wFlushed, wPlain] = start(dense.w);
      const [bFlushed, bPlain] = start(dense.b);
      const rng = new Rng(5);
      let flushedAtSomeStep = false;
      for (let t = 1; t <= 900; t++) {
        const gw = values(91, rng).map((x, i) => (t === 1 || i % 2 === 1 ? x : 0));
        const gb = t === 1 ? values(13, rng) : new Float32Array(13);
        stepWith(dense, gw, gb, rng);
        for (const [e, g] of [[wFlushed, gw], [bFlushed, gb]] as const) emulate[name](e.p, e.s, g, t, true);
        for (const [e, g] of [[wPlain, gw], [bPlain, gb]] as const) emulate[name](e.p, e.s, g, t, false);
        // m or the velocity: the first array of either optimizer's state.
        const state = [optim.stateOf(wParam).arrays[0], optim.stateOf(bParam).arrays[0]];
        expect(state.map(subnormals)).toEqual([0, 0]);
        flushedAtSomeStep ||= subnormals(wPlain.s[0]) > 0;
      }
      // The run reaches the subnormal range (else this test checks nothing), and the kernel is the flushing arithmetic.
      expect(flushedAtSomeStep).toBe(true);
      expect(optim.stateOf(wParam).arrays.map((a) => Array.from(a))).toEqual(wFlushed.s.map((a) => Array.from(a)));
      expect(optim.stateOf(bParam).arrays.map((a) => Array.from(a))).toEqual(bFlushed.s.map((a) => Array.from(a)));
      expect(Array.from(optim.stateOf(bParam).arrays[0])).toEqual(new Array(13).fill(0));
      // Weights and biases: the same floats as without the flush, the same as the kernel's.
      expect(Array.from(dense.w)).toEqual(Array.from(wFlushed.p));
      expect(Array.from(dense.b)).toEqual(Array.from(bFlushed.p));
      expect(Array.from(wPlain.p)).toEqual(Array.from(wFlushed.p));
      expect(Array.from(bPlain.p)).toEqual(Array.from(bFlushed.p));
      dense.dispose();
    });
  }
});

describe('optimizer state, for resumable training', () => {
  const makers: [string, () => Optimizer, string[]][] = [
    ['SGD', () => new SGD(0.05), []],
    ['SGD with Nesterov momentum and weight decay', () => new SGD(0.05, { momentum: 0.9, nesterov: true, weightDecay: 0.01 }), ['velocity']],
    ['Adam with weight decay', () => new Adam(0.01, { weightDecay: 0.01 }), ['m', 'v']],
    ['AdamW', () => new AdamW(0.01), ['m', 'v']],
  ];
  for (const [name, make, names] of makers) {
    it(`${name}: state copied into a fresh optimizer continues bit-identically`, () => {
      const rng = new Rng(5);
      const [nin, nout] = [7, 13];
      const grads = Array.from({ length: 7 }, () => [values(nin * nout, rng), values(nout, rng)] as const);
      const original = make();
      expect(original.stateNames).toEqual(names);
      const a = layerWith(original, nin, nout);
      for (const [gw, gb] of grads.slice(0, 4)) stepWith(a, gw, gb, rng);

      // A new layer and optimizer, as a resumed run would build them from a model file.
      const resumed = make();
      const b = layerWith(resumed, nin, nout, 99);
      b.w = a.w;
      b.b = a.b;
      a.parameters().forEach((p, i) => {
        const state = original.stateOf(p);
        expect(state.step).toBe(4);
        expect(state.arrays.length).toBe(names.length);
        resumed.setState(b.parameters()[i], state);
        expect(resumed.stateOf(b.parameters()[i])).toEqual(state);
      });
      for (const [gw, gb] of grads.slice(4)) {
        stepWith(a, gw, gb, rng);
        stepWith(b, gw, gb, rng);
      }
      expect(Array.from(b.w)).toEqual(Array.from(a.w));
      expect(Array.from(b.b)).toEqual(Array.from(a.b));
      a.dispose();
      b.dispose();
    });
  }

  it('stateOf returns copies: changing them does not change the optimizer', () => {
    const optim = new Adam(0.01);
    const dense = layerWith(optim, 3, 5);
    stepWith(dense, values(15, new Rng(1)), values(5, new Rng(2)), new Rng(3));
    const p = dense.parameters()[0];
    const s = optim.stateOf(p);
    const m = s.arrays[0].slice();
    s.arrays[0].fill(7);
    expect(Array.from(optim.stateOf(p).arrays[0])).toEqual(Array.from(m));
    dense.dispose();
  });

  it('setState validates the state against the parameter and the optimizer', () => {
    const optim = new Adam(0.01);
    const dense = layerWith(optim, 3, 5);
    const p = dense.parameters()[0]; // w: 15 values
    const ok = new Float32Array(15);
    expect(() => optim.setState(p, { step: 1, arrays: [ok] })).toThrow(new ShapeError('Adam state arrays must be 2 arrays [m, v], got 1'));
    expect(() => optim.setState(p, { step: 1, arrays: [ok, new Float32Array(14)] })).toThrow(
      new ShapeError("Adam state v must hold 15 values (the parameter's length), got 14"),
    );
    expect(() => optim.setState(p, { step: -1, arrays: [ok, ok] })).toThrow(/Adam state step must be an integer ≥ 0, got -1/);
    expect(() => optim.setState(p, { step: 1.5, arrays: [ok, ok] })).toThrow(/Adam state step must be an integer ≥ 0, got 1.5/);
    const nan = new Float32Array(15);
    nan[4] = NaN;
    expect(() => optim.setState(p, { step: 1, arrays: [nan, ok] })).toThrow(/Adam state m must hold finite numbers, but index 4 is NaN/);
    const negative = new Float32Array(15);
    negative[2] = -1;
    expect(() => optim.setState(p, { step: 1, arrays: [ok, negative] })).toThrow(/Adam state v \(a mean of squares\) must be ≥ 0, but index 2 is -1/);
    expect(() => optim.setState(p, { step: 1, arrays: [ok, ok], t: 3 } as never)).toThrow(/Adam state: unknown option "t"/);
    expect(() => new SGD(0.1, { momentum: 0.9 }).setState(p, { step: 0, arrays: [] })).toThrow(/SGD state arrays must be 1 arrays \[velocity\], got 0/);
    // The failed calls left the state alone.
    expect(optim.stateOf(p).step).toBe(0);
    dense.dispose();
  });

  it('setState names what is wrong when p, the state or an array is not what it should be', () => {
    const optim = new Adam(0.01);
    const dense = layerWith(optim, 3, 5);
    const p = dense.parameters()[0]; // w: 15 values
    const ok = new Float32Array(15);
    const state = { step: 1, arrays: [ok, ok] };
    for (const [bad, shown] of [[null, 'null'], [undefined, 'undefined'], [5, '5'], [{}, 'Object']] as const) {
      expect(() => optim.setState(bad as never, state)).toThrow(new ValueError(`Adam.setState: p must be a Parameter, got ${shown}`));
    }
    // A look-alike whose values are not in wasm memory: the kernels would write to another address.
    const lookAlike = { value: new Float32Array(15), grad: new Float32Array(15) };
    expect(() => optim.setState(lookAlike as never, state)).toThrow(new ValueError('Adam.setState: p must be a Parameter, got Object'));
    for (const [bad, shown] of [[null, 'null'], [5, '5'], ['{"step":1}', '"{\\"step\\":1}"']] as const) {
      expect(() => optim.setState(p, bad as never)).toThrow(new ValueError(`Adam state must be { step, arrays }, got ${shown}`));
    }
    // Arrays that are not arrays of the parameter's length, shown as what they are.
    const text = 'a'.repeat(15); // the right length, but text (say, base64 not decoded)
    for (const [bad, shown] of [[null, 'null'], [7, '7'], [text, JSON.stringify(text)], [{}, 'Object'], [[1, 2], '2']] as const) {
      expect(() => optim.setState(p, { step: 1, arrays: [bad as never, ok] })).toThrow(
        new ShapeError(`Adam state m must hold 15 values (the parameter's length), got ${shown}`),
      );
    }
    const negativeFirst = new Float32Array(15);
    negativeFirst[0] = -0.5;
    expect(() => optim.setState(p, { step: 1, arrays: [ok, negativeFirst] })).toThrow(
      new ValueError('Adam state v (a mean of squares) must be ≥ 0, but index 0 is -0.5'),
    );
    // Zeros are a valid second moment, and plain arrays are accepted as well as typed ones.
    optim.setState(p, { step: 3, arrays: [Array.from(ok, (_, i) => i), ok] });
    expect(optim.stateOf(p).step).toBe(3);
    expect(Array.from(optim.stateOf(p).arrays[0])).toEqual(Array.from({ length: 15 }, (_, i) => i));
    dense.dispose();
  });

  it('stateOf answers a clear error for anything that is not a registered parameter', () => {
    const optim = new Adam(0.01);
    for (const bad of [null, undefined, 5, 'w', {}]) {
      expect(() => optim.stateOf(bad as never)).toThrow(new ValueError('Adam.stateOf: the parameter is not registered with this optimizer'));
    }
  });

  it('stateOf refuses a parameter the optimizer does not know', () => {
    const dense = layerWith(new SGD(0.1), 2, 3);
    expect(() => new Adam().stateOf(dense.parameters()[0])).toThrow(/Adam.stateOf: the parameter is not registered with this optimizer/);
    dense.dispose();
  });
});

describe('learning-rate schedules', () => {
  it("StepDecay is PyTorch's StepLR (the docs' example: 0.05, ×0.1 every 30 epochs)", () => {
    const s = new StepDecay({ stepSize: 30 });
    expect([0, 29, 30, 59, 60, 89].map((e) => s.lrAt(e, 0.05))).toEqual([0.05, 0.05, 0.05 * 0.1, 0.05 * 0.1, 0.05 * 0.1 ** 2, 0.05 * 0.1 ** 2]);
    const half = new StepDecay({ stepSize: 3, gamma: 0.5 });
    expect([0, 1, 2, 3, 5, 6, 9].map((e) => half.lrAt(e, 0.1))).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
  });

  it("ExponentialDecay is PyTorch's ExponentialLR: base·gamma^epoch", () => {
    const s = new ExponentialDecay({ gamma: 0.9 });
    expect(s.lrAt(0, 0.1)).toBe(0.1);
    expect(s.lrAt(1, 0.1)).toBeCloseTo(0.09, 15);
    expect(s.lrAt(2, 0.1)).toBeCloseTo(0.081, 15);
    expect(s.lrAt(10, 0.1)).toBeCloseTo(0.034867844, 9);
  });

  it("CosineAnnealing is PyTorch's CosineAnnealingLR closed form (and rises again after tMax, as PyTorch's)", () => {
    const s = new CosineAnnealing({ tMax: 10, etaMin: 0.001 });
    // etaMin + (base − etaMin)(1 + cos(π·epoch/tMax))/2, by hand: cos(0.2π) = 0.80901699437…
    expect(s.lrAt(0, 0.1)).toBeCloseTo(0.1, 15);
    expect(s.lrAt(2, 0.1)).toBeCloseTo(0.001 + (0.099 * 1.8090169943749475) / 2, 15);
    expect(s.lrAt(2, 0.1)).toBeCloseTo(0.09054634122156, 13);
    expect(s.lrAt(5, 0.1)).toBeCloseTo(0.0505, 15);
    expect(s.lrAt(10, 0.1)).toBeCloseTo(0.001, 15);
    expect(s.lrAt(15, 0.1)).toBeCloseTo(0.0505, 15);
    expect(s.lrAt(20, 0.1)).toBeCloseTo(0.1, 15);
    expect(new CosineAnnealing({ tMax: 4 }).lrAt(2, 0.2)).toBeCloseTo(0.1, 15);
  });

  it('a plain function is a schedule, but cannot be stored', () => {
    const s = asLrSchedule((epoch, base) => base / (1 + epoch));
    expect(s).toBeInstanceOf(FunctionSchedule);
    expect(s.lrAt(3, 0.1)).toBeCloseTo(0.025, 15);
    expect(s.config()).toBeNull();
    expect(() => asLrSchedule((() => NaN) as never).lrAt(2, 0.1)).toThrow(/lr schedule function must return a finite number ≥ 0, got NaN for epoch 2/);
    expect(() => asLrSchedule(0.1 as never)).toThrow(/lrSchedule must be a schedule .* or a function \(epoch, baseLr\) => lr, got 0.1/);
    const step = new StepDecay({ stepSize: 2 });
    expect(asLrSchedule(step)).toBe(step);
  });

  it('config and scheduleFromConfig round-trip', () => {
    for (const s of [new StepDecay({ stepSize: 7, gamma: 0.5 }), new ExponentialDecay({ gamma: 0.95 }), new CosineAnnealing({ tMax: 12, etaMin: 1e-4 })]) {
      const back = scheduleFromConfig(s.config());
      expect(back.config()).toEqual(s.config());
      expect(back.lrAt(5, 0.01)).toBe(s.lrAt(5, 0.01));
    }
    expect(new CosineAnnealing({ tMax: 3 }).config()).toEqual({ type: 'CosineAnnealing', tMax: 3, etaMin: 0 });
    expect(() => scheduleFromConfig({ type: 'OneCycle' } as never)).toThrow(/unknown schedule type "OneCycle"/);
  });

  it('validates options and arguments, naming them', () => {
    expect(() => new StepDecay({ step: 3 } as never)).toThrow(new ValueError('StepDecay options: unknown option "step", did you mean "stepSize"? (known: stepSize, gamma)'));
    expect(() => new StepDecay({} as never)).toThrow(/StepDecay stepSize must be an integer ≥ 1, got undefined/);
    expect(() => new StepDecay({ stepSize: 2.5 })).toThrow(/StepDecay stepSize must be an integer ≥ 1, got 2.5/);
    expect(() => new StepDecay({ stepSize: 2, gamma: 0 })).toThrow(/StepDecay gamma must be a finite number > 0, got 0/);
    expect(() => new ExponentialDecay(undefined as never)).toThrow(/ExponentialDecay gamma must be a finite number > 0, got undefined/);
    expect(() => new CosineAnnealing({ tMax: 0 })).toThrow(/CosineAnnealing tMax must be an integer ≥ 1, got 0/);
    expect(() => new CosineAnnealing({ tMax: 5, etaMin: -1 })).toThrow(/CosineAnnealing etaMin must be a finite number ≥ 0, got -1/);
    expect(() => new StepDecay({ stepSize: 2 }).lrAt(-1, 0.1)).toThrow(/StepDecay epoch must be a finite number ≥ 0, got -1/);
    expect(() => new CosineAnnealing({ tMax: 2 }).lrAt(1, -0.1)).toThrow(/CosineAnnealing baseLr must be a finite number ≥ 0, got -0.1/);
    // A frozen layer's base rate of 0 stays 0 (etaMin 0).
    for (const s of [new StepDecay({ stepSize: 1 }), new ExponentialDecay({ gamma: 0.5 }), new CosineAnnealing({ tMax: 2 })]) expect(s.lrAt(1, 0)).toBe(0);
    // Each schedule's own name in its messages (options and arguments).
    expect(() => new ExponentialDecay({ gamma: 0.9, tMax: 3 } as never)).toThrow(new ValueError('ExponentialDecay options: unknown option "tMax" (known: gamma)'));
    expect(() => new ExponentialDecay({ gamma: 0.9 }).lrAt(NaN, 0.1)).toThrow(/^ExponentialDecay epoch must be a finite number ≥ 0, got NaN$/);
    expect(() => new CosineAnnealing({ tMax: 3, gama: 1 } as never)).toThrow(/^CosineAnnealing options: unknown option "gama"/);
    expect(() => new FunctionSchedule(() => 0.1).lrAt(1, -1)).toThrow(/^lr schedule baseLr must be a finite number ≥ 0, got -1$/);
  });

  it('a function schedule: only a function, and only rates that are finite numbers ≥ 0', () => {
    for (const [fn, shown] of [[undefined, 'undefined'], [0.1, '0.1'], ['x => x', '"x => x"'], [{ lrAt: () => 0.1 }, 'Object']] as const) {
      expect(() => new FunctionSchedule(fn as never)).toThrow(new ValueError(`FunctionSchedule fn must be a function (epoch, baseLr) => lr, got ${shown}`));
    }
    const returning = (lr: unknown) => new FunctionSchedule(() => lr as number);
    expect(returning(0).lrAt(1, 0.1), 'a rate of 0 is allowed').toBe(0);
    for (const [lr, shown] of [['0.1', '"0.1"'], [-1e-9, '-1e-9'], [Infinity, 'Infinity']] as const) {
      expect(() => returning(lr).lrAt(3, 0.1)).toThrow(new ValueError(`lr schedule function must return a finite number ≥ 0, got ${shown} for epoch 3`));
    }
  });

  it('asLrSchedule: a class given without new is named (whatever its name), anything but a schedule or a function is refused', () => {
    class MySchedule {
      lrAt(): number {
        return 0.1;
      }
    }
    expect(() => asLrSchedule(MySchedule as never)).toThrow(new ValueError('lrSchedule must be a schedule object such as new MySchedule({ … }), got the class MySchedule itself'));
    const anonymous = (() => class {})();
    expect(() => asLrSchedule(anonymous as never)).toThrow(new ValueError('lrSchedule must be a schedule object such as new CosineAnnealing({ … }), got the class  itself'));
    // A function whose source merely mentions "class" is a plain function.
    const mentions = (epoch: number, base: number) => /* class { */ base / (1 + epoch);
    expect(asLrSchedule(mentions)).toBeInstanceOf(FunctionSchedule);
    for (const s of [null, 'CosineAnnealing', {}, { lrAt: 0.1 }, [new StepDecay({ stepSize: 1 })]]) {
      expect(() => asLrSchedule(s as never), String(s)).toThrow(/^lrSchedule must be a schedule \(StepDecay, ExponentialDecay, CosineAnnealing\) or a function \(epoch, baseLr\) => lr, got /);
    }
    // Any object with an lrAt method is a schedule.
    const own = { lrAt: () => 0.01, config: () => null };
    expect(asLrSchedule(own)).toBe(own);
  });

  it('scheduleFromConfig refuses what is not an object, naming it', () => {
    for (const [c, shown] of [[null, 'null'], [undefined, 'undefined'], ['StepDecay', '"StepDecay"'], [3, '3']] as const) {
      expect(() => scheduleFromConfig(c as never)).toThrow(new ValueError(`schedule config must be an object, got ${shown}`));
    }
  });
});
