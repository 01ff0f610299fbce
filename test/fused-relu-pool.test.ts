// The network's fused backward pass of a ReLU layer followed by max pooling (Pool2DLayer.backwardThroughReLU):
// the same floats, bit for bit, as the pooling's backward pass followed by the ReLU's.
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, DenseLayer, ReLU, Rng, SequentialNet, SoftMax, Tanh, Tensor } from 'wasmnet';
import { uniform } from './helpers/util.js';

interface Case {
  name: string;
  input: [number, number, number];
  conv: [number, number, number];
  padding?: 'same';
  area: [number, number];
  stride?: [number, number];
}

const CASES: Case[] = [
  { name: 'the course: 3×3 conv, 2×2 tiling, cropped', input: [1, 9, 10], conv: [4, 3, 3], area: [2, 2] },
  { name: "'same' padding, 3×2 tiling", input: [2, 8, 9], conv: [3, 3, 3], padding: 'same', area: [3, 2] },
  { name: 'overlapping 3×3 windows, stride 2', input: [1, 11, 9], conv: [5, 2, 2], area: [3, 3], stride: [2, 2] },
  { name: 'stride larger than the window (gaps)', input: [1, 12, 12], conv: [2, 3, 3], area: [2, 2], stride: [3, 3] },
];

function build(c: Case, strict: boolean): SequentialNet {
  const net = new SequentialNet(c.input, { seed: 5 });
  net.addConv2D(c.conv, { afun: new ReLU(), ...(c.padding ? { padding: c.padding } : {}) });
  net.addPool2D(c.area, { strict, ...(c.stride ? { stride: c.stride } : {}) });
  net.addFlatten();
  net.addDense(6, { afun: new SoftMax() });
  return net;
}

/** Conv gradients and ∂C/∂x of one backward pass, fused (as the network runs it) or as two separate passes. */
function gradients(net: SequentialNet, x: Tensor, y: Tensor, fused: boolean) {
  const conv = net.layers[0] as Conv2DLayer;
  if (!fused) Object.defineProperty(conv, 'outputIsFusedReLU', { get: () => false, configurable: true });
  const { loss, inputGradient } = net.computeGradients(x, y);
  if (!fused) delete (conv as unknown as Record<string, unknown>).outputIsFusedReLU;
  return { loss, df: conv.df.slice(), db: conv.db.slice(), dx: inputGradient.data.slice(), dense: (net.layers[3] as DenseLayer).dw.slice() };
}

function oneHot(n: number, classes: number, seed: number): Tensor {
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) y[i * classes + ((i * 7 + seed) % classes)] = 1;
  return new Tensor(y, [n, classes]);
}

describe('ReLU + max pooling backward in one pass', () => {
  for (const c of CASES) {
    for (const strict of [false, true]) {
      it(`${c.name}${strict ? ', strict ties' : ''}: bit-identical to the two passes`, () => {
        const net = build(c, strict);
        const n = 5;
        // Integer levels make ties (and all-zero windows after the ReLU) common.
        const u = uniform([n, ...c.input], new Rng(11));
        const x = new Tensor(u.data.map((v) => Math.round(v * 3)), u.shape);
        const y = oneHot(n, 6, 3);
        const fused = gradients(net, x, y, true);
        const separate = gradients(net, x, y, false);
        expect(fused.loss).toBe(separate.loss);
        expect(Buffer.from(fused.df.buffer)).toEqual(Buffer.from(separate.df.buffer));
        expect(Buffer.from(fused.db.buffer)).toEqual(Buffer.from(separate.db.buffer));
        expect(Buffer.from(fused.dx.buffer)).toEqual(Buffer.from(separate.dx.buffer));
        expect(Buffer.from(fused.dense.buffer)).toEqual(Buffer.from(separate.dense.buffer));
        // The gate did something: some windows were not positive, and their gradient is gone.
        expect(fused.df.some((v) => v !== 0)).toBe(true);
        net.dispose();
      });
    }
  }

  it('takes the fused path only after a fused ReLU (a Tanh convolution keeps its own backward)', () => {
    const net = new SequentialNet([1, 8, 8], { seed: 2 });
    net.addConv2D([3, 3, 3], { afun: new Tanh() });
    net.addPool2D([2, 2]);
    net.addFlatten();
    net.addDense(4, { afun: new SoftMax() });
    expect((net.layers[0] as Conv2DLayer).outputIsFusedReLU).toBe(false);
    const relu = build(CASES[0], false);
    expect((relu.layers[0] as Conv2DLayer).outputIsFusedReLU).toBe(true);
    net.dispose();
    relu.dispose();
  });
});
