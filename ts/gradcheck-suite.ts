/**
 * The gradient-check suite (`wasmnet gradcheck`): `gradientCheck` over every
 * registered layer kind in every configuration it lists (`gradcheckCases`),
 * every activation and loss on its own, and whole networks in both modes.
 * It is driven by the registry: a new layer kind is checked by being
 * registered. Inputs are random (no pooling ties, no ReLU exactly at 0).
 */
import { Activation, Identity, ReLU, Sigmoid, SoftMax, Tanh } from './activations.js';
import { Rng } from './core/rng.js';
import { Tensor, product } from './core/tensor.js';
import { gradientCheck, type GradientCheckResult } from './gradcheck.js';
import { CrossEntropy, type Loss, MeanSquaredError } from './losses.js';
import type { Layer } from './layers/layer.js';
import { layerKinds } from './layers/registry.js';
import { SequentialNet } from './network.js';

/**
 * Tolerances on gradientCheck's relative error (see `gradcheck.ts`): float32
 * with ε = 1e-3. A whole network's loss runs through several float32 layers
 * (and batch norm's batch statistics), so networks are held to 1e-2; a wrong
 * formula gives errors near 1 either way.
 */
export const GRADCHECK_TOLERANCE = {
  /** A layer, activation or loss without kinks. */
  smooth: 1e-3,
  /** With kinks (ReLU, max pooling). */
  kinked: 1e-2,
  /** A whole network. */
  network: 1e-2,
} as const;

/** One row of the suite: one configuration checked. */
export interface GradcheckRow {
  /** The group: a layer kind, "activation", "loss", "network" or "model". */
  group: string;
  /** The configuration checked. */
  what: string;
  /** The largest relative error over the tensors checked. */
  maxError: number;
  /** The tensor with that error. */
  worst: string;
  /** The largest error that passes. */
  tolerance: number;
  /** Entries compared, and entries skipped at a kink. */
  checked: number;
  /** Entries skipped at a kink. */
  skipped: number;
  /** Whether `maxError < tolerance` and something was checked. */
  pass: boolean;
}

/** Options of `gradientCheckSuite` and its parts. */
export interface GradcheckSuiteOptions {
  /** Seed for the inputs and the checked entries (default 1). */
  seed?: number;
  /** Entries checked per tensor (default 30). */
  samples?: number;
}

function row(group: string, what: string, result: GradientCheckResult, tolerance: number): GradcheckRow {
  const worst = result.tensors.reduce((a, b) => (b.error > a.error ? b : a), result.tensors[0]);
  const checked = result.tensors.reduce((s, t) => s + t.checked, 0);
  const skipped = result.tensors.reduce((s, t) => s + t.skipped, 0);
  // Every entry skipped at a kink would be a check of nothing: that fails too.
  const pass = result.maxError < tolerance && checked > 0;
  return { group, what, maxError: result.maxError, worst: worst?.name ?? '', tolerance, checked, skipped, pass };
}

/** The inputs' stream: not gradientCheck's own (seeded by `seed` too), or the weights r would equal the inputs. */
function inputRng(seed: number): Rng {
  return new Rng((seed ^ 0x6a09e667) >>> 0);
}

function normal(shape: number[], rng: Rng, scale = 1): Tensor {
  return new Tensor(Float32Array.from({ length: product(shape) }, () => scale * rng.normal()), shape);
}

function oneHot(n: number, classes: number, rng: Rng): Tensor {
  return Tensor.oneHot(Array.from({ length: n }, () => rng.int(classes)), classes);
}

/** Every registered layer kind, in every configuration its `gradcheckCases` lists. */
export function checkLayerKinds(options: GradcheckSuiteOptions = {}): GradcheckRow[] {
  const { seed = 1, samples = 30 } = options;
  const rows: GradcheckRow[] = [];
  for (const [kind, cls] of Object.entries(layerKinds)) {
    for (const c of cls.gradcheckCases()) {
      const rng = inputRng(seed);
      const layer: Layer = c.build();
      try {
        layer.training = c.training ?? false;
        const x = normal([c.batch ?? 3, ...c.input], rng);
        const result = gradientCheck(layer, x, undefined, { seed, samples });
        rows.push(row(kind, c.label, result, c.tolerance ?? (c.smooth ? GRADCHECK_TOLERANCE.smooth : GRADCHECK_TOLERANCE.kinked)));
      } finally {
        layer.dispose();
      }
    }
  }
  return rows;
}

/** Each activation and each loss on its own. */
export function checkActivationsAndLosses(options: GradcheckSuiteOptions = {}): GradcheckRow[] {
  const { seed = 1, samples = 30 } = options;
  const rows: GradcheckRow[] = [];
  const activations: [Activation, boolean][] = [[new Identity(), true], [new ReLU(), false], [new Sigmoid(), true], [new Tanh(), true], [new SoftMax(), true]];
  for (const [a, smooth] of activations) {
    const result = gradientCheck(a, normal([4, 7], inputRng(seed), 2), undefined, { seed, samples });
    rows.push(row('activation', a.name, result, smooth ? GRADCHECK_TOLERANCE.smooth : GRADCHECK_TOLERANCE.kinked));
    a.dispose();
  }
  const rng = inputRng(seed);
  const softmax = new SoftMax();
  const probabilities = softmax.evaluate(normal([4, 6], rng));
  softmax.dispose();
  const losses: [Loss, Tensor, Tensor][] = [
    [new CrossEntropy(), probabilities, oneHot(4, 6, rng)],
    [new MeanSquaredError(), normal([4, 6], rng), normal([4, 6], rng)],
  ];
  for (const [loss, yhat, y] of losses) {
    rows.push(row('loss', loss.name, gradientCheck(loss, yhat, y, { seed, samples }), GRADCHECK_TOLERANCE.smooth));
    loss.dispose();
  }
  return rows;
}

/** A network: its loss on random inputs and labels, with every layer in inference mode, then in training mode. */
export function checkNetwork(net: SequentialNet, what: string, group = 'network', options: GradcheckSuiteOptions = {}): GradcheckRow[] {
  const { seed = 1, samples = 30 } = options;
  const rng = inputRng(seed);
  const n = 4;
  const x = normal([n, ...net.inputShape], rng);
  const out = net.outputShape;
  const y = net.loss instanceof CrossEntropy && out.length === 1 ? oneHot(n, out[0], rng) : normal([n, ...out], rng);
  const tolerance = GRADCHECK_TOLERANCE.network;
  return [false, true].map((training) =>
    net.inMode(training, () => row(group, `${what}, ${training ? 'training' : 'inference'} mode`, gradientCheck(net, x, y, { seed, samples }), tolerance)),
  );
}

/** Small networks that put the kinds together: the course's shape, and a modern block with batch norm and dropout. */
export function checkNetworks(options: GradcheckSuiteOptions = {}): GradcheckRow[] {
  const rows: GradcheckRow[] = [];
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
  try {
    rows.push(...checkNetwork(course, "the course's CNN (conv ReLU → max-pool → dense ReLU → dense SoftMax)", 'network', options));
    rows.push(...checkNetwork(modern, "conv 'same' → batch norm → avg-pool → conv stride 2 → dropout → dense → batch norm → SoftMax", 'network', options));
  } finally {
    course.dispose();
    modern.dispose();
  }
  return rows;
}

/** The whole suite. */
export function gradientCheckSuite(options: GradcheckSuiteOptions = {}): GradcheckRow[] {
  return [...checkLayerKinds(options), ...checkActivationsAndLosses(options), ...checkNetworks(options)];
}
