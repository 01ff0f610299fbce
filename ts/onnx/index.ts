/**
 * `wasmnet/onnx`: networks to and from ONNX, the format ONNX Runtime,
 * PyTorch, TensorRT and OpenVINO read. A separate entry so that the protobuf
 * library it needs stays out of the main bundle:
 *
 *   import { toOnnx, fromOnnx } from 'wasmnet/onnx';
 *   const bytes = toOnnx(net);                       // opset 13
 *   const again = fromOnnx(bytes, { optim: new Adam(0.001) });
 */
export { toOnnx, flipKernels, ONNX_EXPORT_OPSET, ONNX_PRODUCER, type ToOnnxOptions } from './export.js';
export { fromOnnx, ONNX_IMPORT_OPSETS, SUPPORTED_OPS, type FromOnnxOptions } from './import.js';
