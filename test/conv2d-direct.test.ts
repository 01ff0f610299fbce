// The true convolution (exercise 1, scipy.signal.convolve2d), not cross-correlation, on a shape that takes the
// DIRECT kernels (crate/src/conv/direct.rs: no padding, stride 1, output rows of ≥ 4), which the course's network
// runs: forward, filter gradient and input gradient against loops written with the filter flipped by hand.
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, Identity, Rng, Tensor } from 'wasmnet';
import { expectClose, uniform } from './helpers/util.js';

// One input channel (the direct filter gradient's case, c < 8), two 3×3 filters with no symmetry at all.
const [n, c, h, w, m, fh, fw] = [2, 1, 8, 9, 2, 3, 3];
const [zh, zw] = [h - fh + 1, w - fw + 1]; // 6 × 7: zw ≥ 4, the direct path
// prettier-ignore
const filters = [
  1, 2, 3,
  4, 5, 6,
  7, 8, 10,

  -1, 0, 0.5,
  0, 0, 0,
  2, 0, -3,
];
// The same filters turned by 180°, written out by hand (row 3 reversed first, …), not computed.
// prettier-ignore
const flipped = [
  10, 8, 7,
  6, 5, 4,
  3, 2, 1,

  -3, 0, 2,
  0, 0, 0,
  0.5, 0, -1,
];

/** z[i,j,y,x] = Σ_{u,v} a[i,0,y+u,x+v] · flipped[j,u,v]: a cross-correlation with the hand-flipped filter is the true convolution. */
function forward(a: Float32Array): Float64Array {
  const z = new Float64Array(n * m * zh * zw);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++)
      for (let y = 0; y < zh; y++)
        for (let x = 0; x < zw; x++) {
          let s = 0;
          for (let u = 0; u < fh; u++) for (let v = 0; v < fw; v++) s += a[i * h * w + (y + u) * w + x + v] * flipped[j * 9 + u * 3 + v];
          z[((i * m + j) * zh + y) * zw + x] = s;
        }
  return z;
}

/** ∂C/∂f[j,u,v]: f[j,u,v] is flipped[j,2−u,2−v], which multiplies a[y+2−u, x+2−v]. */
function filterGradient(a: Float32Array, delta: Float32Array): Float64Array {
  const df = new Float64Array(m * 9);
  for (let j = 0; j < m; j++)
    for (let u = 0; u < fh; u++)
      for (let v = 0; v < fw; v++) {
        let s = 0;
        for (let i = 0; i < n; i++)
          for (let y = 0; y < zh; y++)
            for (let x = 0; x < zw; x++) s += delta[((i * m + j) * zh + y) * zw + x] * a[i * h * w + (y + 2 - u) * w + x + 2 - v];
        df[j * 9 + u * 3 + v] = s;
      }
  return df;
}

/** ∂C/∂a[i,0,p,q] = Σ_{j,y,x} delta[i,j,y,x] · flipped[j, p−y, q−x]. */
function inputGradient(delta: Float32Array): Float64Array {
  const da = new Float64Array(n * h * w);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++)
      for (let y = 0; y < zh; y++)
        for (let x = 0; x < zw; x++)
          for (let u = 0; u < fh; u++)
            for (let v = 0; v < fw; v++) da[i * h * w + (y + u) * w + x + v] += delta[((i * m + j) * zh + y) * zw + x] * flipped[j * 9 + u * 3 + v];
  return da;
}

describe('the direct convolution kernels compute the true convolution (input 1×8×9, 3×3 filters)', () => {
  const rng = new Rng(8);
  const a = uniform([n, c, h, w], rng);
  const delta = uniform([n, m, zh, zw], rng);

  it('the hand-flipped filters are the 180° turn of the filters', () => {
    for (let j = 0; j < m; j++) for (let t = 0; t < 9; t++) expect(flipped[j * 9 + t]).toBe(filters[j * 9 + 8 - t]);
  });

  it('forward, filter gradient and input gradient match the loops with the filter flipped by hand', () => {
    const conv = new Conv2DLayer([c, h, w], [m, fh, fw], { afun: new Identity() });
    conv.f = filters;
    conv.b = [0, 0];
    const z = conv.evaluate(a);
    expect(z.shape).toEqual([n, m, zh, zw]);
    expectClose(z.data, forward(a.data), 1e-6, 'z');
    const da = conv.backprop(new Tensor(delta.data, z.shape));
    expectClose(conv.df, filterGradient(a.data, delta.data), 1e-6, 'df');
    expectClose(da.data, inputGradient(delta.data), 1e-6, 'da');
    conv.dispose();
  });

  it('one input 1 meets the flipped filter: a unit impulse at (0, 0) gives the bottom-right tap first', () => {
    // convolve2d(e00, f, 'valid')[0][0] = f[2][2]: the flipped filter's top-left tap.
    const conv = new Conv2DLayer([1, h, w], [m, fh, fw], { afun: new Identity() });
    conv.f = filters;
    conv.b = [0, 0];
    const impulse = new Float32Array(h * w);
    impulse[0] = 1;
    const z = conv.evaluate(new Tensor(impulse, [1, 1, h, w]));
    expect(z.data[0]).toBe(10);
    expect(z.data[zh * zw]).toBe(-3);
    conv.dispose();
  });
});
