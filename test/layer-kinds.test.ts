// Every registered layer kind (layerKinds, ts/layers/registry.ts) round-trips through toSpec → fromSpec:
// built with net.add<Kind>(…) as a user would, its spec (through JSON, as in a model file) rebuilds a layer
// with the same spec and output shape. A kind without a row in the table below fails, naming it.
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, type BuildContext, type Layer, ReLU, SGD, SequentialNet, Sigmoid, Tanh, layerKinds } from 'wasmnet';

/** Per kind: the network input it is added to, and non-default arguments for net.add<Kind>(…). */
const table: Record<string, { input: number[]; args: unknown[] }> = {
  Conv2D: { input: [2, 9, 8], args: [[3, 2, 3], { afun: new Tanh(), optim: new SGD(0.05, { momentum: 0.9 }), padding: 1, stride: [2, 1] }] },
  Pool2D: { input: [2, 9, 8], args: [[2, 3], { stride: [2, 2] }] },
  AvgPool2D: { input: [2, 9, 8], args: [[3, 2], { stride: 2 }] },
  Flatten: { input: [2, 3, 5], args: [] },
  Dense: { input: [7], args: [5, { afun: new Sigmoid(), optim: new Adam(0.003) }] },
  Dropout: { input: [7], args: [0.25, { seed: 42 }] },
  BatchNorm: { input: [3, 5, 4], args: [{ momentum: 0.2, eps: 1e-4, afun: new ReLU(), optim: new AdamW(0.01) }] },
};

describe('every layer kind round-trips through toSpec → fromSpec', () => {
  for (const kind of Object.keys(layerKinds)) {
    it(kind, () => {
      const row = table[kind];
      if (!row) expect.fail(`layer kind ${kind} has no row in test/layer-kinds.test.ts's table: add one`);
      const net = new SequentialNet(row.input, { seed: 1 });
      const layer = (net as unknown as Record<string, (...a: unknown[]) => Layer>)[`add${kind}`](...row.args);
      const spec = layer.toSpec();
      expect(spec.kind).toBe(kind);
      const cls = layerKinds[kind as keyof typeof layerKinds] as unknown as { fromSpec(spec: unknown, ctx: BuildContext): Layer };
      const other = new SequentialNet(row.input, { seed: 2 });
      const rebuilt = other.add(cls.fromSpec(JSON.parse(JSON.stringify(spec)), other.buildContext()));
      expect(rebuilt).toBeInstanceOf(layer.constructor);
      expect(rebuilt.toSpec()).toEqual(spec);
      expect(rebuilt.outputShape).toEqual(layer.outputShape);
      for (const n of [net, other]) n.dispose();
    });
  }

  it('the table has no rows for kinds that are not registered', () => {
    expect(Object.keys(table).filter((k) => !(k in layerKinds))).toEqual([]);
  });
});
