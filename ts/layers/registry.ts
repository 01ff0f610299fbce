/**
 * The layer kinds: the one table that building, loading, saving, error
 * messages, `net.add<Kind>(…)` and the gradient-check suite iterate over.
 * Adding a kind is one file in this folder and one line here.
 */
import { AvgPool2DLayer } from './avgpool2d.js';
import { BatchNormLayer } from './batchnorm.js';
import { Conv2DLayer } from './conv2d.js';
import { DenseLayer } from './dense.js';
import { DropoutLayer } from './dropout.js';
import { FlattenLayer } from './flatten.js';
import { ValueError } from '../core/errors.js';
import { type OptimizerConfig, optimizerFromConfig } from '../optimizers.js';
import type { BuildContext, GradcheckCase, Layer } from './layer.js';
import { Pool2DLayer } from './pool2d.js';

/**
 * The registry: every layer kind by its name. Building, loading, saving, `net.add<Kind>()`,
 * error messages and the gradient-check suite iterate over it.
 */
export const layerKinds = {
  /** `Conv2DLayer`. */
  Conv2D: Conv2DLayer,
  /** `Pool2DLayer`. */
  Pool2D: Pool2DLayer,
  /** `AvgPool2DLayer`. */
  AvgPool2D: AvgPool2DLayer,
  /** `FlattenLayer`. */
  Flatten: FlattenLayer,
  /** `DenseLayer`. */
  Dense: DenseLayer,
  /** `DropoutLayer`. */
  Dropout: DropoutLayer,
  /** `BatchNormLayer`. */
  BatchNorm: BatchNormLayer,
} as const satisfies Record<string, LayerKindClass>;

/** What the registry needs of a kind's class besides its constructor (see `layer.ts`). */
export interface LayerKindClass {
  forNetwork(ctx: BuildContext, ...args: never[]): Layer;
  fromSpec(spec: never, ctx: BuildContext): Layer;
  /** The configurations `wasmnet gradcheck` checks. */
  gradcheckCases(): GradcheckCase[];
}

/** A registered kind's name: `'Conv2D'`, `'Pool2D'`, …. */
export type LayerKind = keyof typeof layerKinds;
/** A registered kind's class. */
type LayerClass = (typeof layerKinds)[LayerKind];

/** A layer's spec in a model file: the union of every kind's `toSpec()`. */
export type LayerSpec = ReturnType<InstanceType<LayerClass>['toSpec']>;

/** The arguments `net.add<Kind>(…)` takes: the kind's `forNetwork` after the context. */
export type AdderArgs<C> = C extends { forNetwork(ctx: BuildContext, ...args: infer A): unknown } ? A : never;

/** `addConv2D`, `addPool2D`, …: one method per registered kind, typed from its `forNetwork`. */
export type LayerAdders = {
  [K in LayerKind as `add${K}`]: (...args: AdderArgs<(typeof layerKinds)[K]>) => InstanceType<(typeof layerKinds)[K]>;
};

/** "Conv2DLayer, Pool2DLayer, …" for error messages (from the kinds: bundlers may rename classes). */
export function layerClassNames(): string {
  return Object.keys(layerKinds).map((k) => `${k}Layer`).join(', ');
}

/** "addConv2D, addPool2D, …" for error messages. */
export function adderNames(): string {
  return Object.keys(layerKinds).map((k) => `add${k}`).join(', ');
}

export function isLayerKind(kind: unknown): kind is LayerKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(layerKinds, kind);
}

/**
 * The layer a spec from a model file describes, for a network whose output
 * so far is `ctx.shape`. The layer built must describe itself by exactly the
 * spec it was built from: a setting the file lacks (where a default would
 * silently stand in), one this version does not read, or one the layer cannot
 * honour (batch norm's feature count against its input) is refused, naming it.
 */
export function layerFromSpec(spec: { kind?: unknown; optim?: unknown }, ctx: BuildContext, where: string): Layer {
  if (!isLayerKind(spec?.kind)) {
    throw new ValueError(`${where}: unknown layer kind ${JSON.stringify(spec?.kind)} (known: ${Object.keys(layerKinds).join(', ')})`);
  }
  const cls = layerKinds[spec.kind] as unknown as { fromSpec(spec: unknown, ctx: BuildContext): Layer };
  const named = <T>(build: () => T): T => {
    try {
      return build();
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(`${where} (${spec.kind}): ${e.message}`);
      throw e;
    }
  };
  const layer = named(() => cls.fromSpec(spec, ctx));
  // Optimizer settings of files written before an option existed get its default (it did not exist then).
  let given: string;
  try {
    given = canonical(spec.optim === undefined ? spec : { ...spec, optim: named(() => optimizerFromConfig(spec.optim as OptimizerConfig)).config() });
  } catch (e) {
    layer.dispose();
    throw e;
  }
  const built = canonical(layer.toSpec());
  if (given !== built) {
    layer.dispose();
    throw new ValueError(`${where} (${spec.kind}) does not describe a layer this wasmnet builds exactly: the file says ${given}, the layer is ${built}`);
  }
  return layer;
}

/** JSON with keys sorted at every level, for comparing specs. */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(value));
}
