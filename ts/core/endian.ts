/** Whether this machine stores numbers little-endian, as model files, zip files and CRC words are laid out (every engine wasm runs on, in practice). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
