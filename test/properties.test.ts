// Properties: every kernel agrees with its float64 reference on random shapes and values,
// including denormals, large magnitudes and (for pooling) ties. Seeds are fixed: failures reproduce.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Adam, Conv2DLayer, DenseLayer, Identity, Pool2DLayer, ReLU, SGD, Sigmoid, SoftMax, Tanh, Tensor } from 'wasmnet';
import { activationBackward, activationForward } from './reference/activations.js';
import { conv2dBackward, conv2dForward } from './reference/conv2d.js';
import { denseBackward, denseForward } from './reference/dense.js';
import { adamSteps, sgdSteps } from './reference/optimizers.js';
import { maxPoolBackward, maxPoolForward } from './reference/pool2d.js';
import { expectClose } from './helpers/util.js';

const runs = { numRuns: 60, seed: 5 };

/** float32 values: ordinary, denormal, tiny, large, and exact zeros. */
const f32 = fc.oneof(
  { weight: 6, arbitrary: fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.constantFrom(1e-40, -3e-42, 1e-38, 0, -0) },
  { weight: 1, arbitrary: fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }) },
);
const values = (n: number) => fc.array(f32, { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

describe('conv2d matches the reference', () => {
  const dims = fc
    .record({ n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 1, max: 5 }), fh: fc.integer({ min: 1, max: 4 }), fw: fc.integer({ min: 1, max: 4 }) })
    .chain((d) => fc.record({ h: fc.integer({ min: d.fh, max: d.fh + 6 }), w: fc.integer({ min: d.fw, max: d.fw + 6 }) }).map((hw) => ({ ...d, ...hw })));
  it('forward and backward, any shape and values', () => {
    fc.assert(
      fc.property(
        dims.chain((d) => fc.tuple(fc.constant(d), values(d.n * d.c * d.h * d.w), values(d.m * d.c * d.fh * d.fw), values(d.n * d.m * (d.h - d.fh + 1) * (d.w - d.fw + 1)))),
        ([d, a, f, delta]) => {
          const conv = new Conv2DLayer([d.c, d.h, d.w], [d.m, d.fh, d.fw], { afun: new Identity() });
          try {
            conv.f = f;
            const z = conv.evaluate(new Tensor(a, [d.n, d.c, d.h, d.w]));
            expectClose(z.data, conv2dForward(d, a, f, conv.b), 1e-5, 'z');
            const da = conv.backprop(new Tensor(delta, z.shape));
            const ref = conv2dBackward(d, a, f, delta);
            expectClose(conv.df, ref.df, 1e-5, 'df');
            expectClose(conv.db, ref.db, 1e-5, 'db');
            expectClose(da.data, ref.da, 1e-5, 'da');
          } finally {
            conv.dispose();
          }
        },
      ),
      runs,
    );
  });
});

describe('max pooling matches the reference, ties and any stride included', () => {
  it('forward, mask and backward for both strict values', () => {
    const dims = fc.record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }) })
      .chain((d) => fc.record({ ph: fc.integer({ min: 1, max: d.h }), pw: fc.integer({ min: 1, max: d.w }), sh: fc.integer({ min: 1, max: 4 }), sw: fc.integer({ min: 1, max: 4 }), strict: fc.boolean() }).map((p) => ({ ...d, ...p })));
    // Few distinct values make ties common.
    const tied = (n: number) => fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 1e-40), f32), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));
    fc.assert(
      fc.property(dims.chain((d) => fc.tuple(fc.constant(d), tied(d.n * d.c * d.h * d.w), values(d.n * d.c * (Math.floor((d.h - d.ph) / d.sh) + 1) * (Math.floor((d.w - d.pw) / d.sw) + 1)))), ([d, a, delta]) => {
        const pool = new Pool2DLayer([d.ph, d.pw], { strict: d.strict, stride: [d.sh, d.sw] });
        try {
          const out = pool.evaluate(new Tensor(a, [d.n, d.c, d.h, d.w]));
          const ref = maxPoolForward(d, a);
          // Ties between +0 and −0 may keep either zero: compare values, not signs of zero.
          expect(Array.from(out.data, (v) => v + 0)).toEqual(Array.from(ref.out, (v) => v + 0));
          expect(Array.from(pool.mask!)).toEqual(Array.from(ref.mask));
          expectClose(pool.backprop(new Tensor(delta, out.shape)).data, maxPoolBackward(d, a, delta, d.strict), 1e-7, 'da');
        } finally {
          pool.dispose();
        }
      }),
      runs,
    );
  });
});

describe('dense (GEMM) matches the reference', () => {
  it('forward and backward, any size', () => {
    const dims = fc.record({ n: fc.integer({ min: 1, max: 40 }), nin: fc.integer({ min: 1, max: 70 }), nout: fc.integer({ min: 1, max: 40 }) });
    fc.assert(
      fc.property(dims.chain((d) => fc.tuple(fc.constant(d), values(d.n * d.nin), values(d.nin * d.nout), values(d.nout), values(d.n * d.nout))), ([d, a, w, b, delta]) => {
        const dense = new DenseLayer(d.nin, d.nout, { afun: new Identity() });
        try {
          dense.w = w;
          dense.b = b;
          const z = dense.evaluate(new Tensor(a, [d.n, d.nin]));
          expectClose(z.data, denseForward(a, w, b, d.n, d.nin, d.nout), 1e-5, 'z');
          const da = dense.backprop(new Tensor(delta, [d.n, d.nout]));
          const ref = denseBackward(a, w, delta, d.n, d.nin, d.nout);
          expectClose(dense.dw, ref.dw, 1e-5, 'dw');
          expectClose(dense.db, ref.db, 1e-5, 'db');
          expectClose(da.data, ref.da, 1e-5, 'da');
        } finally {
          dense.dispose();
        }
      }),
      runs,
    );
  });
});

describe('activations match the reference, saturation included', () => {
  for (const make of [() => new ReLU(), () => new Sigmoid(), () => new Tanh(), () => new SoftMax(), () => new Identity()]) {
    const act = make();
    it(act.name, () => {
      const wide = fc.oneof(f32, fc.float({ min: -100, max: 100, noNaN: true }));
      const shape = fc.record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 13 }) });
      fc.assert(
        fc.property(shape.chain((s) => fc.tuple(fc.constant(s), fc.array(wide, { minLength: s.rows * s.cols, maxLength: s.rows * s.cols }), values(s.rows * s.cols))), ([s, z, delta]) => {
          const zt = new Tensor(Float32Array.from(z), [s.rows, s.cols]);
          const a = act.evaluate(zt);
          expect(a.data.every(Number.isFinite)).toBe(true);
          expectClose(a.data, activationForward(act.name, zt.data, s.cols), 1e-6, 'φ(z)');
          // 1e-4: φ' comes from a = φ(z) in float32, and 1 − a² (Tanh) or a(1 − a) (Sigmoid) cancel digits near saturation.
          expectClose(act.backprop(new Tensor(delta, zt.shape)).data, activationBackward(act.name, zt.data, delta, s.cols), 1e-4, "φ'(z)⊙δ");
        }),
        runs,
      );
      act.dispose();
    });
  }
});

describe('optimizers match the reference', () => {
  it('SGD (with and without momentum) and Adam over several steps', () => {
    const setup = fc.record({ nin: fc.integer({ min: 1, max: 9 }), nout: fc.integer({ min: 1, max: 9 }), steps: fc.integer({ min: 1, max: 5 }), momentum: fc.constantFrom(0, 0.5, 0.9) });
    fc.assert(
      fc.property(setup.chain((s) => fc.tuple(fc.constant(s), fc.array(values(s.nin * s.nout), { minLength: s.steps, maxLength: s.steps }))), ([s, grads]) => {
        for (const [optim, ref] of [
          [new SGD(0.01, { momentum: s.momentum }), (w0: Float32Array) => sgdSteps(w0, grads, 0.01, s.momentum)],
          [new Adam(0.01), (w0: Float32Array) => adamSteps(w0, grads, 0.01)],
        ] as const) {
          const dense = new DenseLayer(s.nin, s.nout, { afun: new Identity(), optim, seed: 1 });
          try {
            const w0 = dense.w.slice();
            for (const g of grads) {
              dense.evaluate(Tensor.zeros([1, s.nin]));
              dense.backprop(Tensor.zeros([1, s.nout]));
              dense.dw.set(g);
              dense.update();
            }
            expectClose(dense.w, ref(w0), 1e-5, optim.constructor.name);
          } finally {
            dense.dispose();
          }
        }
      }),
      runs,
    );
  });
});
