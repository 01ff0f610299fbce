/**
 * `wasmnet/internal`: the raw kernel table and wasm-memory arrays, for the
 * benchmark and for tests that call kernels directly. Not a stable API:
 * applications use `wasmnet`.
 */
export { joinThreadMemory, kernels, load, threadMemory, threadsModule, type KernelExports } from './core/wasm.js';
export { WasmArray, allocF32, allocU8, allocU32, gemmWorkspace, type F32Array } from './core/memory.js';
export { WORKERS_IDLE_MS, idleWorkerCount, poolStats, poolTestHooks, resetPoolStats, workerLife } from './parallel/pool.js';
export { GradientTree, MAX_SHARDS, MAX_TAIL_SHARDS, MIN_SHARD, type StackNode, maxNodesPerWorker, ownShards, shardCount, shardSize, tailShards, workerShards } from './train/shards.js';
export { ShardNets, exchangePlan, maxExchangeFloats, runShardsTogether, shardNetHooks, trainsTogether } from './train/together.js';
export { rowsAreDistributions } from './losses.js';
