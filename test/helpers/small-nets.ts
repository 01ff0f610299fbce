// Small networks for the worker-pool tests: every layer kind that trains in shards, on 1×12×12 pictures of 5 classes.
import { Adam, ReLU, SequentialNet, SoftMax } from 'wasmnet';

/** Conv, batch norm (its shards meet across workers), max pooling, dropout, dense. */
export function batchNormNet(seed = 3): SequentialNet {
  const net = new SequentialNet([1, 12, 12], { seed });
  net.addConv2D([6, 3, 3], { padding: 1, optim: new Adam(0.01) });
  net.addBatchNorm({ afun: new ReLU() });
  net.addPool2D([2, 2]);
  net.addFlatten();
  net.addDropout(0.2);
  net.addDense(5, { afun: new SoftMax(), optim: new Adam(0.01) });
  return net;
}
