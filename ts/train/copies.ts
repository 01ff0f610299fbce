/**
 * The model file a copy of a network in training is made from: a worker's replica, a shard's copy (`together.ts`).
 * Copies take every step's rates from the network, never their own base rates: a base rate no file holds (NaN or
 * −1 set before `train`) goes as 0, so that the first step stops with the error one worker gives.
 */
import { isStorableRate } from '../io/model-file.js';
import type { SequentialNet } from '../network.js';

export function saveForCopies(net: SequentialNet, trainingState: boolean): Uint8Array {
  const unstorable = [...new Set(net.layers.flatMap((l) => l.optimizers()))].filter((opt) => !isStorableRate(opt.lr));
  const rates = unstorable.map((opt) => opt.lr);
  try {
    unstorable.forEach((opt) => (opt.lr = 0));
    return net.save({ trainingState });
  } finally {
    unstorable.forEach((opt, i) => (opt.lr = rates[i]));
  }
}
