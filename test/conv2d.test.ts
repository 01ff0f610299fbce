// Conv2DLayer (crate/src/conv/, ts/layers/conv2d.ts) against test/reference/conv2d.ts.
import { describe, expect, it } from 'vitest';
import { Adam, Conv2DLayer, type Conv2DOptions, Identity, ReLU, Rng, SGD, SequentialNet, ShapeError, Tanh, Tensor, ValueError, gradientCheck, SoftMax } from 'wasmnet';
import { type ConvGeometry, conv2dBackward, conv2dBackwardPadded, conv2dForward, conv2dForwardPadded, convolve2dValid, paddedOutputSize } from './reference/conv2d.js';
import { expectClose, uniform, values } from './helpers/util.js';

// Sizes chosen to miss the SIMD width (4) and the GEMM tile (4×8), plus the course's MNIST layer.
const shapes = [
  { n: 1, c: 1, h: 5, w: 5, m: 1, fh: 3, fw: 3 },
  { n: 3, c: 2, h: 7, w: 6, m: 5, fh: 3, fw: 2 },
  { n: 2, c: 3, h: 9, w: 11, m: 7, fh: 4, fw: 5 },
  { n: 2, c: 1, h: 6, w: 4, m: 3, fh: 6, fw: 1 },
  { n: 4, c: 1, h: 28, w: 28, m: 32, fh: 3, fw: 3 },
  { n: 1, c: 9, h: 13, w: 10, m: 10, fh: 1, fw: 1 },
  // 5×5 on the direct filter gradient (blocks of 2 filters, a masked last vector), and LeNet-5's second layer.
  { n: 2, c: 2, h: 9, w: 14, m: 5, fh: 5, fw: 5 },
  { n: 2, c: 6, h: 14, w: 14, m: 16, fh: 5, fw: 5 },
];

describe('Conv2DLayer against the reference (exercise 1)', () => {
  it('is the true convolution of scipy.signal.convolve2d, not cross-correlation', () => {
    const conv = new Conv2DLayer([1, 3, 3], [1, 2, 2], { afun: new Identity() });
    conv.f = [1, 2, 3, 4];
    const out = conv.evaluate(new Tensor([1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 3, 3]));
    // convolve2d([[1,0,0],[0,0,0],[0,0,0]], [[1,2],[3,4]], 'valid') = [[4,0],[0,0]]: the flipped kernel meets the 1
    expect(Array.from(out.data)).toEqual([4, 0, 0, 0]);
    expectClose(out.data, convolve2dValid([1, 0, 0, 0, 0, 0, 0, 0, 0], 3, 3, [1, 2, 3, 4], 2, 2));
    conv.dispose();
  });

  for (const d of shapes) {
    it(`forward and backprop match for ${JSON.stringify(d)}`, () => {
      const rng = new Rng(d.n * 1000 + d.c * 100 + d.h);
      const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new Identity(), seed: 3 });
      conv.b = values(d.m, rng);
      const a = uniform([d.n, d.c, d.h, d.w], rng);
      const z = conv.evaluate(a);
      expect(z.shape).toEqual([d.n, d.m, d.h - d.fh + 1, d.w - d.fw + 1]);
      expectClose(z.data, conv2dForward(d, a.data, conv.f, conv.b), 1e-5, 'z');

      const delta = uniform(z.shape as number[], rng);
      const da = conv.backprop(delta);
      const ref = conv2dBackward(d, a.data, conv.f, delta.data);
      expectClose(conv.df, ref.df, 1e-5, 'df');
      expectClose(conv.db, ref.db, 1e-5, 'db');
      expectClose(da.data, ref.da, 1e-5, 'da');
      conv.dispose();
    });
  }

  it('overwrites df and db on each backprop instead of accumulating them', () => {
    const rng = new Rng(5);
    const conv = new Conv2DLayer([2, 6, 6], [3, 3, 3], { afun: new Identity(), seed: 1 });
    const a = uniform([2, 2, 6, 6], rng);
    const delta = uniform([2, 3, 4, 4], rng);
    conv.evaluate(a);
    conv.backprop(delta);
    const first = conv.df.slice();
    conv.backprop(delta);
    expect(Array.from(conv.df)).toEqual(Array.from(first));
    conv.dispose();
  });

  it('backwardFromDeltaZ overwrites the gradients unless asked to accumulate', () => {
    const rng = new Rng(6);
    const conv = new Conv2DLayer([2, 6, 6], [3, 3, 3], { afun: new Identity(), seed: 1 });
    conv.evaluate(uniform([2, 2, 6, 6], rng));
    conv.deltaZBuffer().view().set(uniform([2, 3, 4, 4], rng).data);
    conv.backwardFromDeltaZ(false);
    const df = conv.df.slice();
    const db = conv.db.slice();
    conv.backwardFromDeltaZ(false);
    expect(Array.from(conv.df)).toEqual(Array.from(df));
    conv.backwardFromDeltaZ(false, true);
    expect(Array.from(conv.db)).toEqual(Array.from(db.map((v) => Math.fround(v + v))));
    conv.dispose();
  });

  it('applies its activation after the bias', () => {
    const rng = new Rng(8);
    const d = { n: 2, c: 2, h: 5, w: 6, m: 3, fh: 2, fw: 3 };
    const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new ReLU(), seed: 2 });
    const a = uniform([d.n, d.c, d.h, d.w], rng);
    const ref = conv2dForward(d, a.data, conv.f, conv.b).map((x) => Math.max(x, 0));
    expectClose(conv.evaluate(a).data, ref, 1e-5);
    conv.dispose();
  });

  it('initializes f from RandnAverage scaled by afun.factor, and b with zeros', () => {
    const conv = new Conv2DLayer([4, 10, 10], [64, 3, 3], { afun: new ReLU(), seed: 9 });
    const f = conv.f;
    const variance = f.reduce((s, x) => s + x * x, 0) / f.length;
    const expected = 2 * (2 / (4 * 9 + 64 * 9)); // factor² · 2/(fan_in + fan_out)
    expect(variance / expected).toBeGreaterThan(0.9);
    expect(variance / expected).toBeLessThan(1.1);
    expect(Array.from(conv.b)).toEqual(new Array(64).fill(0));
    conv.dispose();
  });

  it('updates f and b with its optimizer', () => {
    const rng = new Rng(4);
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3], { afun: new Identity(), optim: new SGD(0.5), seed: 1 });
    conv.evaluate(uniform([2, 1, 5, 5], rng));
    conv.backprop(uniform([2, 2, 3, 3], rng));
    const expectF = Array.from(conv.f, (v, i) => v - 0.5 * conv.df[i]);
    const expectB = Array.from(conv.b, (v, i) => v - 0.5 * conv.db[i]);
    conv.update();
    expectClose(conv.f, expectF, 1e-7);
    expectClose(conv.b, expectB, 1e-7);
    conv.dispose();
  });
});

// Padding and stride as PyTorch defines them around the course's convolution (reference: pad, valid
// true convolution, keep every s-th output). `pad` is the [top, bottom, left, right] the option must give.
const geometries: { d: { n: number; c: number; h: number; w: number; m: number; fh: number; fw: number }; padding?: Conv2DOptions['padding']; stride?: Conv2DOptions['stride']; pad: [number, number, number, number] }[] = [
  { d: { n: 2, c: 3, h: 7, w: 9, m: 5, fh: 3, fw: 3 }, padding: 1, pad: [1, 1, 1, 1] },
  { d: { n: 2, c: 2, h: 5, w: 6, m: 3, fh: 2, fw: 3 }, padding: [2, 1], pad: [2, 2, 1, 1] },
  { d: { n: 1, c: 2, h: 3, w: 3, m: 2, fh: 5, fw: 5 }, padding: 2, pad: [2, 2, 2, 2] },
  { d: { n: 2, c: 2, h: 9, w: 7, m: 3, fh: 3, fw: 5 }, padding: 'same', pad: [1, 1, 2, 2] },
  { d: { n: 2, c: 3, h: 6, w: 7, m: 4, fh: 2, fw: 4 }, padding: 'same', pad: [0, 1, 1, 2] },
  { d: { n: 1, c: 1, h: 11, w: 10, m: 3, fh: 4, fw: 1 }, padding: 'same', pad: [1, 2, 0, 0] },
  { d: { n: 2, c: 1, h: 11, w: 11, m: 3, fh: 3, fw: 3 }, stride: 2, pad: [0, 0, 0, 0] },
  { d: { n: 2, c: 2, h: 11, w: 10, m: 3, fh: 3, fw: 3 }, stride: 3, pad: [0, 0, 0, 0] },
  { d: { n: 2, c: 3, h: 13, w: 9, m: 5, fh: 2, fw: 4 }, stride: [3, 2], padding: 'valid', pad: [0, 0, 0, 0] },
  { d: { n: 3, c: 3, h: 11, w: 9, m: 5, fh: 3, fw: 3 }, padding: [1, 2], stride: 2, pad: [1, 1, 2, 2] },
  { d: { n: 2, c: 4, h: 10, w: 13, m: 6, fh: 5, fw: 4 }, padding: 2, stride: [3, 2], pad: [2, 2, 2, 2] },
  { d: { n: 2, c: 5, h: 7, w: 7, m: 3, fh: 1, fw: 1 }, padding: 1, stride: 3, pad: [1, 1, 1, 1] },
  // LeNet-5's first layer: the direct 5×5 kernels on a padded copy of each image.
  { d: { n: 2, c: 1, h: 28, w: 28, m: 6, fh: 5, fw: 5 }, padding: 2, pad: [2, 2, 2, 2] },
  // 'same' on rows the forward kernel's blocks fit (12 = 8 + 4, 16 = 2·8): ∂C/∂A through that kernel with the filters
  // turned around (crate/src/conv/direct.rs, input_gradient), in groups of 4 input channels and 1 or 2 left over.
  { d: { n: 2, c: 5, h: 12, w: 12, m: 3, fh: 3, fw: 3 }, padding: 'same', pad: [1, 1, 1, 1] },
  { d: { n: 2, c: 6, h: 5, w: 16, m: 9, fh: 3, fw: 3 }, padding: 'same', pad: [1, 1, 1, 1] },
  // 5×5 over 6 channels (LeNet-5's second layer): the filter gradient through im2col + GEMM.
  { d: { n: 2, c: 6, h: 14, w: 14, m: 16, fh: 5, fw: 5 }, padding: 'valid', pad: [0, 0, 0, 0] },
];

describe('Conv2DLayer padding and stride against the reference (PyTorch semantics around the true convolution)', () => {
  for (const { d, padding, stride, pad } of geometries) {
    it(`forward, df, db and da match for ${JSON.stringify(d)}, padding ${JSON.stringify(padding)}, stride ${JSON.stringify(stride)}`, () => {
      const rng = new Rng(d.n * 1000 + d.h * 10 + d.fw);
      const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new Identity(), seed: 3, padding, stride });
      const g: ConvGeometry = { pad, stride: typeof stride === 'number' ? [stride, stride] : stride ?? [1, 1] };
      expect(conv.padding).toEqual(pad);
      expect(conv.stride).toEqual(g.stride);
      conv.b = values(d.m, rng);
      const a = uniform([d.n, d.c, d.h, d.w], rng);
      const z = conv.evaluate(a);
      const [zh, zw] = paddedOutputSize(d, g);
      expect(z.shape).toEqual([d.n, d.m, zh, zw]);
      if (padding === 'same') expect([zh, zw]).toEqual([d.h, d.w]);
      expectClose(z.data, conv2dForwardPadded(d, g, a.data, conv.f, conv.b), 1e-5, 'z');

      const delta = uniform(z.shape as number[], rng);
      const da = conv.backprop(delta);
      const ref = conv2dBackwardPadded(d, g, a.data, conv.f, delta.data);
      expectClose(conv.df, ref.df, 1e-5, 'df');
      expectClose(conv.db, ref.db, 1e-5, 'db');
      expectClose(da.data, ref.da, 1e-5, 'da');
      conv.dispose();
    });
  }

  it("'same' pads an even filter's extra row and column at the bottom and right, like PyTorch", () => {
    // 1-channel 3×3 input, 2×2 filter [[0,0],[0,1]]: the flipped kernel picks the window's top-left value,
    // so with padding [top 0, bottom 1, left 0, right 1] the output is the input itself.
    const conv = new Conv2DLayer([1, 3, 3], [1, 2, 2], { afun: new Identity(), padding: 'same' });
    conv.f = [0, 0, 0, 1];
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(Array.from(conv.evaluate(new Tensor(a, [1, 1, 3, 3])).data)).toEqual(a);
    conv.dispose();
  });

  it('the default options are padding 0 and stride 1, bit for bit', () => {
    const d = { n: 3, c: 2, h: 12, w: 11, m: 5, fh: 3, fw: 3 };
    const rng = new Rng(21);
    const a = uniform([d.n, d.c, d.h, d.w], rng);
    const delta = uniform([d.n, d.m, d.h - 2, d.w - 2], rng);
    const run = (options: Conv2DOptions) => {
      const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { seed: 4, ...options });
      const z = Array.from(conv.evaluate(a).data);
      const da = Array.from(conv.backprop(delta).data);
      const out = { z, da, df: Array.from(conv.df), db: Array.from(conv.db), padding: conv.padding, stride: conv.stride };
      conv.dispose();
      return out;
    };
    const plain = run({});
    expect(plain.padding).toEqual([0, 0, 0, 0]);
    expect(plain.stride).toEqual([1, 1]);
    expect(run({ padding: 0, stride: 1 })).toEqual(plain);
    expect(run({ padding: 'valid', stride: [1, 1] })).toEqual(plain);
    expect(run({ padding: [0, 0] })).toEqual(plain);
  });

  it('geometry() gives the options that rebuild the layer', () => {
    const rng = new Rng(30);
    for (const options of [{}, { padding: 'same' }, { padding: 3, stride: 2 }, { padding: [0, 2], stride: [1, 3] }] as Conv2DOptions[]) {
      const conv = new Conv2DLayer([2, 9, 8], [3, 4, 3], { seed: 5, ...options });
      const again = new Conv2DLayer([2, 9, 8], [3, 4, 3], { seed: 5, ...conv.geometry() });
      expect(again.padding).toEqual(conv.padding);
      expect(again.stride).toEqual(conv.stride);
      expect(again.geometry()).toEqual(conv.geometry());
      const a = uniform([2, 2, 9, 8], rng);
      expect(Array.from(again.evaluate(a).data)).toEqual(Array.from(conv.evaluate(a).data));
      conv.dispose();
      again.dispose();
    }
    const same = new Conv2DLayer([1, 6, 6], [1, 2, 2], { padding: 'same' });
    expect(same.geometry()).toEqual({ padding: 'same', stride: [1, 1] });
    same.dispose();
  });
});

describe('Conv2DLayer gradient check (central differences, ε = 1e-3, error relative to the largest gradient)', () => {
  // Smooth activations: the check is exact up to float32 rounding, so the bound is tight.
  for (const afun of [new Identity(), new Tanh()]) {
    it(`${afun.name}: f, b and input agree within 1e-3`, () => {
      const conv = new Conv2DLayer([2, 7, 6], [3, 3, 2], { afun, seed: 11 });
      const result = gradientCheck(conv, uniform([3, 2, 7, 6], new Rng(12)), undefined, { samples: 40 });
      for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
      conv.dispose();
    });
  }
  it('Tanh, padding [1, 2] and stride [2, 3]: f, b and input agree within 1e-3', () => {
    const conv = new Conv2DLayer([2, 9, 11], [3, 3, 4], { afun: new Tanh(), seed: 15, padding: [1, 2], stride: [2, 3] });
    const result = gradientCheck(conv, uniform([2, 2, 9, 11], new Rng(16)), undefined, { samples: 40 });
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
    conv.dispose();
  });
  it('Tanh, 5×5 filters on the direct filter gradient (blocks of 2 filters, 5 of them): f, b and input agree within 1e-3', () => {
    const conv = new Conv2DLayer([2, 9, 12], [5, 5, 5], { afun: new Tanh(), seed: 21 });
    const result = gradientCheck(conv, uniform([2, 2, 9, 12], new Rng(22)), undefined, { samples: 40 });
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
    conv.dispose();
  });
  it("Tanh, 'same' with an even filter: f, b and input agree within 1e-3", () => {
    const conv = new Conv2DLayer([2, 7, 6], [3, 2, 4], { afun: new Tanh(), seed: 17, padding: 'same' });
    const result = gradientCheck(conv, uniform([2, 2, 7, 6], new Rng(18)), undefined, { samples: 40 });
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
    conv.dispose();
  });
  it('ReLU, padding 1 and stride 2, random input: agrees within 1e-2', () => {
    const conv = new Conv2DLayer([2, 11, 10], [4, 3, 3], { afun: new ReLU(), seed: 19, padding: 1, stride: 2 });
    const result = gradientCheck(conv, uniform([2, 2, 11, 10], new Rng(20)));
    expect(result.maxError).toBeLessThan(1e-2);
    for (const t of result.tensors) expect(t.skipped, t.name).toBeLessThan(t.checked);
    conv.dispose();
  });
  it('ReLU: agrees within 1e-2 (a ReLU kink near a sample costs some accuracy)', () => {
    const conv = new Conv2DLayer([1, 8, 8], [4, 3, 3], { afun: new ReLU(), seed: 13 });
    const result = gradientCheck(conv, uniform([2, 1, 8, 8], new Rng(14)));
    expect(result.maxError).toBeLessThan(1e-2);
    for (const t of result.tensors) expect(t.skipped, t.name).toBeLessThan(t.checked);
    conv.dispose();
  });
});

describe('SequentialNet with padded and strided convolutions (gradient check, ε = 1e-3)', () => {
  it("'same' and strided Tanh convolutions → pool → dense: every tensor within 1e-3", () => {
    const net = new SequentialNet([2, 9, 8], { seed: 5 });
    net.addConv2D([3, 2, 3], { afun: new Tanh(), padding: 'same' });
    net.addConv2D([2, 3, 2], { afun: new Tanh(), padding: [1, 0], stride: [2, 1] });
    net.addPool2D([2, 3]);
    net.addFlatten();
    net.addDense(3, { afun: new SoftMax() });
    expect(net.layers[1].outputShape).toEqual([2, 5, 7]);
    const result = gradientCheck(net, uniform([3, 2, 9, 8], new Rng(6)), Tensor.oneHot([0, 2, 1], 3));
    for (const [name, err] of Object.entries(result.errors)) expect(err, name).toBeLessThan(1e-3);
    net.dispose();
  });
});

describe('Conv2DLayer arguments', () => {
  it("names what is wrong: 'same' with a stride, a filter larger than the (padded) input, the tensor, the options", () => {
    expect(() => new Conv2DLayer([1, 5, 5], [1, 3, 3], { padding: 'same', stride: 2 })).toThrow("Conv2D padding 'same' needs stride 1, got stride [2, 2]");
    expect(() => new Conv2DLayer([1, 2, 5], [1, 3, 3])).toThrow(/: a 3×3 filter does not fit the 2×5 input$/);
    expect(() => new Conv2DLayer([1, 2, 2], [1, 5, 5], { padding: 1 })).toThrow(/: a 5×5 filter does not fit the 2×2 input padded to 4×4$/);
    expect(() => new Conv2DLayer([1, 2, 5], [1, 3, 3], { padding: [0, 1] })).toThrow(/: a 3×3 filter does not fit the 2×5 input padded to 2×7$/);
    expect(() => new Conv2DLayer([1, 5] as never, [1, 3, 3])).toThrow(/^Conv2D tensor /);
    expect(() => new Conv2DLayer([1, 2 ** 16, 2 ** 14], [1, 3, 3])).toThrow(/^Conv2D tensor \[1, 65536, 16384\]: one sample needs /);
    const net = new SequentialNet([1, 6, 6], { seed: 1 });
    expect(() => net.addConv2D([2, 3, 3], 5 as never)).toThrow(/^addConv2D options /);
    net.dispose();
  });
  it("names its parameters f and b, in lists and in messages", () => {
    const layer = new Conv2DLayer([2, 4, 4], [3, 3, 3]);
    expect(layer.parameters().map((p) => p.name)).toEqual(['f', 'b']);
    expect(() => (layer.f = [1, 2])).toThrow('Conv2D.f must get 54 values, got 2');
    expect(() => (layer.b = [1])).toThrow('Conv2D.b must get 3 values, got 1');
    layer.dispose();
  });
  it('sets its biases through b', () => {
    const layer = new Conv2DLayer([1, 4, 4], [2, 3, 3]);
    layer.b = [0.5, -2];
    expect(Array.from(layer.b)).toEqual([0.5, -2]);
    layer.dispose();
  });
  it('rejects a filter larger than its input', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [2, 5, 3])).toThrow(ShapeError);
    expect(() => new Conv2DLayer([1, 4, 4], [2, 5, 3])).toThrow(/5×3 filter does not fit the 4×4 input/);
  });
  it('rejects shapes that are not positive integers', () => {
    expect(() => new Conv2DLayer([1, 4.5, 4] as never, [2, 3, 3])).toThrow(/Conv2D tensor must be/);
    expect(() => new Conv2DLayer([1, 4, 4], [0, 3, 3])).toThrow(/Conv2D fshape must be/);
  });
  it('rejects a filter larger than its padded input', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [2, 7, 3], { padding: 1 })).toThrow(ShapeError);
    expect(() => new Conv2DLayer([1, 4, 4], [2, 7, 3], { padding: 1 })).toThrow(/7×3 filter does not fit the 4×4 input padded to 6×6/);
    expect(() => new Conv2DLayer([1, 4, 4], [2, 7, 3], { padding: [2, 0], stride: 5 }).dispose()).not.toThrow();
  });
  it('rejects bad padding, naming the option', () => {
    for (const padding of [-1, 1.5, NaN, Infinity, [1], [1, -2], [1, 2, 3, 4], 'full', '1', null, {}] as unknown[]) {
      expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { padding } as Conv2DOptions), String(padding)).toThrow(ValueError);
    }
    expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { padding: -1 })).toThrow(
      "Conv2D padding must be a non-negative integer, [ph, pw], 'valid' or 'same', got -1",
    );
    expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { padding: 2 ** 40 })).toThrow(/Conv2D padding must be/);
  });
  it('rejects bad strides, naming the option', () => {
    for (const stride of [0, -1, 1.5, [1], [2, 0], [1, 1.5], 'same', null] as unknown[]) {
      expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { stride } as Conv2DOptions), String(stride)).toThrow(ValueError);
    }
    expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { stride: 0 })).toThrow('Conv2D stride must be a positive integer or [sh, sw], got 0');
  });
  it("rejects 'same' with a stride other than 1", () => {
    expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { padding: 'same', stride: 2 })).toThrow(ValueError);
    expect(() => new Conv2DLayer([1, 6, 6], [2, 3, 3], { padding: 'same', stride: [1, 2] })).toThrow("Conv2D padding 'same' needs stride 1, got stride [1, 2]");
  });
  it('rejects sizes whose scratch would overflow the 32-bit address space', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [1, 3, 3], { padding: [2 ** 30, 2 ** 30] })).toThrow(ShapeError);
    // A sample that fits (1.6 GB) whose im2col scratch (25 floats a position) does not.
    expect(() => new Conv2DLayer([1, 20000, 20000], [1, 5, 5])).toThrow(
      "Conv2D with input [1, 20000, 20000], filters [1, 5, 5], padding [0, 0, 0, 0] and stride [1, 1] is too large: its im2col scratch would not fit WebAssembly's 32-bit address space",
    );
  });
  it('names itself when its parameters and scratch would not fit the memory left', () => {
    // 9 floats a position, twice (forward and backward scratch): about 4.6 GB.
    expect(() => new Conv2DLayer([1, 8000, 8000], [1, 3, 3], { padding: 1 })).toThrow(
      /^Conv2D with input \[1, 8000, 8000\], filters \[1, 3, 3\], padding \[1, 1, 1, 1\] and stride \[1, 1\] needs 4\.\d+ GiB of WebAssembly memory/,
    );
    // 2²⁷ filters and as many biases, each with a gradient and Adam's two moments: 2²⁸ floats × 4 × 4 bytes = 4 GiB.
    expect(() => new Conv2DLayer([1, 1, 1], [2 ** 27, 1, 1], { optim: new Adam() })).toThrow(/ needs 4\.00 GiB of WebAssembly memory, but only /);
  });
  it('refuses to join a network whose output so far is not its input, naming both shapes', () => {
    const net = new SequentialNet([1, 6, 6], { seed: 1 });
    const conv = new Conv2DLayer([2, 6, 6], [3, 3, 3]);
    expect(() => net.add(conv)).toThrow('Conv2D expects input samples of shape [2, 6, 6], got [1, 6, 6]');
    expect(conv.inNetwork).toBe(false);
    conv.dispose();
    net.dispose();
  });
  it('addConv2D needs an image-shaped output so far', () => {
    const net = new SequentialNet([1, 6, 6], { seed: 1 });
    net.addFlatten();
    expect(() => net.addConv2D([2, 3, 3])).toThrow("addConv2D needs a [c, h, w] input, but the network's output so far has shape [36]");
    net.dispose();
  });
  it('rejects SoftMax as a convolution activation', () => {
    expect(() => new Conv2DLayer([1, 4, 4], [2, 3, 3], { afun: new SoftMax() })).toThrow(ValueError);
  });
  it('rejects input of the wrong shape', () => {
    const conv = new Conv2DLayer([1, 5, 5], [2, 3, 3]);
    expect(() => conv.evaluate(Tensor.zeros([2, 1, 5, 6]))).toThrow(/must have shape \[n, 1, 5, 5\], got \[2, 1, 5, 6\]/);
    conv.dispose();
  });
});

describe('Conv2DLayer in model files', () => {
  for (const padding of [[1, 0], [0, 2], 'same'] as const) {
    it(`keeps padding ${JSON.stringify(padding)} (one of its dimensions may be 0)`, async () => {
      const net = new SequentialNet([1, 6, 7], { seed: 3 });
      net.addConv2D([2, 3, 3], { padding: padding as Conv2DOptions['padding'] });
      const back = await SequentialNet.load(net.save());
      expect(back.layers[0].outputShape).toEqual(net.layers[0].outputShape);
      expect((back.layers[0] as Conv2DLayer).geometry()).toEqual((net.layers[0] as Conv2DLayer).geometry());
      const x = uniform([2, 1, 6, 7], new Rng(4));
      expect(Array.from(back.evaluate(x).data)).toEqual(Array.from(net.evaluate(x).data));
      net.dispose();
      back.dispose();
    });
  }
  it('keeps a stride that differs from 1 only across columns', async () => {
    const net = new SequentialNet([1, 6, 7], { seed: 3 });
    net.addConv2D([2, 3, 3], { stride: [1, 2] });
    const back = await SequentialNet.load(net.save());
    expect(back.layers[0].outputShape).toEqual([2, 4, 3]);
    expect((back.layers[0] as Conv2DLayer).stride).toEqual([1, 2]);
    const x = uniform([2, 1, 6, 7], new Rng(4));
    expect(Array.from(back.evaluate(x).data)).toEqual(Array.from(net.evaluate(x).data));
    net.dispose();
    back.dispose();
  });
});
