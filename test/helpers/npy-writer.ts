// A .npy (version 1.0) writer for the loaders' tests: the header padded to a multiple of 64 bytes, then the values
// in the given dtype, little-endian.

/** The dtypes the tests write. */
export type NpyDescr = '|u1' | '<i8' | '<f4' | '<f8';

/** A .npy of `values` with dtype `descr` and `shape` (C order). */
export function npyBytes(descr: NpyDescr, shape: number[], values: number[]): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const size = { '|u1': 1, '<i8': 8, '<f4': 4, '<f8': 8 }[descr];
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const v = new DataView(out.buffer, 10 + header.length);
  values.forEach((x, i) => {
    if (descr === '|u1') v.setUint8(i, x);
    else if (descr === '<i8') v.setBigInt64(8 * i, BigInt(x), true);
    else if (descr === '<f4') v.setFloat32(4 * i, x, true);
    else v.setFloat64(8 * i, x, true);
  });
  return out;
}
