/**
 * wasmnet: convolutional neural networks in Node and browsers, with the
 * course "Mathematics of Neural Networks"' layers on a Rust → WebAssembly SIMD core.
 */
export { init, isInitialized, WASM_FILE, type InitOptions, type WasmSource } from './core/wasm.js';
export { Tensor } from './core/tensor.js';
export { Rng } from './core/rng.js';
export { WasmnetError, ShapeError, ValueError, DisposedError, InitError, OutOfMemoryError } from './core/errors.js';
export { wasmBytesInUse, MEMORY_LIMIT } from './core/memory.js';
export { Activation, Identity, ReLU, Sigmoid, Tanh, SoftMax, activationByName, type ActivationName } from './activations.js';
export { Loss, CrossEntropy, MeanSquaredError, lossByName, type LossName } from './losses.js';
export { Optimizer, SGD, Adam, AdamW, optimizerFromConfig, type OptimizerConfig, type OptimizerState, type SGDOptions, type AdamOptions, type Parameter } from './optimizers.js';
export { StepDecay, ExponentialDecay, CosineAnnealing, FunctionSchedule, asLrSchedule, scheduleFromConfig, type LrSchedule, type LrFunction, type ScheduleConfig } from './train/schedules.js';
export { Initializer, RandnAverage } from './initializers.js';
export { Layer, type NamedParameter, type NamedBuffer, type BuildContext, type LayerSpecBase } from './layers/layer.js';
export { layerKinds, type LayerKind, type LayerSpec, type LayerAdders } from './layers/registry.js';
export type { ActivatedLayerOptions } from './layers/activated.js';
export type { GradcheckCase } from './layers/layer.js';
export { Conv2DLayer, type Conv2DOptions, type Conv2DSpec, type Conv2DPadding, type Conv2DStride, type Conv2DGeometry } from './layers/conv2d.js';
export { Pool2DLayer, type Pool2DOptions, type Pool2DSpec } from './layers/pool2d.js';
export { AvgPool2DLayer, type AvgPool2DOptions, type AvgPool2DSpec } from './layers/avgpool2d.js';
export { FlattenLayer, type FlattenSpec } from './layers/flatten.js';
export { DenseLayer, type DenseOptions, type DenseSpec } from './layers/dense.js';
export { DropoutLayer, type DropoutOptions, type DropoutSpec } from './layers/dropout.js';
export { BatchNormLayer, type BatchNormOptions, type BatchNormSpec } from './layers/batchnorm.js';
export { SequentialNet, type SequentialNetOptions } from './network.js';
export { type TrainOptions, type EpochStats, type BatchInfo } from './train/loop.js';
export { readModelHeader, type SaveOptions, type ModelHeader, type TrainingStateHeader } from './io/model-file.js';
export { gradientCheck, type GradientCheckOptions, type GradientCheckResult, type TensorCheck } from './gradcheck.js';
export { gradientCheckSuite, checkLayerKinds, checkNetwork, GRADCHECK_TOLERANCE, type GradcheckRow, type GradcheckSuiteOptions } from './gradcheck-suite.js';
export { readIdx, isGzip, type IdxFile, type IdxData } from './data/idx.js';
export { parseNpy, parseNpz, loadNpz, type NpyArray } from './data/npz.js';
export { loadMnist, mnistFromIdx, MNIST_FILES, MNIST_SIDE, MNIST_PIXELS, type MnistData, type MnistSplit, type LoadMnistOptions } from './data/mnist.js';
export { courseCnn, lenet5, vggMini, modelZoo, zooRecipes, type ModelName, type ModelOptions, type ZooRecipe } from './models.js';
export { prepareDigit } from './data/digits.js';
export { trainInWorker, type WorkerTrainOptions } from './worker-client.js';
export type { TrainRequest, WorkerMessage } from './worker-protocol.js';
