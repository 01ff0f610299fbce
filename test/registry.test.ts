// The layer registry (ts/layers/registry.ts) as model files and messages meet it: the kinds' names in messages,
// a spec read whatever its key order, refused when its kind is not a kind's name, optimizer settings of older
// files read with their defaults. Cases found by `npm run mutate:ts`.
import { describe, expect, it } from 'vitest';
import { Adam, Rng, SGD, SequentialNet, ShapeError, SoftMax, Tensor, ValueError } from 'wasmnet';
import { rewriteModel } from './helpers/model-file.js';
import { uniform } from './helpers/util.js';

function small(optim: Adam | SGD = new Adam(0.01)): SequentialNet {
  const net = new SequentialNet([1, 6, 6], { seed: 1 });
  net.addConv2D([2, 3, 3], { optim });
  net.addPool2D([2, 2], { stride: [2, 1] });
  net.addFlatten();
  net.addDense(3, { afun: new SoftMax(), optim });
  return net;
}

/** The value with the keys of every object in reverse order. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).reverse().map((k) => [k, reversed((v as Record<string, unknown>)[k])]));
  return v;
}

describe('the layer registry', () => {
  it('names every kind in messages: the classes add takes, the adders of an empty network', () => {
    const net = new SequentialNet([4]);
    expect(() => net.add({} as never)).toThrow(
      'add needs a layer (Conv2DLayer, Pool2DLayer, AvgPool2DLayer, FlattenLayer, DenseLayer, DropoutLayer, BatchNormLayer), got',
    );
    expect(() => net.evaluate(Tensor.zeros([1, 4]))).toThrow(
      new ShapeError('the network has no layers: add some with addConv2D, addPool2D, addAvgPool2D, addFlatten, addDense, addDropout, addBatchNorm'),
    );
    net.dispose();
  });

  it('reads a layer spec whatever the order of its keys, at every level', () => {
    const net = small();
    const x = uniform([2, 1, 6, 6], new Rng(2));
    const file = rewriteModel(net.save(), (h) => {
      h.layers = reversed(h.layers);
    });
    const copy = SequentialNet.load(file);
    expect(Array.from(copy.evaluate(x).data)).toEqual(Array.from(net.evaluate(x).data));
    net.dispose();
    copy.dispose();
  });

  it('refuses a kind that is not a kind\'s name, even one that reads as one as a property key', () => {
    const net = small();
    for (const kind of [['Dense'], { toString: () => 'Dense' }, 'toString', 'constructor', null]) {
      const file = rewriteModel(net.save(), (h) => {
        h.layers[3].kind = kind;
      });
      expect(() => SequentialNet.load(file), JSON.stringify(kind)).toThrow(ValueError);
      expect(() => SequentialNet.load(file)).toThrow(/the model file's layer 3: unknown layer kind .* \(known: Conv2D, Pool2D, AvgPool2D, Flatten, Dense, Dropout, BatchNorm\)/);
    }
    net.dispose();
  });

  it('refuses a layer spec that is not an object with a ValueError', () => {
    const net = small();
    for (const spec of [null, 3, 'Dense']) {
      const file = rewriteModel(net.save(), (h) => {
        h.layers[1] = spec;
      });
      expect(() => SequentialNet.load(file), JSON.stringify(spec)).toThrow(ValueError);
    }
    net.dispose();
  });

  it('reads optimizer settings written before an option existed with its default, and refuses a setting it does not read', () => {
    for (const [optim, drop] of [[new SGD(0.1, { momentum: 0.5 }), ['nesterov', 'weightDecay']], [new Adam(0.01), ['weightDecay']]] as const) {
      const net = small(optim);
      const old = rewriteModel(net.save({ trainingState: false }), (h) => {
        for (const l of h.layers) if (l.optim) for (const k of drop) delete l.optim[k];
      });
      const copy = SequentialNet.load(old);
      expect(copy.layers[3].toSpec()).toEqual(net.layers[3].toSpec());
      copy.dispose();
      const extra = rewriteModel(net.save({ trainingState: false }), (h) => {
        h.layers[3].optim.future = 1;
      });
      expect(() => SequentialNet.load(extra)).toThrow(ValueError);
      const stray = rewriteModel(net.save({ trainingState: false }), (h) => {
        h.layers[2].future = true;
      });
      expect(() => SequentialNet.load(stray)).toThrow(/the model file's layer 2 \(Flatten\) does not describe a layer this wasmnet builds exactly/);
      net.dispose();
    }
  });
});
