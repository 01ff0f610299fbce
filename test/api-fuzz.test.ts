// Property: no public entry point lets anything but a WasmnetError escape, whatever it is given
// (no TypeError from our own code, no RangeError, no raw WebAssembly trap).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  Adam, Conv2DLayer, CrossEntropy, DenseLayer, FlattenLayer, MeanSquaredError, Pool2DLayer, RandnAverage, ReLU, SGD, SequentialNet,
  SoftMax, Tanh, Tensor, WasmnetError, courseCnn, gradientCheck, parseNpy, parseNpz, prepareDigit, readIdx,
} from 'wasmnet';

/** Values a confused caller might pass: anything, plus near-misses of what the API wants. */
const smallInt = fc.oneof(fc.integer({ min: -3, max: 40 }), fc.constantFrom(0, 1, 2, 3, 28, NaN, Infinity, -Infinity, 2.5, 1e12, -0));
const shape = fc.array(smallInt, { maxLength: 5 });
const tensor = fc
  .array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((s) => fc.float32Array({ minLength: s.reduce((a, b) => a * b, 1), maxLength: s.reduce((a, b) => a * b, 1) }).map((d) => new Tensor(d, s)));
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.anything() },
  { weight: 2, arbitrary: smallInt },
  { weight: 2, arbitrary: shape },
  { weight: 3, arbitrary: tensor },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, {}, [], '', 'x', new Uint8Array(3), new ReLU(), new Adam(), () => 1) },
  { weight: 1, arbitrary: fc.record({ batchSize: smallInt, epochs: smallInt, afun: fc.constantFrom(new ReLU(), 'relu', null), strict: fc.anything(), seed: smallInt }, { requiredKeys: [] }) },
);

async function onlyWasmnetErrors(call: () => unknown): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof WasmnetError)) throw new Error(`escaped: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

const a = () => value as fc.Arbitrary<never>;

const entryPoints: [string, fc.Arbitrary<never[]>, (...args: never[]) => unknown][] = [
  ['new Tensor', fc.tuple(a(), a()), (d, s) => new Tensor(d, s)],
  ['Tensor.zeros', fc.tuple(a()), (s) => Tensor.zeros(s)],
  ['Tensor.oneHot', fc.tuple(a(), a()), (l, k) => Tensor.oneHot(l, k)],
  ['tensor.slice / reshape / argmax', fc.tuple(tensor as fc.Arbitrary<never>, a(), a()), (t: Tensor, s, e) => { t.slice(s, e); t.reshape(s); return t.argmax(); }],
  ['new Conv2DLayer', fc.tuple(a(), a(), a()), (t, f, o) => new Conv2DLayer(t, f, o).dispose()],
  ['new Pool2DLayer', fc.tuple(a(), a()), (t, o) => new Pool2DLayer(t, o).dispose()],
  ['new DenseLayer', fc.tuple(a(), a(), a()), (i, n, o) => new DenseLayer(i, n, o).dispose()],
  ['new SGD / Adam / RandnAverage', fc.tuple(a(), a()), (lr, o) => { new SGD(lr, o); new Adam(lr, o); new RandnAverage(o); }],
  ['new SequentialNet + add*', fc.tuple(a(), a(), a(), a()), (s, o, f, g) => {
    const net = new SequentialNet(s, o);
    try {
      net.addConv2D(f, g);
      net.addPool2D(f, g);
      net.addFlatten();
      net.addDense(f, g);
      net.add(f);
    } finally {
      net.dispose();
    }
  }],
  ['net.evaluate / measure / lossOn / computeGradients', fc.tuple(a(), a(), a()), (x, y, o) => {
    const net = new SequentialNet([2, 3, 3], { seed: 1 });
    net.addConv2D([2, 2, 2], { afun: new Tanh() });
    net.addFlatten();
    net.addDense(3, { afun: new SoftMax() });
    try {
      for (const call of [() => net.evaluate(x, o), () => net.measure(x, y, o), () => net.lossOn(x, y), () => net.computeGradients(x, y)]) {
        try {
          call();
        } catch (e) {
          if (!(e instanceof WasmnetError)) throw e;
        }
      }
    } finally {
      net.dispose();
    }
  }],
  ['net.train', fc.tuple(a(), a(), a()), async (x, y, o) => {
    const net = new SequentialNet([3], { seed: 1 });
    net.addDense(2, { afun: new SoftMax() });
    try {
      await net.train(x, y, o);
    } finally {
      net.dispose();
    }
  }],
  ['layer.evaluate / backprop / setters', fc.tuple(a(), a()), (x, d) => {
    const layers = [new Conv2DLayer([1, 4, 4], [2, 2, 2], { seed: 1 }), new Pool2DLayer([2, 2]), new FlattenLayer(), new DenseLayer(4, 3, { seed: 1 })];
    try {
      for (const l of layers) {
        try {
          l.evaluate(x);
          l.backprop(d);
        } catch (e) {
          if (!(e instanceof WasmnetError)) throw e;
        }
      }
      (layers[0] as Conv2DLayer).f = x;
    } finally {
      layers.forEach((l) => l.dispose());
    }
  }],
  ['activation and loss methods', fc.tuple(a(), a()), (x, y) => {
    const act = new SoftMax();
    try {
      act.evaluate(x);
      act.backprop(y);
    } finally {
      act.dispose();
    }
    new CrossEntropy().evaluate(x, y);
    new MeanSquaredError().gradient(x, y);
  }],
  ['gradientCheck', fc.tuple(a(), a(), a()), (x, y, o) => {
    const layer = new DenseLayer(2, 2, { seed: 1 });
    try {
      gradientCheck(layer, x, y, o);
      gradientCheck(x as never, y, undefined, o);
    } finally {
      layer.dispose();
    }
  }],
  ['parsers and load', fc.tuple(a(), a()), (b, n) => {
    for (const call of [() => readIdx(b, n), () => parseNpz(b, n), () => parseNpy(b, n), () => SequentialNet.load(b)]) {
      try {
        call();
      } catch (e) {
        if (!(e instanceof WasmnetError)) throw e;
      }
    }
  }],
  ['prepareDigit and courseCnn', fc.tuple(a(), a(), a()), (p, w, h) => {
    prepareDigit(p, w, h);
    courseCnn(p).dispose();
  }],
];

describe('public API under arbitrary arguments', () => {
  for (const [name, args, call] of entryPoints) {
    it(`${name} throws only WasmnetError`, async () => {
      await fc.assert(fc.asyncProperty(args, async (xs) => onlyWasmnetErrors(() => call(...xs))), { numRuns: 150, seed: 20261126 });
    });
  }
});
