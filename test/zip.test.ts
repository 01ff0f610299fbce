// The zip reader under parseNpz (ts/data/zip.ts), on archives written field by field (test/helpers/zip-writer.ts):
// what NumPy's savez and other tools write (comments, zip64, extra fields, stored and deflated entries), and each way
// an archive can be damaged, with the exact message that names it.
import { describe, expect, it } from 'vitest';
import { ValueError, parseNpy, parseNpz } from 'wasmnet';
import { npyBytes } from './helpers/npy-writer.js';
import { messageOf } from './helpers/util.js';
import { Bytes, type ZipEntrySpec, centralRecord, concat, endRecord, localRecord, writeZip } from './helpers/zip-writer.js';

/** A little-endian float64 .npy of `values` (shape [n]). */
const npy = (values: number[]) => npyBytes('<f8', [values.length], values);

const a = npy([1, 2, 3]);
const b = npy([-0.5]);
const entry = (name: string, data: Uint8Array, more: Partial<ZipEntrySpec> = {}): ZipEntrySpec => ({ name, data, ...more });
/** The arrays' values by name. */
const values = (bytes: Uint8Array) => Object.fromEntries(Object.entries(parseNpz(bytes, 'm.npz')).map(([k, v]) => [k, Array.from(v.data)]));
const refused = (bytes: Uint8Array) => messageOf(() => parseNpz(bytes, 'm.npz'));
const notReadable = (why: string) => `m.npz: not a readable .npz (zip) archive (${why})`;

describe('parseNpz reads', () => {
  it('stored and deflated entries, in archive order, skipping entries that are not .npy', () => {
    const zip = writeZip([entry('a.npy', a), entry('notes.txt', new Uint8Array([1, 2])), entry('b.npy', b, { method: 8 })]);
    expect(values(zip)).toEqual({ a: [1, 2, 3], b: [-0.5] });
    expect(Object.keys(parseNpz(zip, 'm.npz'))).toEqual(['a', 'b']);
  });

  it('an archive with a comment, up to the longest a zip allows (65,535 bytes), and with a stub before it', () => {
    for (const length of [1, 100, 0xffff]) {
      const comment = new Uint8Array(length).fill(0x41);
      expect(values(writeZip([entry('a.npy', a)], { comment })), `comment of ${length}`).toEqual({ a: [1, 2, 3] });
    }
    expect(values(writeZip([entry('a.npy', a)], { prefix: new Uint8Array(1000).fill(7) }))).toEqual({ a: [1, 2, 3] });
  });

  it('zip64: sizes and offsets in the extra field (after other extra fields), and the zip64 end record', () => {
    const extraBefore = [{ id: 0x5455, data: new Uint8Array([3, 1, 2, 3, 4]) }];
    const zip64 = writeZip([entry('a.npy', a, { zip64: true, extraBefore }), entry('b.npy', b, { zip64: true, method: 8 })], { zip64End: true });
    expect(values(zip64)).toEqual({ a: [1, 2, 3], b: [-0.5] });
    // Only the zip64 end record gives the count (the end record says 0xffff) and the directory's offset.
    expect(values(writeZip([entry('a.npy', a), entry('b.npy', b)], { zip64End: true }))).toEqual({ a: [1, 2, 3], b: [-0.5] });
  });

  it('zip64 extra fields that hold only the values that do not fit (size, compressed size or offset alone, or two)', () => {
    for (const zip64 of [['size'], ['compressedSize'], ['offset'], ['size', 'offset'], ['compressedSize', 'offset']] as const) {
      for (const method of [0, 8]) {
        const zip = writeZip([entry('x.txt', new Uint8Array(9)), entry('a.npy', a, { zip64: [...zip64], method }), entry('b.npy', b, { zip64: [...zip64], method })]);
        expect(values(zip), `${zip64.join('+')}, method ${method}`).toEqual({ a: [1, 2, 3], b: [-0.5] });
      }
    }
  });

  it('archives whose directory and data end exactly at the end of the bytes (every read at its last byte)', () => {
    // The directory placed after the end record, as its comment: its last entry ends where the bytes end.
    const local = localRecord('a.npy', a);
    const tail = centralRecord({ name: 'a.npy', crc: crc(a), compressedSize: a.length, size: a.length, local: 0 });
    const end = endRecord(1, tail.length, local.length + 22, tail.length);
    expect(values(concat(local, end, tail))).toEqual({ a: [1, 2, 3] });
    // An entry with no name, last: its 4-byte offset field is the last thing read.
    const nameless = centralRecord({ name: '', compressedSize: 0, size: 0, local: 0 });
    expect(values(concat(local, endRecord(1, nameless.length, local.length + 22, nameless.length), nameless))).toEqual({});
    // Its zip64 size, 8 bytes, last.
    const wideSize = centralRecord({ name: '', compressedSize: 0, size: 0xffffffff, local: 0, extra: new Bytes().u16(1).u16(8).u64(0).done() });
    expect(values(concat(local, endRecord(1, wideSize.length, local.length + 22, wideSize.length), wideSize))).toEqual({});
    // The entry's data, last: its local header and bytes are the end record's comment.
    const dataLast = centralRecord({ name: 'a.npy', crc: crc(a), compressedSize: a.length, size: a.length, local: 0 });
    const front = concat(dataLast, endRecord(1, dataLast.length, 0, local.length));
    const moved = centralRecord({ name: 'a.npy', crc: crc(a), compressedSize: a.length, size: a.length, local: front.length });
    expect(values(concat(moved, endRecord(1, moved.length, 0, local.length), local))).toEqual({ a: [1, 2, 3] });
  });

  it('a zip64 locator at the very start of the bytes (an archive of no entries whose zip64 record follows the end record)', () => {
    // locator (20 bytes) at 0, end record at 20 (saying 0xffff and 0xffffffff), then the zip64 record as its comment.
    const record = new Bytes().u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(0).u64(0).u64(0).u64(0).done();
    const locator = new Bytes().u32(0x07064b50).u32(0).u64(42).u32(1).done();
    const end = new Bytes().u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0).u32(0xffffffff).u16(record.length).done();
    expect(values(concat(locator, end, record))).toEqual({});
  });

  it('an empty archive, and one whose only entries are not arrays, as no arrays', () => {
    expect(values(writeZip([]))).toEqual({});
    expect(values(writeZip([entry('x.txt', new Uint8Array(3), { flags: 1 })])), 'an encrypted entry that is not read is no error').toEqual({});
  });
});

describe('parseNpz refuses, naming the archive and what is wrong', () => {
  it('data that is not a zip: too short, no end record, or one past the reach of a comment', () => {
    expect(refused(new Uint8Array(21))).toBe(notReadable('no end of central directory record'));
    expect(refused(new Uint8Array(5000))).toBe(notReadable('no end of central directory record'));
    // 65,536 bytes after the end record: more than any comment, so the record is not looked for there.
    const zip = writeZip([entry('a.npy', a)]);
    const far = new Uint8Array(zip.length + 0x10000);
    far.set(zip);
    expect(refused(far)).toBe(notReadable('no end of central directory record'));
    // The end record alone, at offset 0 (e = 0 is still searched).
    expect(values(writeZip([]))).toEqual({});
    expect(writeZip([]).length).toBe(22);
  });

  it('a damaged directory: its entry signature, a zip64 record that is not one, zip64 fields without their extra field', () => {
    const zip = writeZip([entry('a.npy', a)]);
    const directory = zip.length - 22 - (46 + 'a.npy'.length);
    const badEntry = zip.slice();
    badEntry[directory] ^= 0xff;
    expect(refused(badEntry)).toBe(notReadable('central directory entry 0 is damaged'));

    const z64 = writeZip([entry('a.npy', a)], { zip64End: true });
    const badRecord = z64.slice();
    badRecord[z64.length - 22 - 20 - 56] ^= 0xff; // the zip64 end record's signature
    expect(refused(badRecord)).toBe(notReadable('bad zip64 end of central directory'));

    const lacking = writeZip([entry('a.npy', a, { zip64: true })]);
    // Rename the zip64 extra field (id 1) to an unknown id: the 32-bit fields still say 0xffffffff.
    const extraId = lacking.length - 22 - 24 - 4;
    expect(lacking[extraId]).toBe(1);
    lacking[extraId] = 9;
    expect(refused(lacking)).toBe(notReadable('entry a.npy lacks its zip64 sizes'));
  });

  it('truncated archives: every cut through the directory and end record', () => {
    const zip = writeZip([entry('a.npy', a), entry('b.npy', b, { method: 8 })], { zip64End: true });
    for (let cut = 1; cut <= 160; cut++) {
      const message = refused(zip.subarray(0, zip.length - cut));
      expect(message, `cut ${cut}`).toMatch(/^m\.npz: not a readable \.npz \(zip\) archive \((truncated|no end of central directory record|bad zip64 end of central directory|central directory entry \d is damaged|entry .* lacks its zip64 sizes|entry .* runs past the end|entry .*: damaged local header)\)$/);
    }
    // An end record whose directory offset points past the end.
    const zip32 = writeZip([entry('a.npy', a)]);
    const far = zip32.slice();
    new DataView(far.buffer).setUint32(far.length - 22 + 16, zip32.length - 2, true);
    expect(refused(far)).toBe(notReadable('truncated'));
  });

  it('a directory entry cut short where it ends the bytes: its name, its extra fields, its zip64 values', () => {
    const local = localRecord('a.npy', a);
    /** `record` as the last bytes: the end record's comment, the directory it points to. */
    const last = (record: Uint8Array) => concat(local, endRecord(1, record.length, local.length + 22, record.length), record);
    const entry32 = { name: 'a.npy', crc: crc(a), compressedSize: a.length, size: a.length, local: 0 };
    expect(refused(last(centralRecord({ ...entry32, nameLength: 6 })))).toBe(notReadable('truncated'));
    // An extra field whose length runs past the end: its id is read, its length is not there.
    const full = { ...entry32, size: 0xffffffff };
    const cutExtra = (extra: Uint8Array, keep: number) => {
      const r = centralRecord({ ...full, extra });
      return last(r.subarray(0, r.length - extra.length + keep));
    };
    expect(refused(cutExtra(new Bytes().u16(9).u16(4).u32(0).done(), 2))).toBe(notReadable('truncated'));
    // A zip64 field whose 8 bytes are cut.
    expect(refused(cutExtra(new Bytes().u16(1).u16(8).u64(a.length).done(), 8))).toBe(notReadable('truncated'));
    // An extra field of no data, last, that is not zip64's: the sizes are missing, though every byte read exists.
    expect(refused(last(centralRecord({ ...full, extra: new Bytes().u16(9).u16(0).done() })))).toBe(notReadable('entry a.npy lacks its zip64 sizes'));
    // zip64's field, last, with no data: found, but its value is past the end.
    expect(refused(last(centralRecord({ ...full, extra: new Bytes().u16(1).u16(0).done() })))).toBe(notReadable('truncated'));
    // The zip64 end record cut: the locator is there, the record's count is past the end.
    const record = new Bytes().u32(0x06064b50).u64(44).done();
    const locator = new Bytes().u32(0x07064b50).u32(0).u64(42).u32(1).done();
    const end = new Bytes().u32(0x06054b50).u16(0).u16(0).u16(0xffff).u16(0xffff).u32(0).u32(0xffffffff).u16(record.length).done();
    expect(refused(concat(locator, end, record))).toBe(notReadable('truncated'));
  });

  it('entries: encrypted, twice, a damaged local header, data past the end', () => {
    expect(refused(writeZip([entry('a.npy', a, { flags: 1 })]))).toBe(notReadable('entry a.npy is encrypted'));
    expect(refused(writeZip([entry('a.npy', a), entry('a.npy', b)]))).toBe(notReadable('entry a.npy appears twice'));
    const zip = writeZip([entry('a.npy', a)]);
    const badLocal = zip.slice();
    badLocal[0] ^= 0xff;
    expect(refused(badLocal)).toBe(notReadable('entry a.npy: damaged local header'));
    expect(refused(writeZip([entry('a.npy', a, { compressedSize: 100_000, size: 100_000 })]))).toBe(notReadable('entry a.npy runs past the end'));
  });

  it('stored entries whose sizes disagree, deflated ones that claim too much or do not inflate, other methods', () => {
    expect(refused(writeZip([entry('a.npy', a, { size: a.length + 1 })]))).toBe(notReadable(`stored entry a.npy has ${a.length} bytes but claims ${a.length + 1}`));
    const deflated = writeZip([entry('a.npy', a, { method: 8 })]);
    const compressed = refusedSizes(deflated);
    // Claimed sizes are checked before anything is inflated: deflate expands by at most 1032:1 (+ 1024 bytes of slack).
    const most = 1032 * compressed + 1024;
    expect(refused(writeZip([entry('a.npy', a, { method: 8, size: most + 1 })]))).toBe(`m.npz: entry a.npy claims ${most + 1} bytes from ${compressed} compressed: damaged archive`);
    expect(refused(writeZip([entry('a.npy', a, { method: 8, size: most })]))).toBe("m.npz: entry a.npy is damaged (its CRC-32 or size does not match the archive's directory)");
    const garbage = writeZip([entry('a.npy', a, { method: 8 })]);
    const start = 30 + 'a.npy'.length;
    garbage[start] = 0xff; // a reserved block type
    expect(refused(garbage)).toMatch(/^m\.npz: not a readable \.npz \(zip\) archive \(entry a\.npy: .+\)$/);
    expect(refused(writeZip([entry('a.npy', a, { method: 12 })]))).toBe(notReadable('entry a.npy uses compression method 12 (only stored and deflated are read)'));
  });

  it('entries whose CRC-32 or size does not match their data, stored or deflated', () => {
    const damaged = "m.npz: entry a.npy is damaged (its CRC-32 or size does not match the archive's directory)";
    for (const method of [0, 8]) {
      expect(refused(writeZip([entry('a.npy', a, { method, crc: 12345 })])), `method ${method}`).toBe(damaged);
    }
    expect(refused(writeZip([entry('a.npy', a, { method: 8, size: a.length - 1 })]))).toMatch(/^m\.npz: (entry a\.npy is damaged|not a readable)/);
    expect(refused(writeZip([entry('a.npy', a, { method: 8, size: a.length + 1 })]))).toBe(damaged);
  });

  it('an array entry larger than 2 GiB, before reading it (parseNpz\'s own limit)', () => {
    const huge = 2 ** 31 + 1;
    expect(refused(writeZip([entry('a.npy', a, { zip64: true, size: huge, compressedSize: a.length })]))).toBe(`m.npz: entry a.npy claims ${huge} bytes from ${a.length} compressed: damaged archive`);
    // At the limit it is the zip reader that refuses (stored sizes differ), not the limit.
    expect(refused(writeZip([entry('a.npy', a, { zip64: true, size: 2 ** 31, compressedSize: a.length })]))).toBe(notReadable(`stored entry a.npy has ${a.length} bytes but claims ${2 ** 31}`));
  });

  it('a .npy entry that is not an array names the archive and the entry', () => {
    expect(refused(writeZip([entry('a.npy', new Uint8Array(20))]))).toBe('m.npz: a.npy: not a .npy array (bad magic)');
    expect(() => parseNpy(new Uint8Array(20))).toThrow('npy data: not a .npy array (bad magic)');
  });
});

/** The CRC-32 of `data` (bitwise, as zip defines it). */
function crc(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** The compressed size of the one entry of a deflated archive (from its directory). */
function refusedSizes(zip: Uint8Array): number {
  const view = new DataView(zip.buffer, zip.byteOffset);
  const directory = view.getUint32(zip.length - 22 + 16, true);
  return view.getUint32(directory + 20, true);
}
