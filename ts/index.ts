/**
 * wasmnet: convolutional neural networks in Node and browsers, with the
 * course "Mathematics of Neural Networks"' layers on a Rust → WebAssembly SIMD core.
 */
export { init, isInitialized, WASM_FILE, type InitOptions, type WasmSource } from './core/wasm.js';
export { Tensor } from './core/tensor.js';
export { Rng } from './core/rng.js';
export { WasmArray, allocF32, type F32Array } from './core/memory.js';
export { WasmnetError, ShapeError, ValueError, DisposedError, InitError, OutOfMemoryError } from './core/errors.js';
export { wasmBytesInUse, MEMORY_LIMIT } from './core/memory.js';
export { Activation, Identity, ReLU, Sigmoid, Tanh, SoftMax, activationByName, type ActivationName } from './activations.js';
export { Loss, CrossEntropy, MeanSquaredError, lossByName, type LossName } from './losses.js';
export { Optimizer, SGD, Adam, AdamW, optimizerFromConfig, type OptimizerConfig, type OptimizerState, type SGDOptions, type AdamOptions, type Parameter } from './optimizers.js';
export { StepDecay, ExponentialDecay, CosineAnnealing, FunctionSchedule, asLrSchedule, scheduleFromConfig, type LrSchedule, type LrFunction, type ScheduleConfig } from './train/schedules.js';
export { Initializer, RandnAverage } from './initializers.js';
export { Layer, type LayerKind, type NamedParameter } from './layers/layer.js';
export { Conv2DLayer, type Conv2DOptions } from './layers/conv2d.js';
export { Pool2DLayer, type Pool2DOptions } from './layers/pool2d.js';
export { FlattenLayer } from './layers/flatten.js';
export { DenseLayer, type DenseOptions } from './layers/dense.js';
export { SequentialNet, type SequentialNetOptions, type TrainOptions, type EpochStats, type BatchInfo } from './network.js';
export { gradientCheck, type GradientCheckOptions, type GradientCheckResult, type TensorCheck } from './gradcheck.js';
export { readIdx, isGzip, type IdxFile, type IdxData } from './data/idx.js';
export { parseNpy, parseNpz, loadNpz, type NpyArray } from './data/npz.js';
export { loadMnist, mnistFromIdx, MNIST_FILES, type MnistData, type LoadMnistOptions } from './data/mnist.js';
export { courseCnn } from './models.js';
export { prepareDigit } from './data/digits.js';
export { trainInWorker, type WorkerTrainOptions } from './worker-client.js';
export type { TrainRequest, WorkerMessage } from './worker-protocol.js';
