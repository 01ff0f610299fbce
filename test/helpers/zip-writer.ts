// A zip writer for tests of ts/data/zip.ts: every field a reader checks can be set (or damaged) on purpose,
// which fflate's zipSync does not allow: zip64 sizes and directories, comments, flags, methods, claimed sizes.
import { deflateSync } from 'fflate';
import { crc32 } from '../../ts/core/crc32.js';

export interface ZipEntrySpec {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflated, anything else as given. */
  method?: number;
  /** General-purpose flags (bit 0: encrypted). */
  flags?: number;
  /** What the directory claims instead of the true values. */
  crc?: number;
  size?: number;
  compressedSize?: number;
  /** Sizes and the local header's offset in a zip64 extra field (the 32-bit fields then say 0xffffffff). */
  zip64?: boolean;
  /** Extra fields before the zip64 one (id, bytes), as other tools write them. */
  extraBefore?: { id: number; data: Uint8Array }[];
  /** A comment on the entry in the central directory. */
  comment?: string;
}

export interface ZipSpec {
  /** The archive's comment, after the end record. */
  comment?: Uint8Array;
  /** A zip64 end-of-directory record and locator before the end record (whose count and offset then say 0xffff…). */
  zip64End?: boolean;
  /** Bytes before the first local header (a self-extractor's stub). */
  prefix?: Uint8Array;
}

const enc = new TextEncoder();

class Bytes {
  private parts: number[] = [];
  get length(): number {
    return this.parts.length;
  }
  u8(...v: number[]): this {
    this.parts.push(...v);
    return this;
  }
  u16(v: number): this {
    return this.u8(v & 0xff, (v >>> 8) & 0xff);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(Math.floor(v / 0x10000) & 0xffff);
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** A zip archive of `entries`, as `spec` says. */
export function writeZip(entries: ZipEntrySpec[], spec: ZipSpec = {}): Uint8Array {
  const out = new Bytes();
  if (spec.prefix) out.bytes(spec.prefix);
  const central = new Bytes();
  for (const e of entries) {
    const method = e.method ?? 0;
    const stored = method === 8 ? deflateSync(e.data) : e.data;
    const crc = e.crc ?? crc32(e.data);
    const size = e.size ?? e.data.length;
    const compressedSize = e.compressedSize ?? stored.length;
    const name = enc.encode(e.name);
    const offset = out.length;
    out.u32(0x04034b50).u16(20).u16(e.flags ?? 0).u16(method).u16(0).u16(0).u32(crc);
    out.u32(e.zip64 ? 0xffffffff : compressedSize).u32(e.zip64 ? 0xffffffff : size).u16(name.length).u16(0).bytes(name).bytes(stored);
    const extra = new Bytes();
    for (const x of e.extraBefore ?? []) extra.u16(x.id).u16(x.data.length).bytes(x.data);
    if (e.zip64) extra.u16(1).u16(24).u64(size).u64(compressedSize).u64(offset);
    const extraBytes = extra.done();
    const comment = enc.encode(e.comment ?? '');
    central.u32(0x02014b50).u16(20).u16(20).u16(e.flags ?? 0).u16(method).u16(0).u16(0).u32(crc);
    central.u32(e.zip64 ? 0xffffffff : compressedSize).u32(e.zip64 ? 0xffffffff : size);
    central.u16(name.length).u16(extraBytes.length).u16(comment.length).u16(0).u16(0).u32(0);
    central.u32(e.zip64 ? 0xffffffff : offset).bytes(name).bytes(extraBytes).bytes(comment);
  }
  const directory = central.done();
  const directoryOffset = out.length;
  out.bytes(directory);
  if (spec.zip64End) {
    const record = out.length;
    out.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(entries.length).u64(entries.length).u64(directory.length).u64(directoryOffset);
    out.u32(0x07064b50).u32(0).u64(record).u32(1);
  }
  const comment = spec.comment ?? new Uint8Array(0);
  const count = spec.zip64End ? 0xffff : entries.length;
  out.u32(0x06054b50).u16(0).u16(0).u16(count).u16(count).u32(directory.length).u32(spec.zip64End ? 0xffffffff : directoryOffset);
  out.u16(comment.length).bytes(comment);
  return out.done();
}
