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
  /**
   * Sizes and the local header's offset in a zip64 extra field (the 32-bit fields then say 0xffffffff): all three,
   * or only those named (in the field's order: size, compressed size, offset).
   */
  zip64?: boolean | ('size' | 'compressedSize' | 'offset')[];
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

export class Bytes {
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
    const wide = e.zip64 === true ? ['size', 'compressedSize', 'offset'] : e.zip64 || [];
    out.u32(0x04034b50).u16(20).u16(e.flags ?? 0).u16(method).u16(0).u16(0).u32(crc);
    out.u32(wide.includes('compressedSize') ? 0xffffffff : compressedSize).u32(wide.includes('size') ? 0xffffffff : size);
    out.u16(name.length).u16(0).bytes(name).bytes(stored);
    const extra = new Bytes();
    for (const x of e.extraBefore ?? []) extra.u16(x.id).u16(x.data.length).bytes(x.data);
    if (wide.length > 0) {
      extra.u16(1).u16(8 * wide.length);
      if (wide.includes('size')) extra.u64(size);
      if (wide.includes('compressedSize')) extra.u64(compressedSize);
      if (wide.includes('offset')) extra.u64(offset);
    }
    central.bytes(
      centralRecord({
        name: e.name, method, flags: e.flags ?? 0, crc,
        compressedSize: wide.includes('compressedSize') ? 0xffffffff : compressedSize,
        size: wide.includes('size') ? 0xffffffff : size,
        local: wide.includes('offset') ? 0xffffffff : offset,
        extra: extra.done(), comment: e.comment ?? '',
      }),
    );
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

/** One central-directory record, every field as given (a name's length from the name, unless `nameLength` says). */
export function centralRecord(r: {
  name: string; method?: number; flags?: number; crc?: number; compressedSize: number; size: number; local: number;
  extra?: Uint8Array; comment?: string; nameLength?: number;
}): Uint8Array {
  const name = enc.encode(r.name);
  const extra = r.extra ?? new Uint8Array(0);
  const comment = enc.encode(r.comment ?? '');
  const out = new Bytes().u32(0x02014b50).u16(20).u16(20).u16(r.flags ?? 0).u16(r.method ?? 0).u16(0).u16(0).u32(r.crc ?? 0);
  out.u32(r.compressedSize).u32(r.size).u16(r.nameLength ?? name.length).u16(extra.length).u16(comment.length).u16(0).u16(0).u32(0);
  return out.u32(r.local).bytes(name).bytes(extra).bytes(comment).done();
}

/** A local header and the entry's bytes, stored. */
export function localRecord(name: string, data: Uint8Array): Uint8Array {
  const n = enc.encode(name);
  return new Bytes().u32(0x04034b50).u16(20).u16(0).u16(0).u16(0).u16(0).u32(crc32(data)).u32(data.length).u32(data.length)
    .u16(n.length).u16(0).bytes(n).bytes(data).done();
}

/** An end-of-central-directory record. */
export function endRecord(count: number, directorySize: number, directoryOffset: number, commentLength = 0): Uint8Array {
  return new Bytes().u32(0x06054b50).u16(0).u16(0).u16(count).u16(count).u32(directorySize).u32(directoryOffset).u16(commentLength).done();
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}
