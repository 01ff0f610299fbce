/**
 * A network's trainable state as plain arrays: what a replica sends back so
 * that the network it was made from continues from the same bits (weights,
 * buffers such as batch norm's running statistics, optimizer moments, the
 * layers' training progress such as dropout's step).
 */
import type { SequentialNet } from '../network.js';

export interface ReplicaState {
  params: Float32Array[];
  buffers: Float32Array[];
  layers: (Record<string, number> | null)[];
  /** Optimizer state per (layer, parameter index within the layer) that has any. */
  optimizer: { layer: number; param: number; step: number; arrays: Float32Array[] }[];
}

export function captureState(net: SequentialNet): ReplicaState {
  const optimizer: ReplicaState['optimizer'] = [];
  net.layers.forEach((layer, i) => {
    const opt = layer.optimizers()[0];
    if (!opt) return;
    layer.parameters().forEach((p, j) => {
      let state;
      try {
        state = opt.stateOf(p);
      } catch {
        return; // not registered yet: the optimizer has not stepped this parameter
      }
      optimizer.push({ layer: i, param: j, step: state.step, arrays: state.arrays });
    });
  });
  return {
    params: net.parameters().map((p) => p.value.toArray()),
    buffers: net.buffers().map((b) => b.value.toArray()),
    layers: net.layers.map((l) => l.trainingState()),
    optimizer,
  };
}

/** The arrays of a state, for transferring it instead of copying. */
export function stateBuffers(s: ReplicaState): ArrayBuffer[] {
  const arrays = [...s.params, ...s.buffers, ...s.optimizer.flatMap((o) => o.arrays)];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

/** Copies `s` into `net`, a network of the same structure. */
export function adoptState(net: SequentialNet, s: ReplicaState): void {
  net.parameters().forEach((p, i) => p.value.set(s.params[i]));
  net.buffers().forEach((b, i) => b.value.set(s.buffers[i]));
  net.layers.forEach((l, i) => {
    const t = s.layers[i];
    if (t) l.setTrainingState(t);
  });
  for (const o of s.optimizer) {
    const layer = net.layers[o.layer];
    layer.optimizers()[0].setState(layer.parameters()[o.param], { step: o.step, arrays: o.arrays });
  }
}
