// The gradient-check suite (ts/gradcheck-suite.ts) and `wasmnet gradcheck`: driven by the layer registry,
// it covers every kind, and it fails when a kind's backprop is wrong.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  Activation, AvgPool2DLayer, CrossEntropy, FlattenLayer, Identity, MeanSquaredError, ReLU, Rng, SequentialNet, Sigmoid, SoftMax, Tanh, Tensor,
  checkLayerKinds, checkNetwork, gradientCheck, gradientCheckSuite, layerKinds, wasmBytesInUse,
} from 'wasmnet';
import type { F32Array } from 'wasmnet/internal';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

describe('gradientCheckSuite', () => {
  it('passes, and checks every registered layer kind', () => {
    const rows = gradientCheckSuite();
    const failed = rows.filter((r) => !r.pass);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    for (const kind of Object.keys(layerKinds)) expect(rows.some((r) => r.group === kind), `no row for ${kind}`).toBe(true);
    // Every row compared real entries: nothing passes by skipping everything.
    for (const r of rows) expect(r.checked, `${r.group}: ${r.what}`).toBeGreaterThan(0);
    expect(rows.filter((r) => r.group === 'network').map((r) => r.what)).toHaveLength(4);
  });

  it('checks a kind that is registered later, and fails it when its backprop is wrong', () => {
    /** Average pooling whose input gradient is 10 % too large. */
    class WrongAvgPool extends AvgPool2DLayer {
      override backwardBuffer(delta: F32Array, wantInputGrad: boolean): F32Array | null {
        const da = super.backwardBuffer(delta, wantInputGrad);
        if (da) {
          const v = da.view();
          for (let i = 0; i < v.length; i++) v[i] *= 1.1;
        }
        return da;
      }
      static override gradcheckCases() {
        return [{ label: 'wrong on purpose', input: [2, 6, 6], smooth: true, build: () => new WrongAvgPool([2, 2]) }];
      }
    }
    const kinds = layerKinds as Record<string, unknown>;
    kinds.WrongAvgPool = WrongAvgPool;
    try {
      const rows = checkLayerKinds().filter((r) => r.group === 'WrongAvgPool');
      expect(rows).toHaveLength(1);
      expect(rows[0].pass).toBe(false);
      expect(rows[0].maxError).toBeGreaterThan(0.05);
    } finally {
      delete kinds.WrongAvgPool;
    }
  });
});

describe('wasmnet gradcheck', () => {
  it('prints the table and "N passed, 0 failed", exit code 0', async () => {
    const { stdout } = await run('node', [cli, 'gradcheck'], { maxBuffer: 1 << 22 });
    expect(stdout).toMatch(/max rel\. error/);
    expect(stdout).toMatch(/BatchNorm +\[c, h, w\], training/);
    expect(stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });

  it('--model checks a saved network in both modes; --json gives the rows', async () => {
    const net = new SequentialNet([1, 8, 8], { seed: 2 });
    net.addConv2D([3, 3, 3], { padding: 1, afun: new Identity() });
    net.addBatchNorm({ afun: new Tanh() });
    net.addFlatten();
    net.addDropout(0.2);
    net.addDense(4, { afun: new Tanh() });
    const file = join(mkdtempSync(join(tmpdir(), 'wasmnet-gradcheck-')), 'net.wnet');
    writeFileSync(file, net.save());
    net.dispose();
    const { stdout } = await run('node', [cli, 'gradcheck', '--model', file, '--json']);
    const result = JSON.parse(stdout);
    expect(result.failed).toBe(0);
    expect(result.rows.map((r: { what: string }) => r.what)).toEqual([`${file}, inference mode`, `${file}, training mode`]);
  });

  it('rejects a bad option with exit code 2', async () => {
    await expect(run('node', [cli, 'gradcheck', '--samples', 'many'])).rejects.toMatchObject({ code: 2 });
  });
});

/** The inputs' stream of the suite, as its module comment says: seeded by seed ^ 0x6a09e667, not gradientCheck's own. */
const suiteRng = (seed: number) => new Rng((seed ^ 0x6a09e667) >>> 0);
const normalT = (shape: number[], rng: Rng, scale = 1) =>
  new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);

describe('gradientCheckSuite: each row is gradientCheck on the inputs the suite documents', () => {
  it('the activations and losses: names, tolerances, and errors equal to gradientCheck\'s on the same inputs', () => {
    const rows = gradientCheckSuite({ seed: 3, samples: 20 }).filter((r) => r.group === 'activation' || r.group === 'loss');
    const activations: [Activation, number][] = [[new Identity(), 1e-3], [new ReLU(), 1e-2], [new Sigmoid(), 1e-3], [new Tanh(), 1e-3], [new SoftMax(), 1e-3]];
    const expected = activations.map(([a, tolerance]) => {
      const r = gradientCheck(a, normalT([4, 7], suiteRng(3), 2), undefined, { seed: 3, samples: 20 });
      a.dispose();
      return { group: 'activation', what: a.name as string, maxError: r.maxError, worst: 'input', tolerance, checked: 20 - r.tensors[0].skipped, skipped: r.tensors[0].skipped, pass: true };
    });
    const rng = suiteRng(3);
    const probabilities = new SoftMax().evaluate(normalT([4, 6], rng));
    const labels = Tensor.oneHot(Array.from({ length: 4 }, () => rng.int(6)), 6);
    const ce = gradientCheck(new CrossEntropy(), probabilities, labels, { seed: 3, samples: 20 });
    const [yhat, y] = [normalT([4, 6], rng), normalT([4, 6], rng)];
    const mse = gradientCheck(new MeanSquaredError(), yhat, y, { seed: 3, samples: 20 });
    for (const [name, r] of [['CrossEntropy', ce], ['MeanSquaredError', mse]] as const) {
      expected.push({ group: 'loss', what: name, maxError: r.maxError, worst: 'input', tolerance: 1e-3, checked: 20 - r.tensors[0].skipped, skipped: r.tensors[0].skipped, pass: true });
    }
    expect(rows).toEqual(expected);
    // The ReLU row really had no kinks to skip (random inputs), and every row compared something.
    for (const r of rows) expect(r.checked).toBeGreaterThan(0);
  });

  it('a registered kind\'s cases: its input shape and batch, its mode, its tolerance; the layer disposed after', () => {
    const seen: { label: string; training: boolean; x: Tensor }[] = [];
    const built: FlattenLayer[] = [];
    /** Flatten, recording what gradientCheck runs it on. */
    class Spy extends FlattenLayer {
      label = '';
      override evaluate(x: Tensor): Tensor {
        if (!seen.some((s) => s.label === this.label)) seen.push({ label: this.label, training: this.training, x: new Tensor(x.data.slice(), x.shape) });
        return super.evaluate(x);
      }
      static override gradcheckCases() {
        const make = (label: string) => () => {
          const l = new Spy();
          l.label = label;
          built.push(l);
          return l;
        };
        return [
          { label: 'defaults', input: [4], smooth: false, build: make('defaults') },
          { label: 'smooth, training, batch 2', input: [2, 3], batch: 2, training: true, smooth: true, build: make('smooth, training, batch 2') },
          { label: 'own tolerance', input: [5], smooth: true, tolerance: 0.5, build: make('own tolerance') },
        ];
      }
    }
    const kinds = layerKinds as Record<string, unknown>;
    kinds.Spy = Spy;
    try {
      const rows = checkLayerKinds({ seed: 9, samples: 5 }).filter((r) => r.group === 'Spy');
      expect(rows.map((r) => [r.what, r.tolerance, r.pass, r.worst, r.checked, r.skipped])).toEqual([
        ['defaults', 1e-2, true, 'input', 5, 0],
        ['smooth, training, batch 2', 1e-3, true, 'input', 5, 0],
        ['own tolerance', 0.5, true, 'input', 5, 0],
      ]);
      expect(seen.map((s) => [s.label, s.training, s.x.shape])).toEqual([
        ['defaults', false, [3, 4]],
        ['smooth, training, batch 2', true, [2, 2, 3]],
        ['own tolerance', false, [3, 5]],
      ]);
      // Each case's input is drawn afresh from the suite's stream.
      expect(Array.from(seen[0].x.data)).toEqual(Array.from(normalT([3, 4], suiteRng(9)).data));
      expect(Array.from(seen[1].x.data)).toEqual(Array.from(normalT([2, 2, 3], suiteRng(9)).data));
      expect(built.map((l) => l.isDisposed)).toEqual([true, true, true]);
    } finally {
      delete kinds.Spy;
    }
  });

  it('every registered kind\'s rows: the error, worst tensor and counts of gradientCheck on the case\'s own layer and input', () => {
    const rows = checkLayerKinds({ seed: 4, samples: 12 });
    const expected = Object.entries(layerKinds).flatMap(([kind, cls]) =>
      cls.gradcheckCases().map((c) => {
        const layer = c.build();
        layer.training = c.training ?? false;
        const r = gradientCheck(layer, normalT([c.batch ?? 3, ...c.input], suiteRng(4)), undefined, { seed: 4, samples: 12 });
        layer.dispose();
        const worst = r.tensors.find((t) => t.error === r.maxError)!.name;
        const sum = (k: 'checked' | 'skipped') => r.tensors.reduce((s, t) => s + t[k], 0);
        return [kind, c.label, r.maxError, worst, sum('checked'), sum('skipped')];
      }),
    );
    expect(rows.map((r) => [r.group, r.what, r.maxError, r.worst, r.checked, r.skipped])).toEqual(expected);
    // Some row's worst tensor is not its last (the input): the row names the largest, wherever it is.
    expect(rows.some((r) => r.worst !== 'input')).toBe(true);
  });

  it('checkNetwork: inference then training mode, labels one-hot for cross-entropy, the mode restored after', () => {
    const net = new SequentialNet([5], { seed: 4 });
    net.addDense(4, { afun: new Tanh() });
    net.addDropout(0.5);
    net.addDense(3, { afun: new SoftMax() });
    const rows = checkNetwork(net, 'a small one', 'model', { seed: 2, samples: 10 });
    expect(rows.map((r) => [r.group, r.what, r.tolerance, r.pass])).toEqual([
      ['model', 'a small one, inference mode', 1e-2, true],
      ['model', 'a small one, training mode', 1e-2, true],
    ]);
    expect(net.training).toBe(false);
    const rng = suiteRng(2);
    const x = normalT([4, 5], rng);
    const y = Tensor.oneHot(Array.from({ length: 4 }, () => rng.int(3)), 3);
    const expected = [false, true].map((on) => net.inMode(on, () => gradientCheck(net, x, y, { seed: 2, samples: 10 })));
    expect(rows.map((r) => r.maxError)).toEqual(expected.map((r) => r.maxError));
    // 10 of w's 20 entries, b's 4, 10 of 12, b's 3, 10 of the input's 20: 37 compared or skipped per row.
    expect(rows.map((r) => r.checked + r.skipped)).toEqual([37, 37]);
    // Dropout makes the two modes differ.
    expect(rows[0].maxError).not.toBe(rows[1].maxError);
    expect(checkNetwork(net, 'x').map((r) => r.group)).toEqual(['network', 'network']);
    net.dispose();
  });

  it('a network whose every gradient is 0 fails its rows (nothing checked), and names its first tensor: on a tie the first worst', () => {
    // A dead ReLU: z = w x − 1 < 0 for every input, so C does not move and backprop gives 0 for w, b and the input.
    const net = new SequentialNet([3], { seed: 1, loss: new MeanSquaredError() });
    net.addDense(2, { afun: new ReLU() });
    const [w, b] = net.parameters();
    w.value.set(new Float32Array(6));
    b.value.set(new Float32Array([-1, -1]));
    const rows = checkNetwork(net, 'dead', 'model', { seed: 1, samples: 4 });
    // 4 of w's 6 entries, b's 2, 4 of the input's 4 × 3, all skipped, every error 0: the worst named is the first tensor, not the input.
    expect(rows.map((r) => [r.maxError, r.checked, r.skipped, r.pass, r.worst])).toEqual([
      [0, 0, 4 + 2 + 4, false, 'layers.0.w'],
      [0, 0, 4 + 2 + 4, false, 'layers.0.w'],
    ]);
    net.dispose();
  });

  it('checkNetwork: targets drawn as normal values for mean squared error', () => {
    const net = new SequentialNet([3], { seed: 5 });
    net.addDense(2, { afun: new Tanh() });
    const rows = checkNetwork(net, 'mse');
    const rng = suiteRng(1);
    const x = normalT([4, 3], rng);
    const y = normalT([4, 2], rng);
    const direct = [false, true].map((on) => net.inMode(on, () => gradientCheck(net, x, y)));
    expect(rows.map((r) => r.maxError)).toEqual(direct.map((r) => r.maxError));
    // The worst tensor is the one with the largest error (w, b or the input: three to choose from).
    const worstOf = (r: (typeof direct)[0]) => r.tensors.find((t) => t.error === r.maxError)!.name;
    expect(rows.map((r) => r.worst)).toEqual(direct.map(worstOf));
    expect(direct.map((r) => r.tensors.length)).toEqual([3, 3]);
    net.dispose();
  });

  it('checks the course\'s CNN and the modern block, each in both modes, as their rows say', () => {
    gradientCheckSuite({ samples: 1 }); // the kernels' shared scratch memory, allocated once, is not the suite's
    const before = wasmBytesInUse();
    const rows = gradientCheckSuite({ samples: 8 }).filter((r) => r.group === 'network');
    expect(wasmBytesInUse(), 'the suite disposes what it built').toBe(before);
    expect(rows.map((r) => r.what)).toEqual([
      "the course's CNN (conv ReLU → max-pool → dense ReLU → dense SoftMax), inference mode",
      "the course's CNN (conv ReLU → max-pool → dense ReLU → dense SoftMax), training mode",
      "conv 'same' → batch norm → avg-pool → conv stride 2 → dropout → dense → batch norm → SoftMax, inference mode",
      "conv 'same' → batch norm → avg-pool → conv stride 2 → dropout → dense → batch norm → SoftMax, training mode",
    ]);
    const course = new SequentialNet([1, 10, 10], { seed: 3 });
    course.addConv2D([4, 3, 3], { afun: new ReLU() });
    course.addPool2D([2, 2]);
    course.addFlatten();
    course.addDense(8, { afun: new ReLU() });
    course.addDense(5, { afun: new SoftMax() });
    const modern = new SequentialNet([2, 9, 9], { seed: 4 });
    modern.addConv2D([4, 3, 3], { padding: 'same', afun: new Identity() });
    modern.addBatchNorm({ afun: new Tanh() });
    modern.addAvgPool2D([2, 2]);
    modern.addConv2D([3, 3, 3], { stride: 2, afun: new Tanh() });
    modern.addFlatten();
    modern.addDropout(0.25);
    modern.addDense(6, { afun: new Identity() });
    modern.addBatchNorm({ afun: new Tanh() });
    modern.addDense(4, { afun: new SoftMax() });
    const expected = [...checkNetwork(course, 'a', 'network', { samples: 8 }), ...checkNetwork(modern, 'b', 'network', { samples: 8 })];
    expect(rows.map((r) => [r.maxError, r.worst, r.checked, r.skipped, r.pass])).toEqual(expected.map((r) => [r.maxError, r.worst, r.checked, r.skipped, true]));
    course.dispose();
    modern.dispose();
  });
});

describe('a row passes only when its error is below the tolerance and something was compared', () => {
  /** Flatten whose function and reported gradient are the test's: `f` elementwise, backprop reporting `g`. */
  function kind(name: string, f: (v: number) => number, g: number, tolerance: number) {
    return class extends FlattenLayer {
      override evaluate(x: Tensor): Tensor {
        return new Tensor(Float32Array.from(x.data, f), [x.shape[0], x.size / x.shape[0]]);
      }
      override backprop(delta: Tensor): Tensor {
        return new Tensor(new Float32Array(delta.size).fill(g), [delta.shape[0], delta.size / delta.shape[0]]);
      }
      static override gradcheckCases() {
        return [{ label: name, input: [4], smooth: true, tolerance, build: () => new this() }];
      }
    };
  }

  it('an error of exactly 0 does not pass a tolerance of 0; everything skipped does not pass either', () => {
    const kinds = layerKinds as Record<string, unknown>;
    kinds.Zero = kind('zero', () => 0, 0, 0);
    kinds.Flat = kind('flat', () => 1000, 0, 1);
    try {
      const rows = checkLayerKinds().filter((r) => r.group === 'Zero' || r.group === 'Flat');
      expect(rows.map((r) => [r.what, r.maxError, r.checked, r.skipped, r.pass])).toEqual([
        ['zero', 0, 12, 0, false],
        ['flat', 0, 0, 12, false],
      ]);
    } finally {
      delete kinds.Zero;
      delete kinds.Flat;
    }
  });
});
