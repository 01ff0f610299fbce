// The case tables each layer kind gives the gradient-check suite (`gradcheckCases()` in ts/layers/*.ts): which
// configurations `wasmnet gradcheck` checks, with which tolerance (`smooth`). The suite passes whatever the table
// holds, so a case that lost its activation, its padding or its `smooth: false` would go unseen there; this file
// pins the tables. Written for Stryker's survivors in dense.ts, flatten.ts, conv2d.ts and pool2d.ts (2026-12-01).
import { describe, expect, it } from 'vitest';
import { Conv2DLayer, DenseLayer, FlattenLayer, type GradcheckCase, Pool2DLayer } from 'wasmnet';

/** What a case checks: its fields, the spec of the layer it builds (without the optimizer) and that layer's input shape. */
function describeCases(cases: GradcheckCase[]) {
  return cases.map((c) => {
    const layer = c.build();
    const { optim: _optim, ...spec } = layer.toSpec() as unknown as Record<string, unknown>;
    const row = { label: c.label, input: c.input, smooth: c.smooth, batch: c.batch, training: c.training, tolerance: c.tolerance, spec, inputShape: layer.inputShape };
    layer.dispose();
    return row;
  });
}

/** Each case, built twice, gives the same seeded values (`values` reads the layer's weights or filters). */
function expectSeededBuilds(cases: GradcheckCase[], values: (layer: ReturnType<GradcheckCase['build']>) => Float32Array): void {
  for (const c of cases) {
    const [a, b] = [c.build(), c.build()];
    expect(Array.from(values(a))).toEqual(Array.from(values(b)));
    a.dispose();
    b.dispose();
  }
}

const plain = { batch: undefined, training: undefined, tolerance: undefined };

describe('gradcheckCases: the configurations each kind has checked', () => {
  it('Dense: Tanh, SoftMax and ReLU (a kink: not smooth) on 7 → 5', () => {
    expect(describeCases(DenseLayer.gradcheckCases())).toEqual([
      { label: 'Tanh', input: [7], smooth: true, ...plain, spec: { kind: 'Dense', outputSize: 5, afun: 'Tanh' }, inputShape: [7] },
      { label: 'SoftMax', input: [7], smooth: true, ...plain, spec: { kind: 'Dense', outputSize: 5, afun: 'SoftMax' }, inputShape: [7] },
      { label: 'ReLU', input: [7], smooth: false, ...plain, spec: { kind: 'Dense', outputSize: 5, afun: 'ReLU' }, inputShape: [7] },
    ]);
  });

  it('Dense: each case builds the same seeded weights every time', () => expectSeededBuilds(DenseLayer.gradcheckCases(), (l) => (l as DenseLayer).w));

  it('Flatten: [2, 3, 4] → [24], smooth', () => {
    expect(describeCases(FlattenLayer.gradcheckCases())).toEqual([
      { label: '[2, 3, 4] → [24]', input: [2, 3, 4], smooth: true, ...plain, spec: { kind: 'Flatten' }, inputShape: null },
    ]);
  });

  it('Conv2D: valid, fused ReLU (not smooth), padding, an even filter with \'same\', strides, each activation', () => {
    expect(describeCases(Conv2DLayer.gradcheckCases())).toEqual([
      { label: "valid, Tanh (the course's convolution)", input: [2, 7, 6], smooth: true, ...plain, spec: { kind: 'Conv2D', fshape: [3, 3, 3], afun: 'Tanh' }, inputShape: [2, 7, 6] },
      { label: 'valid, ReLU (fused)', input: [2, 7, 6], smooth: false, ...plain, spec: { kind: 'Conv2D', fshape: [3, 3, 3], afun: 'ReLU' }, inputShape: [2, 7, 6] },
      { label: 'padding 1, Sigmoid', input: [3, 6, 5], smooth: true, ...plain, spec: { kind: 'Conv2D', fshape: [2, 3, 3], afun: 'Sigmoid', padding: [1, 1] }, inputShape: [3, 6, 5] },
      { label: "'same' with an even 4×2 filter, Tanh", input: [2, 7, 6], smooth: true, ...plain, spec: { kind: 'Conv2D', fshape: [3, 4, 2], afun: 'Tanh', padding: 'same' }, inputShape: [2, 7, 6] },
      { label: 'stride 2 not dividing the input, Identity', input: [2, 11, 9], smooth: true, ...plain, spec: { kind: 'Conv2D', fshape: [3, 3, 3], afun: 'Identity', stride: [2, 2] }, inputShape: [2, 11, 9] },
      { label: 'padding [2, 1], stride [3, 2], Tanh', input: [2, 9, 8], smooth: true, ...plain, spec: { kind: 'Conv2D', fshape: [2, 3, 2], afun: 'Tanh', padding: [2, 1], stride: [3, 2] }, inputShape: [2, 9, 8] },
    ]);
  });

  it('Conv2D: each case builds the same seeded filters every time', () => expectSeededBuilds(Conv2DLayer.gradcheckCases(), (l) => (l as Conv2DLayer).f));

  it('Pool2D: both tie rules, tiling and overlapping windows, on [2, 7, 9] (maxima: not smooth)', () => {
    const pool = { input: [2, 7, 9], smooth: false, ...plain, inputShape: null };
    expect(describeCases(Pool2DLayer.gradcheckCases())).toEqual([
      { label: "2×2, strict = false (the course's)", ...pool, spec: { kind: 'Pool2D', area: [2, 2], strict: false } },
      { label: '2×2, strict = true', ...pool, spec: { kind: 'Pool2D', area: [2, 2], strict: true } },
      { label: '3×3 overlapping, stride 2', ...pool, spec: { kind: 'Pool2D', area: [3, 3], strict: false, stride: [2, 2] } },
      { label: '2×3, stride [3, 2], strict = true', ...pool, spec: { kind: 'Pool2D', area: [2, 3], strict: true, stride: [3, 2] } },
    ]);
  });
});
