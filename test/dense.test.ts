// DenseLayer and the GEMM under it (crate/src/gemm.rs, crate/src/dense.rs, ts/layers/dense.ts)
// against test/reference/dense.ts.
import { describe, expect, it } from 'vitest';
import { Adam, Conv2DLayer, DenseLayer, type DenseOptions, Identity, RandnAverage, Rng, SGD, ShapeError, SoftMax, Tanh, Tensor, ValueError, SequentialNet, gradientCheck, ReLU, Sigmoid, wasmBytesInUse } from 'wasmnet';
import { denseBackward, denseForward } from './reference/dense.js';
import { expectClose, uniform, values } from './helpers/util.js';

// n × in → out; sizes around the 4×8 micro-tile and the 256/128/512 blocking, and the course's dense layers.
const shapes = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 8, 8],
  [9, 13, 17],
  [33, 300, 10],
  [130, 257, 9],
  [5, 5408, 100],
  [64, 100, 10],
  [2, 3, 600],
];

describe('DenseLayer against the reference', () => {
  for (const [n, nin, nout] of shapes) {
    it(`z = a·w + b and its gradients for n=${n}, ${nin} → ${nout}`, () => {
      const rng = new Rng(n * 7 + nin);
      const dense = new DenseLayer(nin, nout, { afun: new Identity(), seed: 1 });
      dense.b = values(nout, rng);
      const a = uniform([n, nin], rng);
      const z = dense.evaluate(a);
      expect(z.shape).toEqual([n, nout]);
      expectClose(z.data, denseForward(a.data, dense.w, dense.b, n, nin, nout), 1e-5, 'z');
      const delta = uniform([n, nout], rng);
      const da = dense.backprop(delta);
      const ref = denseBackward(a.data, dense.w, delta.data, n, nin, nout);
      expectClose(dense.dw, ref.dw, 1e-5, 'dw');
      expectClose(dense.db, ref.db, 1e-5, 'db');
      expectClose(da.data, ref.da, 1e-5, 'da');
      dense.dispose();
    });
  }

  it('stores w as [inputSize, outputSize], row-major', () => {
    const dense = new DenseLayer(2, 3, { afun: new Identity() });
    dense.w = [1, 2, 3, 4, 5, 6];
    dense.b = [0.5, 0, -0.5];
    expect(Array.from(dense.evaluate(new Tensor([1, 10], [1, 2])).data)).toEqual([41.5, 52, 62.5]);
    dense.dispose();
  });

  it('overwrites dw and db on each backprop', () => {
    const rng = new Rng(2);
    const dense = new DenseLayer(6, 5, { afun: new Identity(), seed: 1 });
    dense.evaluate(uniform([4, 6], rng));
    const delta = uniform([4, 5], rng);
    dense.backprop(delta);
    const first = dense.dw.slice();
    dense.backprop(delta);
    expect(Array.from(dense.dw)).toEqual(Array.from(first));
    dense.dispose();
  });

  it('initializes w with variance factor² · 2/(in + out)', () => {
    const dense = new DenseLayer(400, 200, { afun: new ReLU(), seed: 4 });
    const w = dense.w;
    const variance = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(variance / (2 * (2 / 600))).toBeGreaterThan(0.95);
    expect(variance / (2 * (2 / 600))).toBeLessThan(1.05);
    dense.dispose();
  });
});

describe('DenseLayer gradient check (ε = 1e-3, error relative to the largest gradient)', () => {
  for (const afun of [new Identity(), new Tanh(), new Sigmoid(), new SoftMax()]) {
    it(`${afun.name}: w, b and input within 1e-3`, () => {
      const dense = new DenseLayer(7, 5, { afun, seed: 2 });
      const result = gradientCheck(dense, uniform([3, 7], new Rng(9)));
      for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
      dense.dispose();
    });
  }
});

describe('DenseLayer arguments', () => {
  it('rejects non-integer or non-positive sizes', () => {
    expect(() => new DenseLayer(0, 3)).toThrow(/Dense inputSize must be an integer ≥ 1, got 0/);
    expect(() => new DenseLayer(3, 2.5)).toThrow(/Dense outputSize must be an integer ≥ 1, got 2.5/);
  });
  it('rejects input of the wrong width', () => {
    const dense = new DenseLayer(4, 2, { optim: new Adam() });
    expect(() => dense.evaluate(Tensor.zeros([3, 5]))).toThrow(ShapeError);
    dense.dispose();
  });
  it('rejects weights of the wrong length', () => {
    const dense = new DenseLayer(4, 2);
    expect(() => (dense.w = [1, 2, 3])).toThrow(/Dense.w must get 8 values, got 3/);
    dense.dispose();
  });
  it('rejects weights that are no array, saying what they are: null, text (of the right length too), an object', () => {
    const dense = new DenseLayer(4, 2);
    const set = (v: unknown) => () => (dense.w = v as number[]);
    expect(set(null)).toThrow(new ShapeError('Dense.w must get 8 values, got null'));
    expect(set('12345678')).toThrow(new ShapeError('Dense.w must get 8 values, got "12345678"'));
    expect(set('abc')).toThrow(new ShapeError('Dense.w must get 8 values, got "abc"'));
    expect(set({})).toThrow(new ShapeError('Dense.w must get 8 values, got Object'));
    dense.dispose();
  });
});

describe('DenseLayer options: the checks and defaults every activated layer shares (ts/layers/activated.ts)', () => {
  it('refuses an optimizer, an initializer, a seed or an rng of the wrong kind, naming the option', () => {
    expect(() => new DenseLayer(3, 2, { optim: 'adam' as never })).toThrow(new ValueError('Dense optim must be an Optimizer (SGD, Adam, AdamW), got "adam"'));
    expect(() => new DenseLayer(3, 2, { optim: null as never })).toThrow(/^Dense optim must be an Optimizer \(SGD, Adam, AdamW\), got null$/);
    expect(() => new DenseLayer(3, 2, { initializer: {} as never })).toThrow(new ValueError('Dense initializer must be an Initializer, got Object'));
    expect(() => new DenseLayer(3, 2, { initializer: null as never })).toThrow(/^Dense initializer must be an Initializer, got null$/);
    expect(() => new DenseLayer(3, 2, { afun: null as never })).toThrow(/^Dense afun must be an Activation \(ReLU, SoftMax, …\), got null$/);
    expect(() => new DenseLayer(3, 2, { seed: -1 })).toThrow(new ValueError('Dense seed must be an integer in [0, 4294967295], got -1'));
    expect(() => new DenseLayer(3, 2, { seed: 2 ** 32 })).toThrow(/^Dense seed must be an integer in \[0, 4294967295\], got 4294967296$/);
    expect(() => new DenseLayer(3, 2, { rng: 7 as never })).toThrow(new ValueError('Dense rng must be an Rng, got 7'));
    expect(() => new DenseLayer(3, 2, { rng: {} as never })).toThrow(/^Dense rng must be an Rng, got Object$/);
    expect(() => new DenseLayer(3, 2, { sede: 1 } as never)).toThrow(/^Dense options: unknown option "sede", did you mean "seed"\? \(known: afun, optim, initializer, seed, rng\)$/);
  });

  it('takes the extreme seeds 0 and 2³² − 1, and options of undefined', () => {
    for (const seed of [0, 2 ** 32 - 1]) new DenseLayer(3, 2, { seed }).dispose();
    new DenseLayer(3, 2, undefined).dispose();
    new DenseLayer(3, 2, null as never).dispose();
    new DenseLayer(3, 2, { seed: undefined, rng: undefined }).dispose();
  });

  it('defaults: ReLU, SGD, RandnAverage', () => {
    const dense = new DenseLayer(3, 2);
    expect(dense.afun).toBeInstanceOf(ReLU);
    expect(dense.optim).toBeInstanceOf(SGD);
    expect(dense.initializer).toBeInstanceOf(RandnAverage);
    dense.dispose();
  });

  it('draws the initial weights from rng when given (before seed), else from seed: the same seed, the same weights', () => {
    const w = (options: DenseOptions) => {
      const dense = new DenseLayer(4, 3, options);
      const values = Array.from(dense.w);
      dense.dispose();
      return values;
    };
    expect(w({ seed: 5 })).toEqual(w({ seed: 5 }));
    expect(w({ seed: 5 })).not.toEqual(w({ seed: 6 }));
    expect(w({ rng: new Rng(5) })).toEqual(w({ seed: 5 }));
    expect(w({ rng: new Rng(5), seed: 6 })).toEqual(w({ seed: 5 }));
    expect(w({ seed: 0 })).toEqual(w({ rng: new Rng(0) }));
  });
});

describe('DenseLayer in a network', () => {
  it('added after a layer whose output is not flat: the error says to add a Flatten layer', () => {
    const net = new SequentialNet([2, 3], { seed: 1 });
    expect(() => net.add(new DenseLayer(6, 2))).toThrow(new ShapeError('Dense expects input samples of shape [6], got [2, 3] (add a Flatten layer before a dense layer)'));
    net.dispose();
  });

  it('added after a flat output of another width: no word of flatten', () => {
    const net = new SequentialNet([5], { seed: 1 });
    expect(() => net.add(new DenseLayer(6, 2))).toThrow(new ShapeError('Dense expects input samples of shape [6], got [5]'));
    net.dispose();
  });

  it('batch buffers: z, φ(z), ∂C/∂z per output and ∂C/∂input per input, 4 bytes each', () => {
    const dense = new DenseLayer(5, 3);
    expect(dense.batchBytes(2)).toBe(4 * 2 * (3 * 3 + 5));
    dense.dispose();
  });
});

describe('DenseLayer: a shard\'s ∂C/∂w added in place for the gradient tree (addToGrad, addsExactly)', () => {
  // The tree lets a right child's backward pass add its ∂C/∂w to its sibling's (GradientTree.prepareShard) only
  // where that is one float32 add per element: grad + (the shard's whole sum). 12 outputs end in a half tile.
  for (const rows of [256, 257]) {
    it(`${rows} rows: ${rows <= 256 ? 'grad + the shard\'s own ∂C/∂w, bit for bit' : 'past one depth block: not vouched for, and indeed not the same bits'}; then overwritten again`, () => {
      const [nin, nout] = [9, 12];
      const rng = new Rng(rows);
      const dense = new DenseLayer(nin, nout, { afun: new Identity(), seed: 3 });
      const w = dense.parameters().find((p) => p.name === 'w')!;
      expect(w.addsExactly?.(rows)).toBe(rows <= 256);
      const [xa, da, xb, db] = [uniform([rows, nin], rng), uniform([rows, nout], rng), uniform([rows, nin], rng), uniform([rows, nout], rng)];
      const own = (x: Tensor, d: Tensor): Float32Array => (dense.evaluate(x), dense.backprop(d), Float32Array.from(dense.dw));
      const [ga, gb] = [own(xa, da), own(xb, db)];
      own(xa, da);
      w.addToGrad = true;
      const inPlace = own(xb, db);
      w.addToGrad = false;
      const sum = ga.map((v, i) => Math.fround(v + gb[i]));
      if (rows <= 256) expect(Array.from(inPlace)).toEqual(Array.from(sum));
      else expect(inPlace.some((v, i) => v !== sum[i])).toBe(true);
      expect(Array.from(own(xb, db))).toEqual(Array.from(gb));
      dense.dispose();
    });
  }
});

describe('DenseLayer steps: weights packed once per step (beginStep, endStep)', () => {
  it('∂C/∂a is, float for float, each sum of products δ[j][p]·w[i][p] taken in order, with wᵀ packed for a step or not', () => {
    // 13 inputs: three 4-row tiles of w and a short one; 7 samples: a short panel; 37 outputs: the depth.
    const [nin, nout, n] = [13, 37, 7];
    const rng = new Rng(21);
    const dense = new DenseLayer(nin, nout, { afun: new Identity(), seed: 2 });
    const delta = uniform([n, nout], rng);
    for (const step of [false, true]) {
      if (step) dense.beginStep();
      dense.evaluate(uniform([n, nin], rng));
      const da = dense.backprop(delta).data;
      if (step) dense.endStep();
      const w = dense.w;
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < nin; i++) {
          let sum = 0;
          for (let p = 0; p < nout; p++) sum = Math.fround(sum + Math.fround(delta.data[j * nout + p] * w[i * nout + p]));
          expect(da[j * nin + i], `da[${j}][${i}]${step ? ' in a step' : ''}`).toBe(sum);
        }
      }
    }
    dense.dispose();
  });

  it('after endStep a changed w is used: the packed w and wᵀ of the step are forgotten', () => {
    const rng = new Rng(8);
    const dense = new DenseLayer(3, 2, { afun: new Identity(), seed: 1 });
    const a = uniform([2, 3], rng);
    const delta = uniform([2, 2], rng);
    dense.beginStep();
    dense.evaluate(a);
    dense.backprop(delta);
    dense.endStep();
    dense.w = [1, -2, 3, 0.5, -1, 2];
    expectClose(dense.evaluate(a).data, denseForward(a.data, dense.w, dense.b, 2, 3, 2), 1e-6, 'z');
    const da = dense.backprop(delta);
    expectClose(da.data, denseBackward(a.data, dense.w, delta.data, 2, 3, 2).da, 1e-6, 'da');
    dense.dispose();
  });
});

describe('borrowParametersOf: a shard\'s copy computing with its master\'s parameters (ts/layers/activated.ts, train/together.ts)', () => {
  const identity = (seed: number) => new DenseLayer(4, 3, { afun: new Identity(), seed });

  it('the copy computes with the master\'s weights and biases, and frees its own values', () => {
    const master = identity(1);
    master.b = [0.5, -1, 2];
    const copy = identity(2);
    const before = wasmBytesInUse();
    copy.borrowParametersOf(master);
    expect(before - wasmBytesInUse()).toBe(4 * (12 + 3));
    const a = uniform([2, 4], new Rng(3));
    expect(Array.from(copy.evaluate(a).data)).toEqual(Array.from(master.evaluate(a).data));
    copy.dispose();
    master.dispose();
  });

  it('borrowing again frees nothing more, and the master keeps its values', () => {
    const master = identity(1);
    const w = Array.from(master.w);
    const copy = identity(2);
    copy.borrowParametersOf(master);
    const once = wasmBytesInUse();
    copy.borrowParametersOf(master);
    expect(wasmBytesInUse()).toBe(once);
    expect(Array.from(master.w)).toEqual(w);
    copy.dispose();
    master.dispose();
  });

  it('the copy refuses to update, and disposing it leaves the master\'s values alone', () => {
    const master = identity(1);
    const w = Array.from(master.w);
    const copy = identity(2);
    copy.borrowParametersOf(master);
    expect(() => copy.update()).toThrow(new ValueError("this Dense layer computes with another layer's parameters and cannot update them (a wasmnet bug)"));
    copy.dispose();
    expect(Array.from(master.w)).toEqual(w);
    master.dispose();
  });

  it('refuses a master of another kind, or with parameters of other sizes', () => {
    const dense = new DenseLayer(2, 3);
    const conv = new Conv2DLayer([1, 1, 2], [3, 1, 2]); // f: 6 values, b: 3, as the dense layer's w and b
    const wider = new DenseLayer(4, 3); // w: 12 values, b: 3
    const turned = new DenseLayer(3, 2); // w: 6 values, b: 2
    expect(() => dense.borrowParametersOf(conv)).toThrow(new ShapeError('a Dense layer cannot borrow the parameters of a different Conv2D layer (a wasmnet bug)'));
    expect(() => dense.borrowParametersOf(wider)).toThrow(new ShapeError('a Dense layer cannot borrow the parameters of a different Dense layer (a wasmnet bug)'));
    expect(() => dense.borrowParametersOf(turned)).toThrow(new ShapeError('a Dense layer cannot borrow the parameters of a different Dense layer (a wasmnet bug)'));
    for (const l of [dense, conv, wider, turned]) l.dispose();
  });
});
