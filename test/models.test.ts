// The model zoo (ts/models.ts): each network's layers as its doc comment draws them, its options, and the
// command line's names and recipes.
import { describe, expect, it } from 'vitest';
import { ValueError, courseCnn, lenet5, modelZoo, vggMini, zooRecipes } from 'wasmnet';
import type { SequentialNet } from 'wasmnet';

/** Each layer's spec (what a model file stores) without its optimizer, which `optimizers()` is checked for. */
function layers(net: SequentialNet): unknown[] {
  return net.layers.map((l) => {
    const { optim, ...spec } = l.toSpec() as unknown as Record<string, unknown>;
    expect(optim, `${spec.kind}'s optimizer in its spec`).toEqual(l.optimizers()[0]?.config());
    return spec;
  });
}

/** Adam(lr) with its defaults, the course's optimizer. */
const adam = (lr: number) => ({ type: 'Adam', lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });

/** The learning rate of every layer that has an optimizer, and how many such layers there are. */
function lrs(net: SequentialNet): number[] {
  return net.layers.flatMap((l) => l.optimizers().map((o) => {
    expect(o.config()).toEqual(adam((o.config() as { lr: number }).lr));
    return (o.config() as { lr: number }).lr;
  }));
}

describe('model zoo', () => {
  it('courseCnn: conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax, input [1, 28, 28]', () => {
    const net = courseCnn({ seed: 3 });
    expect(net.inputShape).toEqual([1, 28, 28]);
    expect(layers(net)).toEqual([
      { kind: 'Conv2D', fshape: [32, 3, 3], afun: 'ReLU' },
      { kind: 'Pool2D', area: [2, 2], strict: false },
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 100, afun: 'ReLU' },
      { kind: 'Dense', outputSize: 10, afun: 'SoftMax' },
    ]);
    expect(net.outputShape).toEqual([10]);
    net.dispose();
  });

  it('lenet5: conv 6×5×5 pad 2 ReLU → avg-pool → conv 16×5×5 ReLU → avg-pool → flatten (400) → dense 120, 84 ReLU → dense 10 SoftMax', () => {
    const net = lenet5({ seed: 3 });
    expect(net.inputShape).toEqual([1, 28, 28]);
    expect(layers(net)).toEqual([
      { kind: 'Conv2D', fshape: [6, 5, 5], afun: 'ReLU', padding: [2, 2] },
      { kind: 'AvgPool2D', area: [2, 2], stride: [2, 2] },
      { kind: 'Conv2D', fshape: [16, 5, 5], afun: 'ReLU' },
      { kind: 'AvgPool2D', area: [2, 2], stride: [2, 2] },
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 120, afun: 'ReLU' },
      { kind: 'Dense', outputSize: 84, afun: 'ReLU' },
      { kind: 'Dense', outputSize: 10, afun: 'SoftMax' },
    ]);
    expect(net.layers[4].outputShape).toEqual([400]);
    net.dispose();
  });

  it('vggMini: [conv same → BN ReLU] ×2 → max-pool → dropout 0.25, twice (32, 64 filters) → flatten (3136) → dense 128 → BN ReLU → dropout 0.5 → dense 10 SoftMax', () => {
    const net = vggMini({ seed: 3 });
    expect(net.inputShape).toEqual([1, 28, 28]);
    const conv = (filters: number) => ({ kind: 'Conv2D', fshape: [filters, 3, 3], afun: 'Identity', padding: 'same' });
    const bn = (features: number) => ({ kind: 'BatchNorm', numFeatures: features, momentum: 0.1, eps: 1e-5, afun: 'ReLU' });
    const dropout = (rate: number) => ({ kind: 'Dropout', rate, seed: expect.any(Number) });
    expect(layers(net)).toEqual([
      conv(32), bn(32), conv(32), bn(32), { kind: 'Pool2D', area: [2, 2], strict: false }, dropout(0.25),
      conv(64), bn(64), conv(64), bn(64), { kind: 'Pool2D', area: [2, 2], strict: false }, dropout(0.25),
      { kind: 'Flatten' },
      { kind: 'Dense', outputSize: 128, afun: 'Identity' }, bn(128), dropout(0.5),
      { kind: 'Dense', outputSize: 10, afun: 'SoftMax' },
    ]);
    expect(net.layers[12].outputShape).toEqual([3136]);
    net.dispose();
  });

  it('every layer with parameters trains with Adam at lr 0.001 unless told, or at the lr given', () => {
    for (const [make, trained] of [[courseCnn, 3], [lenet5, 5], [vggMini, 11]] as const) {
      for (const [options, lr] of [[{}, 0.001], [undefined, 0.001], [{ lr: 0.02 }, 0.02], [{ seed: 4 }, 0.001]] as const) {
        const net = make(options);
        expect(lrs(net), `${make.name}(${JSON.stringify(options)})`).toEqual(new Array(trained).fill(lr));
        net.dispose();
      }
    }
  });

  it('the seed reaches the network: the same seed gives the same weights, another seed others', () => {
    for (const make of [courseCnn, lenet5, vggMini]) {
      const [a, b, c] = [make({ seed: 7 }), make({ seed: 7, lr: 0.5 }), make({ seed: 8 })];
      expect(a.seed, make.name).toBe(7);
      expect(c.seed, make.name).toBe(8);
      const w = (n: SequentialNet) => Array.from(n.parameters()[0].value.view());
      expect(w(b), make.name).toEqual(w(a));
      expect(w(c), make.name).not.toEqual(w(a));
      for (const n of [a, b, c]) n.dispose();
    }
  });

  it('refuses an lr that is not > 0 and unknown options, naming the model', () => {
    for (const make of [courseCnn, lenet5, vggMini]) {
      const name = make.name;
      expect(() => make({ lr: 0 }), name).toThrow(ValueError);
      expect(() => make({ lr: 0 }), name).toThrow(new RegExp(`^${name} lr must be a finite number > 0, got 0$`));
      expect(() => make({ lr: -1 }), name).toThrow(new RegExp(`^${name} lr must be a finite number > 0, got -1$`));
      expect(() => make({ lrate: 1 } as never), name).toThrow(
        new RegExp(`^${name} options: unknown option "lrate", did you mean "lr"\\? \\(known: seed, lr\\)$`),
      );
      expect(() => make({ seed: 1, lr: 0.01, depth: 3 } as never), name).toThrow(new RegExp(`^${name} options: unknown option "depth"`));
      expect(() => make(5 as never), name).toThrow(new RegExp(`^${name} options must be an options object, got 5$`));
    }
  });

  it('the command line names the zoo course, lenet5 and vgg-mini, with their recipes', () => {
    expect(modelZoo).toEqual({ course: courseCnn, lenet5, 'vgg-mini': vggMini });
    expect(Object.keys(zooRecipes)).toEqual(['course', 'lenet5', 'vgg-mini']);
    expect(zooRecipes.course).toEqual({
      describe: 'conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax',
      batchSize: 1000, epochs: 10, lr: 0.001, cosine: false,
    });
    expect(zooRecipes.lenet5).toEqual({
      describe: 'conv 6×5×5 pad 2 ReLU → avg-pool 2×2 → conv 16×5×5 ReLU → avg-pool 2×2 → dense 120 ReLU → dense 84 ReLU → dense 10 SoftMax',
      batchSize: 128, epochs: 10, lr: 0.001, cosine: false,
    });
    expect(zooRecipes['vgg-mini']).toEqual({
      describe: '[conv 32×3×3 same → BN ReLU] ×2 → max-pool → dropout 0.25 → [conv 64×3×3 same → BN ReLU] ×2 → max-pool → dropout 0.25 → dense 128 → BN ReLU → dropout 0.5 → dense 10 SoftMax',
      batchSize: 128, epochs: 8, lr: 0.001, cosine: true,
    });
  });
});
