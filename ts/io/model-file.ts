/**
 * The model file: one self-describing binary.
 *
 *   bytes 0–7    "WASMNET\0"
 *   bytes 8–11   format version (u32 LE): 2 now; version 1 files still load
 *   bytes 12–15  header length H (u32 LE)
 *   16 … 16+H    header: UTF-8 JSON (architecture, activations, loss, optimizer settings, tensor names and sizes)
 *   then         zero padding to a multiple of 4, the tensors as float32 LE in header order
 *   last 4       CRC-32 (u32 LE) of everything before it
 *
 * Tensors are named: `layers.<i>.<name>` for parameters (`f`, `b`, `w`) and
 * buffers (batch norm's `runningMean`, `runningVar`); with the training
 * state, `layers.<i>.<name>.<state>` for the optimizers' (`velocity`, `m`,
 * `v`). Version 2 added buffers and the training state (optimizer state and
 * step counts, the shuffling stream, dropout's step, the epoch count);
 * version 1 files hold weights only.
 */
import { OutOfMemoryError, ValueError, checkFiniteValues, optionsObject, show } from '../core/errors.js';
import { PoisonedHeapError } from '../core/wasm.js';
import { crc32 } from '../core/crc32.js';
import { LITTLE_ENDIAN } from '../core/endian.js';
import { lossByName } from '../losses.js';
import type { Loss } from '../losses.js';
import type { SequentialNet, SequentialNetOptions } from '../network.js';
import type { Layer, NamedParameter } from '../layers/layer.js';
import { type LayerSpec, layerFromSpec } from '../layers/registry.js';
import { plural } from '../core/words.js';

export { crc32 };

export const MODEL_MAGIC = 'WASMNET\0';
export const MODEL_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

/** What a model file says about the training state it holds. */
export interface TrainingStateHeader {
  /** Epochs trained so far. */
  epochsTrained: number;
  /** The shuffling generator's state (`Rng.getState()`). */
  shuffleRng: unknown[];
  /** Samples in the order the last epoch visited them (the next shuffle starts from it), or null. Stored as the tensor `training.sampleOrder`. */
  sampleOrder?: number | null;
  /** Per layer, what `trainingState()` returned (dropout's step), or null. */
  layers: (Record<string, number> | null)[];
  /** Per parameter with optimizer state: its step count and state tensors' names, in file order. */
  optimizer: {
    /** The parameter's name, e.g. `layers.0.f`. */
    param: string;
    /** Updates taken. */
    step: number;
    /** Names of its state tensors. */
    state: string[];
  }[];
}

/** A model file's header: the architecture, the tensors it holds and, optionally, the training state (`readModelHeader`). */
export interface ModelHeader {
  /** Always `wasmnet-model`. */
  format: 'wasmnet-model';
  /** Format version (1 or 2). */
  version: number;
  /** The network's per-sample input shape. */
  inputShape: number[];
  /** The network's seed. */
  seed: number;
  /** The loss's name. */
  loss: string;
  /** Each layer's `toSpec()`, in order. */
  layers: LayerSpec[];
  /** Tensors in file order and their lengths. */
  tensors: {
    /** e.g. `layers.0.f`, `layers.2.runningMean`. */
    name: string;
    /** Values. */
    length: number;
  }[];
  /** Present when the file holds the training state. */
  training?: TrainingStateHeader;
  /** Free-form facts about training (epochs, accuracy, date), for people. */
  meta?: Record<string, unknown>;
}

/** Options of `SequentialNet.save`. */
export interface SaveOptions {
  /** Keep what resuming training needs (optimizer state, random streams, epoch count); default true. False writes the smaller inference file. */
  trainingState?: boolean;
  /** Stored as given: facts for people (epochs, accuracy, date). */
  meta?: Record<string, unknown>;
}

/** Whether a model file holds an optimizer's base rate `lr` (JSON writes NaN and ±∞ as null; a rate is ≥ 0). */
export function isStorableRate(lr: number): boolean {
  return Number.isFinite(lr) && lr >= 0;
}

export function saveNetwork(net: SequentialNet, options: SaveOptions): Uint8Array {
  const { trainingState = true, meta } = optionsObject('save options', options, ['trainingState', 'meta']);
  if (typeof trainingState !== 'boolean') throw new ValueError(`save trainingState must be true or false, got ${show(trainingState)}`);
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) {
    throw new ValueError(`save meta must be a plain object, got ${show(meta)}`);
  }
  if (meta !== undefined) checkJsonData(meta);
  // A file with a rate it cannot hold (NaN) would never load.
  net.layers.forEach((layer, i) => {
    for (const opt of layer.optimizers()) {
      const { type, lr } = opt.config();
      if (!isStorableRate(lr)) {
        throw new ValueError(`cannot save the network: layer ${i} (${layer.kind})'s ${type} lr is ${show(lr)}; a model file keeps each optimizer's base rate, a finite number ≥ 0`);
      }
    }
  });
  const named: { name: string; values: Float32Array }[] = [];
  for (const p of net.parameters()) named.push({ name: p.name, values: p.value.view() });
  for (const b of net.buffers()) named.push({ name: b.name, values: b.value.view() });
  let training: TrainingStateHeader | undefined;
  if (trainingState) {
    const order = net.order;
    // The order is stored as float32, exact for indices below 2²⁴ (16.7 million samples); past that it is left out.
    const keepOrder = order !== null && order.length <= 2 ** 24;
    training = {
      epochsTrained: net.epochsTrained,
      shuffleRng: net.shuffleRng.getState(),
      sampleOrder: keepOrder ? order.length : null,
      layers: net.layers.map((l) => l.trainingState()),
      optimizer: [],
    };
    if (keepOrder) named.push({ name: 'training.sampleOrder', values: Float32Array.from(order) });
    net.layers.forEach((layer, i) => {
      for (const opt of layer.optimizers()) {
        for (const p of layer.parameters()) {
          const state = opt.stateOf(p);
          if (!state) continue;
          const name = `layers.${i}.${p.name}`;
          training!.optimizer.push({ param: name, step: state.step, state: [...opt.stateNames] });
          state.arrays.forEach((values, j) => named.push({ name: `${name}.${opt.stateNames[j]}`, values }));
        }
      }
    });
  }
  const header: ModelHeader = {
    format: 'wasmnet-model',
    version: MODEL_VERSION,
    inputShape: [...net.inputShape],
    seed: net.seed,
    loss: net.loss.name,
    layers: net.layers.map((l) => l.toSpec() as LayerSpec),
    tensors: named.map((t) => ({ name: t.name, length: t.values.length })),
    training,
    meta,
  };
  return encodeModel(header, named.map((t) => t.values));
}

/**
 * Rebuilds a network from a model file. Every tensor is checked (length,
 * finite values) before it is copied in; on any failure the half-built
 * network is freed and a ValueError says what was wrong.
 */
export function loadNetwork(bytes: Uint8Array | ArrayBuffer, make: (inputShape: number[], options: SequentialNetOptions) => SequentialNet): SequentialNet {
  const { header, tensors } = decodeModel(bytes);
  const byName = new Map<string, Float32Array>();
  header.tensors.forEach((t, i) => byName.set(String(t?.name), tensors[i]));
  const take = (name: string, length: number): Float32Array => {
    const values = byName.get(name);
    if (!values) throw new ValueError(`the model file has no tensor ${name}`);
    if (values.length !== length) throw new ValueError(`the model file's ${name} has ${plural(values.length, 'value')}, the layer needs ${length}`);
    checkFiniteValues(`the model file's ${name}`, values);
    byName.delete(name);
    return values;
  };
  let net: SequentialNet | null = null;
  try {
    let loss: Loss;
    try {
      loss = lossByName(header.loss);
    } catch (e) {
      throw new ValueError((e as Error).message);
    }
    net = make(header.inputShape, { seed: header.seed, loss });
    // The file's weights replace the initial draws, so the draws only move the generator (as building did).
    net.buildContext().rng.skippingNormals(() =>
      header.layers.forEach((spec, i) => {
        const layer = layerFromSpec(spec, net!.buildContext(), `the model file's layer ${i}`);
        try {
          net!.add(layer);
        } catch (e) {
          layer.dispose(); // not the network's yet, so its dispose() would not free it
          throw e;
        }
      }),
    );
    for (const p of net.parameters()) p.value.set(take(p.name, p.value.length));
    if (header.version >= 2) {
      for (const b of net.buffers()) {
        const values = take(b.name, b.value.length);
        if (b.min !== undefined) {
          const low = values.findIndex((v) => v < b.min!);
          if (low >= 0) throw new ValueError(`the model file's ${b.name} must hold values ≥ ${b.min}, but index ${low} is ${values[low]}`);
        }
        b.value.set(values);
      }
    }
    const t = header.training;
    if (t) restoreTrainingState(net, t, take);
    if (byName.size > 0) throw new ValueError(`the model file's tensors ${[...byName.keys()].join(', ')} belong to no layer`);
    return net;
  } catch (e) {
    try {
      net?.dispose();
    } catch {
      // Freeing fails only where the core has failed (a poisoned heap in a worker): `e` says more.
    }
    // Another worker's trap stopped this one (a worker's heap): that is no fault of the file.
    if (e instanceof ValueError || e instanceof PoisonedHeapError) throw e;
    throw new ValueError(`the model file describes an invalid network: ${(e as Error).message}`);
  }
}

/**
 * What a model file says about itself without building the network: format
 * version, input shape, seed, loss, the layers' specs, the tensors' names and
 * sizes, whether it holds the training state (and how many epochs it had), and
 * the `meta` it was saved with. The checksum is verified; a ValueError says
 * what is wrong with a damaged or foreign file.
 */
export function readModelHeader(bytes: Uint8Array | ArrayBuffer): ModelHeader {
  return decodeModel(bytes).header;
}

/**
 * Throws a ValueError unless `meta` is JSON data that reads back as written:
 * no cycles, BigInts, functions, symbols or non-finite numbers (JSON.stringify
 * throws a TypeError for the first two and silently changes the others).
 */
function checkJsonData(meta: object): void {
  try {
    JSON.stringify(meta, (key, value: unknown) => {
      const t = typeof value;
      if (t === 'bigint' || t === 'function' || t === 'symbol' || (t === 'number' && !Number.isFinite(value))) {
        throw new ValueError(`${key === '' ? 'it' : JSON.stringify(key)} is ${t === 'number' ? String(value) : `a ${t}`}`);
      }
      return value;
    });
  } catch (e) {
    const why = e instanceof ValueError ? e.message : /circular/i.test((e as Error)?.message) ? 'it refers to itself (a cycle)' : (e as Error)?.message;
    throw new ValueError(`save meta must be JSON data (objects, arrays, strings, finite numbers, booleans, null), but ${why}`);
  }
}

function restoreTrainingState(net: SequentialNet, t: TrainingStateHeader, take: (name: string, length: number) => Float32Array): void {
  if (!Number.isSafeInteger(t.epochsTrained) || t.epochsTrained < 0) throw new ValueError(`the model file's epochsTrained must be an integer ≥ 0, got ${show(t.epochsTrained)}`);
  if (!Array.isArray(t.layers) || t.layers.length !== net.layers.length || !Array.isArray(t.optimizer)) {
    throw new ValueError('the model file\'s training state does not match its layers');
  }
  net.epochsTrained = t.epochsTrained;
  net.shuffleRng.setState(t.shuffleRng);
  if (typeof t.sampleOrder === 'number') {
    const n = t.sampleOrder;
    const values = take('training.sampleOrder', n);
    const order = Uint32Array.from(values);
    // A permutation of 0 … n−1, or the file is refused.
    const seen = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (values[i] !== order[i] || order[i] >= n || seen[order[i]]) throw new ValueError('the model file\'s training.sampleOrder is not an ordering of its samples');
      seen[order[i]] = 1;
    }
    net.order = order;
  }
  net.layers.forEach((l, i) => {
    const s = t.layers[i];
    if (s) l.setTrainingState(s);
    else if (l.trainingState() !== null) throw new ValueError(`the model file's training state lacks layer ${i} (${l.kind})`);
  });
  const params = new Map<string, { layer: Layer; p: NamedParameter }>(
    net.layers.flatMap((layer, i) => layer.parameters().map((p) => [`layers.${i}.${p.name}`, { layer, p }] as [string, { layer: Layer; p: NamedParameter }])),
  );
  for (const entry of t.optimizer) {
    const found = params.get(entry?.param);
    if (!found) throw new ValueError(`the model file has optimizer state for ${show(entry?.param)}, which is no parameter`);
    const opt = found.layer.optimizers()[0];
    if (!opt || !Array.isArray(entry.state) || entry.state.join() !== opt.stateNames.join()) {
      throw new ValueError(`the model file's optimizer state for ${entry.param} (${show(entry.state)}) does not fit the layer's optimizer`);
    }
    const arrays = entry.state.map((s) => take(`${entry.param}.${s}`, found.p.value.length));
    opt.setState(found.p, { step: entry.step, arrays });
  }
}

export function encodeModel(header: ModelHeader, tensors: Float32Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align4(16 + json.length);
  const floats = tensors.reduce((s, t) => s + t.length, 0);
  const size = dataStart + 4 * floats + 4;
  let out: Uint8Array;
  try {
    out = new Uint8Array(size);
  } catch {
    throw new OutOfMemoryError(`the model file would take ${size} bytes, more than this JavaScript engine can hold in one array`);
  }
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MODEL_MAGIC), 0);
  view.setUint32(8, MODEL_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let o = dataStart;
  for (const t of tensors) {
    // Little-endian floats: where the machine is little-endian too (every engine wasm runs on, in practice), one copy.
    if (LITTLE_ENDIAN) new Float32Array(out.buffer, o, t.length).set(t);
    else for (let i = 0; i < t.length; i++) view.setFloat32(o + 4 * i, t[i], true);
    o += 4 * t.length;
  }
  view.setUint32(o, crc32(out.subarray(0, o)), true);
  return out;
}

export function decodeModel(bytes: Uint8Array | ArrayBuffer): { header: ModelHeader; tensors: Float32Array[] } {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`a model must be given as a Uint8Array or an ArrayBuffer, got ${show(bytes)}`);
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MODEL_MAGIC) {
    throw new ValueError('not a wasmnet model file (the first bytes are not "WASMNET")');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (!READABLE_VERSIONS.includes(version)) throw new ValueError(`model file version ${version} is not supported (this wasmnet reads versions ${READABLE_VERSIONS.join(' and ')})`);
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) {
    throw new ValueError('the model file is damaged or truncated (checksum mismatch)');
  }
  const headerLen = view.getUint32(12, true);
  if (16 + headerLen > bytes.length - 4) throw new ValueError('the model file is truncated (header runs past the end)');
  let header: ModelHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen)));
  } catch {
    throw new ValueError('the model file header is not valid JSON');
  }
  if (header?.format !== 'wasmnet-model' || !Array.isArray(header.layers) || !Array.isArray(header.tensors) || !Array.isArray(header.inputShape)) {
    throw new ValueError('the model file header lacks format, inputShape, layers or tensors');
  }
  header.version = version;
  let o = align4(16 + headerLen);
  const tensors: Float32Array[] = [];
  for (const t of header.tensors) {
    if (!Number.isInteger(t?.length) || t.length < 0 || o + 4 * t.length > bytes.length - 4) {
      throw new ValueError(`the model file is truncated or inconsistent at tensor ${JSON.stringify(t?.name)}`);
    }
    let values: Float32Array;
    if (LITTLE_ENDIAN) {
      // A copy of the bytes (aligned, whatever the file's offset in its buffer), read as floats.
      const at = bytes.byteOffset + o;
      values = new Float32Array(bytes.buffer.slice(at, at + 4 * t.length));
    } else {
      values = new Float32Array(t.length);
      for (let i = 0; i < t.length; i++) values[i] = view.getFloat32(o + 4 * i, true);
    }
    o += 4 * t.length;
    tensors.push(values);
  }
  if (o !== bytes.length - 4) throw new ValueError(`the model file has ${plural(bytes.length - 4 - o, 'byte')} more than its header describes`);
  return { header, tensors };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
