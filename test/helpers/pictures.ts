// Random one-channel pictures with one-hot labels: the small datasets the training and worker tests share.
import { Rng, Tensor } from 'wasmnet';

/** `n` pictures of 1×side×side uniform values and one-hot labels of `classes` classes, all from `new Rng(seed)`. */
export function pictures(n: number, seed: number, side: number, classes: number): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const x = new Tensor(Float32Array.from({ length: n * side * side }, () => rng.uniform()), [n, 1, side, side]);
  return [x, Tensor.oneHot(Array.from({ length: n }, () => rng.int(classes)), classes)];
}
