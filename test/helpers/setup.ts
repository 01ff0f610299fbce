import { init } from 'wasmnet';

// Every test file runs against the built WebAssembly core.
await init();
