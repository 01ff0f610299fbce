// Pool2DLayer (crate/src/pool.rs, ts/layers/pool2d.ts) against test/reference/pool2d.ts.
import { describe, expect, it } from 'vitest';
import { Pool2DLayer, Rng, SequentialNet, ShapeError, Tensor, ValueError, gradientCheck, wasmBytesInUse } from 'wasmnet';
import { allocF32 } from 'wasmnet/internal';
import { maxPoolBackward, maxPoolForward } from './reference/pool2d.js';
import { expectClose, uniform } from './helpers/util.js';

const shapes = [
  { n: 1, c: 1, h: 4, w: 4, ph: 2, pw: 2 },
  { n: 2, c: 3, h: 7, w: 9, ph: 2, pw: 2 }, // odd sizes: last row and column cropped
  { n: 3, c: 2, h: 9, w: 10, ph: 3, pw: 4 },
  { n: 2, c: 32, h: 26, w: 26, ph: 2, pw: 2 }, // the course's MNIST layer
  { n: 1, c: 5, h: 5, w: 3, ph: 5, pw: 1 },
  { n: 2, c: 1, h: 3, w: 3, ph: 1, pw: 1 },
];

describe('Pool2DLayer against the reference (exercise 3)', () => {
  for (const d of shapes) {
    for (const strict of [false, true]) {
      it(`forward, mask and backprop match for ${JSON.stringify(d)}, strict = ${strict}`, () => {
        const rng = new Rng(d.h * 31 + d.w);
        const pool = new Pool2DLayer([d.ph, d.pw], { strict });
        const a = uniform([d.n, d.c, d.h, d.w], rng);
        const out = pool.evaluate(a);
        const ref = maxPoolForward(d, a.data);
        expect(out.shape).toEqual([d.n, d.c, Math.floor(d.h / d.ph), Math.floor(d.w / d.pw)]);
        expect(Array.from(out.data)).toEqual(Array.from(ref.out, Math.fround));
        expect(Array.from(pool.mask!)).toEqual(Array.from(ref.mask));
        expect(pool.shape).toEqual([d.n, d.c, d.h, d.w]);
        const delta = uniform(out.shape as number[], rng);
        expectClose(pool.backprop(delta).data, maxPoolBackward(d, a.data, delta.data, strict), 1e-7);
        pool.dispose();
      });
    }
  }
});

describe('pooling for inference (no winners recorded) against the reference', () => {
  for (const d of shapes) {
    it(`network evaluate for ${JSON.stringify(d)}`, () => {
      const net = new SequentialNet([d.c, d.h, d.w]);
      net.addPool2D([d.ph, d.pw]);
      const a = uniform([d.n, d.c, d.h, d.w], new Rng(d.c * 7 + d.w));
      expect(Array.from(net.evaluate(a).data)).toEqual(Array.from(maxPoolForward(d, a.data).out, Math.fround));
      net.dispose();
    });
  }
});

describe('Pool2DLayer ties (the definitions of strict, tested directly)', () => {
  // One 2×4 plane with two areas: [1,1;1,1] (four-way tie) and [0,3;3,2] (two-way tie).
  const a = new Tensor([1, 1, 0, 3, 1, 1, 3, 2], [1, 1, 2, 4]);
  const delta = new Tensor([8, 6], [1, 1, 1, 2]);

  it('strict = false hands every tied maximum the whole delta (the course default)', () => {
    const pool = new Pool2DLayer([2, 2]);
    expect(Array.from(pool.evaluate(a).data)).toEqual([1, 3]);
    expect(Array.from(pool.mask!)).toEqual([1, 1, 0, 1, 1, 1, 1, 0]);
    expect(Array.from(pool.backprop(delta).data)).toEqual([8, 8, 0, 6, 8, 8, 6, 0]);
    pool.dispose();
  });

  it('strict = true divides the delta by the number of maxima', () => {
    const pool = new Pool2DLayer([2, 2], { strict: true });
    pool.evaluate(a);
    expect(Array.from(pool.backprop(delta).data)).toEqual([2, 2, 0, 3, 2, 2, 3, 0]);
    pool.dispose();
  });

  it('strict = true matches finite differences for a uniform shift of a tied area', () => {
    // Shifting all four tied inputs by ε raises the maximum by ε: dC/dshift = delta = Σ of the strict shares.
    const pool = new Pool2DLayer([2, 2], { strict: true });
    pool.evaluate(a);
    const da = pool.backprop(delta).data;
    expect(da[0] + da[1] + da[4] + da[5]).toBe(8);
    pool.dispose();
  });
});

describe('Pool2DLayer gradient check (random inputs have no ties)', () => {
  for (const strict of [false, true]) {
    it(`input gradient within 1e-3, strict = ${strict}`, () => {
      const pool = new Pool2DLayer([2, 3], { strict });
      const result = gradientCheck(pool, uniform([2, 3, 7, 8], new Rng(3)), undefined, { samples: 60 });
      expect(result.errors.input).toBeLessThan(1e-3);
      pool.dispose();
    });
  }
});

// Windows moved by a stride other than their size (PyTorch's MaxPool2d without padding).
const strided = [
  { n: 2, c: 3, h: 9, w: 11, ph: 3, pw: 3, sh: 2, sw: 2 }, // overlapping windows
  { n: 1, c: 2, h: 7, w: 7, ph: 3, pw: 3, sh: 2, sw: 2 },
  { n: 2, c: 2, h: 10, w: 9, ph: 2, pw: 2, sh: 1, sw: 1 }, // 2×2 windows, stride 1
  { n: 3, c: 1, h: 7, w: 9, ph: 2, pw: 3, sh: 3, sw: 2 }, // strides that do not divide the input
  { n: 1, c: 3, h: 11, w: 13, ph: 2, pw: 2, sh: 3, sw: 3 }, // stride larger than the window: gaps
  { n: 2, c: 1, h: 5, w: 19, ph: 1, pw: 3, sh: 1, sw: 3 }, // explicit stride = area
];

/** Small integers make ties within and across overlapping windows common. */
function tiedInput(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, () => Math.floor(4 * rng.uniform())), shape);
}

describe('Pool2DLayer with a stride against the reference', () => {
  for (const d of strided) {
    for (const strict of [false, true]) {
      for (const ties of [false, true]) {
        it(`forward, mask and backprop match for ${JSON.stringify(d)}, strict = ${strict}, ${ties ? 'many ties' : 'random'}`, () => {
          const rng = new Rng(d.h * 31 + d.w + (ties ? 1 : 0));
          const pool = new Pool2DLayer([d.ph, d.pw], { strict, stride: [d.sh, d.sw] });
          const a = ties ? tiedInput([d.n, d.c, d.h, d.w], rng) : uniform([d.n, d.c, d.h, d.w], rng);
          const out = pool.evaluate(a);
          const ref = maxPoolForward(d, a.data);
          expect(out.shape).toEqual([d.n, d.c, Math.floor((d.h - d.ph) / d.sh) + 1, Math.floor((d.w - d.pw) / d.sw) + 1]);
          expect(Array.from(out.data)).toEqual(Array.from(ref.out, Math.fround));
          expect(Array.from(pool.mask!)).toEqual(Array.from(ref.mask));
          const delta = uniform(out.shape as number[], rng);
          expectClose(pool.backprop(delta).data, maxPoolBackward(d, a.data, delta.data, strict), 1e-6);
          pool.dispose();
        });
      }
    }
    it(`network evaluate (no winners recorded) matches for ${JSON.stringify(d)}`, () => {
      const net = new SequentialNet([d.c, d.h, d.w]);
      net.addPool2D([d.ph, d.pw], { stride: [d.sh, d.sw] });
      const a = uniform([d.n, d.c, d.h, d.w], new Rng(d.c * 7 + d.w));
      expect(Array.from(net.evaluate(a).data)).toEqual(Array.from(maxPoolForward(d, a.data).out, Math.fround));
      net.dispose();
    });
  }

  it('overlapping windows add their shares to a shared maximum (both tie rules, by hand)', () => {
    // One 1×5 row, windows of 3 moved by 2: [2, 5, 5] and [5, 5, 1] share the middle 5.
    const a = new Tensor([2, 5, 5, 5, 1], [1, 1, 1, 5]);
    const delta = new Tensor([6, 4], [1, 1, 1, 2]);
    for (const [strict, want] of [[false, [0, 6, 10, 4, 0]], [true, [0, 3, 5, 2, 0]]] as const) {
      const pool = new Pool2DLayer([1, 3], { strict, stride: [1, 2] });
      expect(Array.from(pool.evaluate(a).data)).toEqual([5, 5]);
      expect(Array.from(pool.mask!)).toEqual([0, 1, 1, 1, 0]);
      expect(Array.from(pool.backprop(delta).data)).toEqual(want);
      pool.dispose();
    }
  });

  for (const strict of [false, true]) {
    it(`input gradient of overlapping windows within 1e-2, strict = ${strict} (random input, no ties)`, () => {
      const pool = new Pool2DLayer([3, 3], { strict, stride: 2 });
      const result = gradientCheck(pool, uniform([2, 2, 9, 8], new Rng(5)), undefined, { samples: 60 });
      expect(result.errors.input).toBeLessThan(1e-2);
      pool.dispose();
    });
  }

  it('a saved network keeps its stride', () => {
    const net = new SequentialNet([1, 9, 9]);
    net.addPool2D([3, 3], { stride: [2, 1] });
    const copy = SequentialNet.load(net.save());
    expect((copy.layers[0] as Pool2DLayer).stride).toEqual([2, 1]);
    expect(copy.layers[0].outputShape).toEqual([1, 4, 7]);
    net.dispose();
    copy.dispose();
  });

  it('the default stride is the area, bit for bit', () => {
    const bits = (x: Float32Array | Uint8Array) => Array.from(new Uint32Array(Float32Array.from(x).buffer));
    for (const d of shapes) {
      for (const strict of [false, true]) {
        const rng = new Rng(d.w * 13 + d.h);
        const a = tiedInput([d.n, d.c, d.h, d.w], rng);
        const byDefault = new Pool2DLayer([d.ph, d.pw], { strict });
        const explicit = new Pool2DLayer([d.ph, d.pw], { strict, stride: [d.ph, d.pw] });
        expect(byDefault.stride).toEqual([d.ph, d.pw]);
        const out = byDefault.evaluate(a);
        expect(bits(explicit.evaluate(a).data)).toEqual(bits(out.data));
        expect(Array.from(explicit.mask!)).toEqual(Array.from(byDefault.mask!));
        const delta = uniform(out.shape as number[], rng);
        expect(bits(explicit.backprop(delta).data)).toEqual(bits(byDefault.backprop(delta).data));
        byDefault.dispose();
        explicit.dispose();
      }
    }
  });
});

describe('Pool2DLayer arguments', () => {
  it('rejects an area larger than its input', () => {
    const pool = new Pool2DLayer([3, 3]);
    expect(() => pool.evaluate(Tensor.zeros([1, 1, 2, 5]))).toThrow(ShapeError);
    expect(() => pool.evaluate(Tensor.zeros([1, 1, 2, 5]))).toThrow(/area \[3, 3\] is larger than its 2×5 input/);
    pool.dispose();
  });
  it('rejects a bad stride, naming the option', () => {
    for (const stride of [0, -1, 1.5, [2], [1, 0], [2, 2, 2], '2', 2 ** 31] as unknown[]) {
      expect(() => new Pool2DLayer([2, 2], { stride: stride as number })).toThrow(ValueError);
    }
    expect(() => new Pool2DLayer([2, 2], { stride: 0 })).toThrow('Pool2D stride must be a positive integer or [sh, sw], got 0');
    expect(() => new Pool2DLayer([2, 2], { stride: [1, 0] })).toThrow('Pool2D stride must be a positive integer or [sh, sw], got [1, 0]');
  });
  it('takes strides up to 2^31 − 1 (the kernels take 32-bit sizes), and strict only as a boolean', () => {
    const far = new Pool2DLayer([2, 2], { stride: 2 ** 31 - 1 });
    expect(far.stride).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
    far.dispose();
    for (const strict of ['yes', 1, null]) {
      expect(() => new Pool2DLayer([2, 2], { strict: strict as never }), String(strict)).toThrow(/^Pool2D strict must be true or false, got /);
    }
    expect(() => new Pool2DLayer([2, 2], { strde: 2 } as never)).toThrow(/Pool2D options/);
  });
  it('takes one number as the stride of both axes', () => {
    const pool = new Pool2DLayer([3, 2], { stride: 2 });
    expect(pool.stride).toEqual([2, 2]);
    expect(pool.evaluate(Tensor.zeros([1, 1, 8, 7])).shape).toEqual([1, 1, 3, 3]);
    pool.dispose();
  });
  it('rejects a non-positive area', () => {
    expect(() => new Pool2DLayer([0, 2])).toThrow(/Pool2D area must be/);
  });
  it('does nothing on update', () => {
    const pool = new Pool2DLayer([2, 2]);
    expect(pool.update()).toBeUndefined();
    expect(pool.parameters()).toEqual([]);
  });
});

describe('Pool2DLayer after an inference pass (no winners recorded): no mask, and its backward passes are refused', () => {
  const refused = new ShapeError('Pool2D backprop needs a forward pass that recorded the winners (the last one was inference)');
  const inferred = () => {
    const pool = new Pool2DLayer([2, 2]);
    pool.build([1, 2, 2]);
    const input = allocF32(4);
    input.set([1, 4, 2, 3]);
    pool.forwardBuffer(input, 1, false);
    return { pool, input };
  };

  it('mask is null after an inference pass, and its shape still says what it saw', () => {
    const { pool, input } = inferred();
    expect(pool.shape).toEqual([1, 1, 2, 2]);
    expect(pool.mask).toBeNull();
    pool.forwardBuffer(input, 1, true);
    expect(Array.from(pool.mask!)).toEqual([0, 1, 0, 0]);
    pool.dispose();
    input.free();
  });

  it('backwardBuffer, backwardThroughReLU and fusedBackwardState refuse, naming the inference pass', () => {
    const { pool, input } = inferred();
    const delta = allocF32(1);
    const dz = allocF32(4);
    expect(() => pool.backwardBuffer(delta, true)).toThrow(refused);
    expect(() => pool.backwardBuffer(delta, false)).toThrow(refused);
    expect(() => pool.backwardThroughReLU(delta, dz)).toThrow(refused);
    expect(() => pool.fusedBackwardState()).toThrow(refused);
    for (const b of [delta, dz, input]) b.free();
    pool.dispose();
  });

  it('after a recorded pass they run: the input gradient goes to the winner; none when not wanted', () => {
    const { pool, input } = inferred();
    pool.forwardBuffer(input, 1, true);
    const delta = allocF32(1);
    delta.set([5]);
    expect(Array.from(pool.backwardBuffer(delta, true)!.toArray())).toEqual([0, 5, 0, 0]);
    expect(pool.backwardBuffer(delta, false)).toBeNull();
    expect(pool.fusedBackwardState().input).toBe(input);
    for (const b of [delta, input]) b.free();
    pool.dispose();
  });
});

describe('Pool2DLayer: spec, buffers and shapes (Stryker survivors in pool2d.ts and window.ts)', () => {
  it('toSpec writes a stride that differs from the area in rows only', () => {
    const pool = new Pool2DLayer([2, 2], { stride: [3, 2] });
    expect(pool.toSpec()).toEqual({ kind: 'Pool2D', area: [2, 2], strict: false, stride: [3, 2] });
    pool.dispose();
  });

  it('reading the mask leaves no wasm memory behind', () => {
    const pool = new Pool2DLayer([2, 2]);
    pool.evaluate(new Tensor([1, 4, 2, 3], [1, 1, 2, 2]));
    const before = wasmBytesInUse();
    expect(Array.from(pool.mask!)).toEqual([0, 1, 0, 0]);
    expect(wasmBytesInUse()).toBe(before);
    pool.dispose();
  });

  it('batch buffers: the pooled output and the input gradient, 4 bytes a value', () => {
    const pool = new Pool2DLayer([2, 2]);
    pool.build([1, 4, 4]);
    expect(pool.batchBytes(3)).toBe(3 * (4 * 4 + 4 * 16));
    pool.dispose();
  });

  it('refuses an area wider than its input (the height fits)', () => {
    const pool = new Pool2DLayer([2, 3]);
    expect(() => pool.evaluate(Tensor.zeros([1, 1, 4, 2]))).toThrow(new ShapeError('Pool2D area [2, 3] is larger than its 4×2 input'));
    pool.dispose();
  });
});
