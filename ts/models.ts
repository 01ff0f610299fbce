/** Ready-made networks for 28×28 digits: the course's, LeNet-5 and a small VGG-style CNN. */
import { Identity, ReLU, SoftMax } from './activations.js';
import { checkPositive, optionsObject } from './core/errors.js';
import { Adam } from './optimizers.js';
import { SequentialNet } from './network.js';

/** Options of the zoo models (`courseCnn`, `lenet5`, `vggMini`). */
export interface ModelOptions {
  /** Seeds weights, shuffling and dropout. */
  seed?: number;
  /** Adam's learning rate for every layer (default 0.001). */
  lr?: number;
}

function modelOptions(what: string, options: ModelOptions): { seed?: number; lr: number } {
  const { seed, lr = 0.001 } = optionsObject(`${what} options`, options, ['seed', 'lr']);
  return { seed, lr: checkPositive(`${what} lr`, lr) };
}

/**
 * The course's exercise-4 network: conv 32×3×3 ReLU → max-pool 2×2 → flatten
 * → dense 100 ReLU → dense 10 SoftMax, each trained with Adam(lr) (the course
 * uses 0.001), cross-entropy loss.
 */
export function courseCnn(options: ModelOptions = {}): SequentialNet {
  const { seed, lr } = modelOptions('courseCnn', options);
  const net = new SequentialNet([1, 28, 28], { seed });
  net.addConv2D([32, 3, 3], { afun: new ReLU(), optim: new Adam(lr) });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(100, { afun: new ReLU(), optim: new Adam(lr) });
  net.addDense(10, { afun: new SoftMax(), optim: new Adam(lr) });
  return net;
}

/**
 * LeNet-5 (LeCun et al. 1998) adapted to 28×28 MNIST, as it is usually
 * taught today: the first convolution is zero-padded by 2 so that its 5×5
 * filters see the 32×32 field the original was built for; average pooling as
 * the original's subsampling; ReLU instead of its scaled tanh; the original's
 * sparse C3 connections made full.
 *
 *   conv 6×5×5 pad 2 ReLU → avg-pool 2×2 → conv 16×5×5 ReLU → avg-pool 2×2
 *   → flatten (400) → dense 120 ReLU → dense 84 ReLU → dense 10 SoftMax
 */
export function lenet5(options: ModelOptions = {}): SequentialNet {
  const { seed, lr } = modelOptions('lenet5', options);
  const net = new SequentialNet([1, 28, 28], { seed });
  net.addConv2D([6, 5, 5], { padding: 2, afun: new ReLU(), optim: new Adam(lr) });
  net.addAvgPool2D([2, 2]);
  net.addConv2D([16, 5, 5], { afun: new ReLU(), optim: new Adam(lr) });
  net.addAvgPool2D([2, 2]);
  net.addFlatten();
  net.addDense(120, { afun: new ReLU(), optim: new Adam(lr) });
  net.addDense(84, { afun: new ReLU(), optim: new Adam(lr) });
  net.addDense(10, { afun: new SoftMax(), optim: new Adam(lr) });
  return net;
}

/**
 * A small modern CNN in the VGG style: two blocks of two 3×3 'same'
 * convolutions, each followed by batch norm and ReLU (the convolution itself
 * linear: batch norm's β plays the bias), then 2×2 max pooling and dropout;
 * a dense head with batch norm and dropout.
 *
 *   [conv 32×3×3 same → BN ReLU] ×2 → max-pool 2×2 → dropout 0.25
 *   [conv 64×3×3 same → BN ReLU] ×2 → max-pool 2×2 → dropout 0.25
 *   → flatten (3136) → dense 128 → BN ReLU → dropout 0.5 → dense 10 SoftMax
 */
export function vggMini(options: ModelOptions = {}): SequentialNet {
  const { seed, lr } = modelOptions('vggMini', options);
  const net = new SequentialNet([1, 28, 28], { seed });
  const convBlock = (filters: number) => {
    net.addConv2D([filters, 3, 3], { padding: 'same', afun: new Identity(), optim: new Adam(lr) });
    net.addBatchNorm({ afun: new ReLU(), optim: new Adam(lr) });
  };
  convBlock(32);
  convBlock(32);
  net.addPool2D([2, 2]);
  net.addDropout(0.25);
  convBlock(64);
  convBlock(64);
  net.addPool2D([2, 2]);
  net.addDropout(0.25);
  net.addFlatten();
  net.addDense(128, { afun: new Identity(), optim: new Adam(lr) });
  net.addBatchNorm({ afun: new ReLU(), optim: new Adam(lr) });
  net.addDropout(0.5);
  net.addDense(10, { afun: new SoftMax(), optim: new Adam(lr) });
  return net;
}

/** The zoo by the names the command line uses (`wasmnet train --model …`). */
export const modelZoo = {
  /** `courseCnn`. */
  course: courseCnn,
  /** `lenet5`. */
  lenet5,
  /** `vggMini`. */
  'vgg-mini': vggMini,
} as const;

/** A zoo model's name: `'course'`, `'lenet5'` or `'vgg-mini'`. */
export type ModelName = keyof typeof modelZoo;

/** How `wasmnet train --model …` trains each zoo model unless told otherwise. */
export interface ZooRecipe {
  /** The architecture in one line, for logs and pages. */
  describe: string;
  /** Samples per batch. */
  batchSize: number;
  /** Epochs. */
  epochs: number;
  /** Adam's learning rate. */
  lr: number;
  /** Cosine annealing of the learning rate over the run's epochs (PyTorch's CosineAnnealingLR, tMax = epochs). */
  cosine: boolean;
}

/** How each zoo model is trained by `wasmnet train --model …`. */
export const zooRecipes: Record<ModelName, ZooRecipe> = {
  course: {
    describe: 'conv 32×3×3 ReLU → max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax',
    batchSize: 1000,
    epochs: 10,
    lr: 0.001,
    cosine: false,
  },
  lenet5: {
    describe: 'conv 6×5×5 pad 2 ReLU → avg-pool 2×2 → conv 16×5×5 ReLU → avg-pool 2×2 → dense 120 ReLU → dense 84 ReLU → dense 10 SoftMax',
    batchSize: 128,
    epochs: 10,
    lr: 0.001,
    cosine: false,
  },
  'vgg-mini': {
    describe: '[conv 32×3×3 same → BN ReLU] ×2 → max-pool → dropout 0.25 → [conv 64×3×3 same → BN ReLU] ×2 → max-pool → dropout 0.25 → dense 128 → BN ReLU → dropout 0.5 → dense 10 SoftMax',
    batchSize: 128,
    epochs: 8,
    lr: 0.001,
    cosine: true,
  },
};
