// AvgPool2DLayer (ts/layers/avgpool2d.ts, kernels crate/src/avgpool.rs) against test/reference/avgpool2d.ts,
// its gradient check, and its place in a network (model files, options). Reference: PyTorch's AvgPool2d.
import { describe, expect, it } from 'vitest';
import { AvgPool2DLayer, Rng, SequentialNet, ShapeError, Tensor, ValueError, gradientCheck, wasmBytesInUse } from 'wasmnet';
import { avgPoolBackward, avgPoolForward } from './reference/avgpool2d.js';
import type { PoolDims } from './reference/pool2d.js';
import { expectClose } from './helpers/util.js';

/** The reference's pooling geometry, with the stride given. */
type Dims = Required<PoolDims>;

const shapes: Dims[] = [
  { n: 2, c: 3, h: 7, w: 9, ph: 2, pw: 2, sh: 2, sw: 2 }, // the common case, last row and column cropped
  { n: 1, c: 2, h: 10, w: 21, ph: 2, pw: 2, sh: 2, sw: 2 }, // SIMD body and scalar tail
  { n: 2, c: 32, h: 26, w: 26, ph: 2, pw: 2, sh: 2, sw: 2 }, // the course's MNIST layer size
  { n: 3, c: 2, h: 9, w: 11, ph: 3, pw: 3, sh: 2, sw: 2 }, // overlapping windows
  { n: 1, c: 3, h: 7, w: 9, ph: 2, pw: 3, sh: 3, sw: 2 }, // strides that do not divide the input
  { n: 2, c: 1, h: 11, w: 13, ph: 2, pw: 2, sh: 3, sw: 3 }, // stride larger than the window: gaps
  { n: 1, c: 5, h: 5, w: 3, ph: 5, pw: 1, sh: 1, sw: 1 },
  { n: 3, c: 1, h: 9, w: 10, ph: 3, pw: 4, sh: 3, sw: 4 },
];

function random(length: number, rng: Rng): Float32Array {
  return Float32Array.from({ length }, () => 2 * rng.uniform() - 1);
}

describe('AvgPool2DLayer against the reference', () => {
  for (const d of shapes) {
    it(`forward and backward match for ${JSON.stringify(d)}`, () => {
      const rng = new Rng(d.h * 31 + d.w * 7 + d.sh);
      const layer = new AvgPool2DLayer([d.ph, d.pw], { stride: [d.sh, d.sw] });
      const oh = Math.floor((d.h - d.ph) / d.sh) + 1;
      const ow = Math.floor((d.w - d.pw) / d.sw) + 1;
      const a = random(d.n * d.c * d.h * d.w, rng);
      const delta = random(d.n * d.c * oh * ow, rng);
      const out = layer.evaluate(new Tensor(a, [d.n, d.c, d.h, d.w]));
      expect(out.shape).toEqual([d.n, d.c, oh, ow]);
      expectClose(out.data, avgPoolForward(d, a), 1e-6, 'out');
      // every input gradient is written: zeros where no window reaches
      const da = layer.backprop(new Tensor(delta, out.shape));
      expectClose(da.data, avgPoolBackward(d, delta), 1e-6, 'da');
      layer.dispose();
    });
  }

  it('gives zero gradient to inputs no window reaches', () => {
    // a 1×6 row, windows of 2 moved by 3: inputs 2 and 5 lie in no window
    const layer = new AvgPool2DLayer([1, 2], { stride: [1, 3] });
    layer.evaluate(new Tensor(new Float32Array(6), [1, 1, 1, 6]));
    expect(Array.from(layer.backprop(new Tensor(Float32Array.of(4, 8), [1, 1, 1, 2])).data)).toEqual([2, 2, 0, 4, 4, 0]);
    layer.dispose();
  });

  it('gradient check < 1e-3, overlapping and strided windows', () => {
    for (const [area, stride] of [[[2, 2], [2, 2]], [[3, 3], [2, 2]], [[2, 3], [3, 1]]] as [[number, number], [number, number]][]) {
      const rng = new Rng(5);
      const layer = new AvgPool2DLayer(area, { stride });
      const x = new Tensor(random(2 * 3 * 7 * 8, rng), [2, 3, 7, 8]);
      const r = gradientCheck(layer, x);
      expect(r.maxError, `area ${area} stride ${stride}`).toBeLessThan(1e-3);
      layer.dispose();
    }
  });
});

describe('AvgPool2DLayer in a network', () => {
  it('addAvgPool2D builds it from the output so far, and a saved network loads with the same stride and outputs', () => {
    const net = new SequentialNet([2, 9, 9], { seed: 3 });
    net.addAvgPool2D([3, 3], { stride: 2 });
    net.addFlatten();
    net.addDense(4);
    expect(net.outputShape).toEqual([4]);
    const x = new Tensor(random(3 * 2 * 9 * 9, new Rng(1)), [3, 2, 9, 9]);
    const copy = SequentialNet.load(net.save());
    expect((copy.layers[0] as AvgPool2DLayer).stride).toEqual([2, 2]);
    expect(copy.evaluate(x).data).toEqual(net.evaluate(x).data);
    net.dispose();
    copy.dispose();
  });

  it('refuses bad options with errors naming them', () => {
    expect(() => new AvgPool2DLayer([2, 2], { stride: 0 })).toThrow(ValueError);
    expect(() => new AvgPool2DLayer([2, 2], { stride: 0 })).toThrow(/AvgPool2D stride/);
    expect(() => new AvgPool2DLayer([2, 2], { stirde: 2 } as never)).toThrow(/unknown option "stirde"/);
    expect(() => new AvgPool2DLayer([0, 2])).toThrow(/AvgPool2D area/);
  });
});

// Each of these was written for a Stryker survivor in ts/layers/avgpool2d.ts (docs/mutation/layers3-2026-12-01.md),
// applied by hand and seen failing.
describe('AvgPool2DLayer details', () => {
  it('names itself in every refusal, with the whole message', () => {
    expect(() => new AvgPool2DLayer([2, 2], { stirde: 2 } as never)).toThrow(/^AvgPool2D options: unknown option "stirde".* \(known: stride\)$/);
    expect(() => new AvgPool2DLayer([2, 2], 5 as never)).toThrow(new ValueError('AvgPool2D options must be an options object, got 5'));
    expect(() => new AvgPool2DLayer([0, 2])).toThrow(new ShapeError('AvgPool2D area must be the pooling area [ph, pw] (2 positive integers), got [0, 2]'));
    expect(() => new AvgPool2DLayer([2, 2], { stride: 0 })).toThrow(new ValueError('AvgPool2D stride must be a positive integer or [sh, sw], got 0'));
    const layer = new AvgPool2DLayer([2, 2]);
    expect(() => layer.evaluate(new Tensor(new Float32Array(8), [2, 4]))).toThrow(new ShapeError('AvgPool2D expects input samples of shape [c, h, w], got [4]'));
    layer.dispose();
  });

  it('keeps the area it was given, and strides of the area by default', () => {
    const layer = new AvgPool2DLayer([3, 2]);
    expect(layer.area).toEqual([3, 2]);
    expect(layer.stride).toEqual([3, 2]);
    layer.dispose();
  });

  it('toSpec gives its kind, area and stride, in arrays of its own', () => {
    const layer = new AvgPool2DLayer([3, 2], { stride: [1, 2] });
    const spec = layer.toSpec();
    expect(spec).toEqual({ kind: 'AvgPool2D', area: [3, 2], stride: [1, 2] });
    spec.area[0] = 9;
    spec.stride[0] = 9;
    expect(layer.area).toEqual([3, 2]);
    expect(layer.stride).toEqual([1, 2]);
    const back = AvgPool2DLayer.fromSpec({ kind: 'AvgPool2D', area: [3, 2], stride: [1, 2] }, null as never);
    expect([back.area, back.stride]).toEqual([[3, 2], [1, 2]]);
    for (const l of [layer, back]) l.dispose();
  });

  it('its gradient-check cases: three windows on [2, 7, 9] samples, smooth', () => {
    const cases = AvgPool2DLayer.gradcheckCases();
    expect(cases.map(({ label, input, smooth, batch, training, tolerance }) => ({ label, input, smooth, batch, training, tolerance }))).toEqual([
      { label: '2×2', input: [2, 7, 9], smooth: true, batch: undefined, training: undefined, tolerance: undefined },
      { label: '3×3 overlapping, stride 2', input: [2, 7, 9], smooth: true, batch: undefined, training: undefined, tolerance: undefined },
      { label: '2×3, stride [3, 1]', input: [2, 7, 9], smooth: true, batch: undefined, training: undefined, tolerance: undefined },
    ]);
    const built = cases.map((c) => c.build() as AvgPool2DLayer);
    expect(built.map((l) => [l.area, l.stride])).toEqual([
      [[2, 2], [2, 2]],
      [[3, 3], [2, 2]],
      [[2, 3], [3, 1]],
    ]);
    for (const l of built) l.dispose();
  });

  it('on its own, follows the shape of each input (another shape rebuilds it)', () => {
    const layer = new AvgPool2DLayer([2, 2]);
    expect(Array.from(layer.evaluate(new Tensor(Float32Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4])).data)).toEqual([2.5, 4.5, 10.5, 12.5]);
    const out = layer.evaluate(new Tensor(Float32Array.from({ length: 8 }, (_, i) => i), [1, 2, 2, 2]));
    expect(out.shape).toEqual([1, 2, 1, 1]);
    expect(Array.from(out.data)).toEqual([1.5, 5.5]);
    expect(layer.backprop(new Tensor(Float32Array.of(4, 8), [1, 2, 1, 1])).shape).toEqual([1, 2, 2, 2]);
    layer.dispose();
  });

  it('batch buffers: output and ∂C/∂input, 4 bytes a value', () => {
    const layer = new AvgPool2DLayer([2, 2]);
    layer.build([3, 6, 4]);
    expect(layer.batchBytes(5)).toBe(4 * 5 * (3 * 3 * 2 + 3 * 6 * 4));
    layer.dispose();
  });

  it('dispose frees the wasm memory its passes took', () => {
    const before = wasmBytesInUse();
    const layer = new AvgPool2DLayer([2, 2]);
    const out = layer.evaluate(new Tensor(new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]));
    layer.backprop(new Tensor(new Float32Array(out.size), out.shape));
    expect(wasmBytesInUse()).toBeGreaterThan(before);
    layer.dispose();
    expect(wasmBytesInUse()).toBe(before);
  });
});
