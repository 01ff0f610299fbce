/** Ready-made networks. */
import { ReLU, SoftMax } from './activations.js';
import { optionsObject } from './core/errors.js';
import { Adam } from './optimizers.js';
import { SequentialNet } from './network.js';

/**
 * The course's exercise-4 network for 28×28 digits: conv 32×3×3 ReLU →
 * max-pool 2×2 → flatten → dense 100 ReLU → dense 10 SoftMax, each trained
 * with Adam(lr) (the course uses 0.001), cross-entropy loss.
 */
export function courseCnn(options: { seed?: number; lr?: number } = {}): SequentialNet {
  const { seed, lr = 0.001 } = optionsObject('courseCnn options', options);
  const net = new SequentialNet([1, 28, 28], { seed });
  net.addConv2D([32, 3, 3], { afun: new ReLU(), optim: new Adam(lr) });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDense(100, { afun: new ReLU(), optim: new Adam(lr) });
  net.addDense(10, { afun: new SoftMax(), optim: new Adam(lr) });
  return net;
}
