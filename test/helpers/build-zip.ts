/**
 * Writes ZIP archives by hand, the way torch.save does (PyTorch's
 * inline_container / miniz): local header, name, an extra field padding the
 * data to a 64-byte boundary (id 'FB' = 0x4246, as PyTorch writes it), the
 * stored data; then the central directory, optionally the ZIP64 end of central
 * directory record and locator, and the end of central directory record.
 * Independent of src/formats/zip.ts so that tests check one against the other.
 */

import { statePickle } from './build-pickle.js';

export interface ZipTestEntry {
  name: string;
  data: Buffer;
  /** Compression method written in the headers (default 0, stored). The data is written as given: nothing is compressed. */
  method?: number;
  /** Uncompressed size to claim (default data.length). */
  uncompressedSize?: number;
  /** Pad the data to this alignment with an 'FB' extra field (default 64 for `…/data/<n>` entries, none otherwise). */
  align?: number;
  /** Set flag bit 3 and write a 16-byte data descriptor after the data. */
  dataDescriptor?: boolean;
}

export interface ZipTestOptions {
  /** Write ZIP64 records: 0xFFFFFFFF escapes in the central directory with a ZIP64 extra field, ZIP64 EOCD record and locator. */
  zip64?: boolean;
  /** EOCD comment. */
  comment?: Buffer;
}

export interface BuiltZipEntry {
  name: string;
  localHeaderOffset: number;
  dataOffset: number;
  length: number;
  /** Offset of this entry's central directory header. */
  centralOffset: number;
}

export interface BuiltZip {
  file: Buffer;
  entries: BuiltZipEntry[];
  cdOffset: number;
  cdSize: number;
  zip64EocdOffset?: number;
  zip64LocatorOffset?: number;
  eocdOffset: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const STORAGE = /^[^/]+\/data\/\d+$/;

export function buildZip(entries: readonly ZipTestEntry[], opts: ZipTestOptions = {}): BuiltZip {
  const parts: Buffer[] = [];
  let pos = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    pos += b.length;
  };
  const built: BuiltZipEntry[] = [];
  const meta: { e: ZipTestEntry; crc: number; flags: number; method: number; uncompressed: number; offset: number }[] = [];

  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method ?? 0;
    const flags = 0x0800 | (e.dataDescriptor ? 0x0008 : 0);
    const uncompressed = e.uncompressedSize ?? e.data.length;
    const crc = crc32(e.data);
    const offset = pos;
    const align = e.align ?? (STORAGE.test(e.name) ? 64 : 0);
    let extra = Buffer.alloc(0);
    if (align > 0) {
      const base = offset + 30 + name.length + 4;
      const pad = (align - (base % align)) % align;
      extra = Buffer.alloc(4 + pad, 'Z'.charCodeAt(0));
      extra.writeUInt16LE(0x4246, 0);
      extra.writeUInt16LE(pad, 2);
    }
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(0, 10); // time
    lh.writeUInt16LE(0x21, 12); // date 1980-01-01
    lh.writeUInt32LE(e.dataDescriptor ? 0 : crc, 14);
    lh.writeUInt32LE(e.dataDescriptor ? 0 : e.data.length, 18);
    lh.writeUInt32LE(e.dataDescriptor ? 0 : uncompressed, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    push(lh);
    push(name);
    push(extra);
    const dataOffset = pos;
    push(e.data);
    if (e.dataDescriptor) {
      const dd = Buffer.alloc(16);
      dd.writeUInt32LE(0x08074b50, 0);
      dd.writeUInt32LE(crc, 4);
      dd.writeUInt32LE(e.data.length, 8);
      dd.writeUInt32LE(uncompressed, 12);
      push(dd);
    }
    built.push({ name: e.name, localHeaderOffset: offset, dataOffset, length: e.data.length, centralOffset: 0 });
    meta.push({ e, crc, flags, method, uncompressed, offset });
  }

  const cdOffset = pos;
  for (const [i, m] of meta.entries()) {
    built[i]!.centralOffset = pos;
    const name = Buffer.from(m.e.name, 'utf8');
    let extra = Buffer.alloc(0);
    if (opts.zip64) {
      extra = Buffer.alloc(4 + 24);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(m.uncompressed), 4);
      extra.writeBigUInt64LE(BigInt(m.e.data.length), 12);
      extra.writeBigUInt64LE(BigInt(m.offset), 20);
    }
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    ch.writeUInt16LE(opts.zip64 ? 45 : 20, 6);
    ch.writeUInt16LE(m.flags, 8);
    ch.writeUInt16LE(m.method, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(m.crc, 16);
    ch.writeUInt32LE(opts.zip64 ? 0xffffffff : m.e.data.length, 20);
    ch.writeUInt32LE(opts.zip64 ? 0xffffffff : m.uncompressed, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(extra.length, 30);
    ch.writeUInt16LE(0, 32); // comment
    ch.writeUInt16LE(0, 34); // disk
    ch.writeUInt16LE(0, 36);
    ch.writeUInt32LE(0, 38);
    ch.writeUInt32LE(opts.zip64 ? 0xffffffff : m.offset, 42);
    push(ch);
    push(name);
    push(extra);
  }
  const cdSize = pos - cdOffset;
  const out: Omit<BuiltZip, 'file' | 'eocdOffset'> = { entries: built, cdOffset, cdSize };

  if (opts.zip64) {
    out.zip64EocdOffset = pos;
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeUInt32LE(0, 16);
    rec.writeUInt32LE(0, 20);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    push(rec);
    out.zip64LocatorOffset = pos;
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeUInt32LE(0, 4);
    loc.writeBigUInt64LE(BigInt(out.zip64EocdOffset), 8);
    loc.writeUInt32LE(1, 16);
    push(loc);
  }
  const eocdOffset = pos;
  const comment = opts.comment ?? Buffer.alloc(0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4);
  eocd.writeUInt16LE(0, 6);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cdSize, 12);
  eocd.writeUInt32LE(opts.zip64 ? 0xffffffff : cdOffset, 16);
  eocd.writeUInt16LE(comment.length, 20);
  push(eocd);
  push(comment);
  return { ...out, file: Buffer.concat(parts), eocdOffset };
}

/** A torch.save-like checkpoint: archive/data.pkl, archive/data/0, archive/data/1, archive/version (and archive/byteorder). */
export function buildTorchZip(storages: readonly Buffer[], opts: ZipTestOptions = {}, archive = 'archive', pickle: Buffer = statePickle([])): BuiltZip {
  // By default an empty state dict: the storages are named by no tensor.
  const entries: ZipTestEntry[] = [
    { name: `${archive}/data.pkl`, data: pickle },
    { name: `${archive}/byteorder`, data: Buffer.from('little') },
    ...storages.map((data, i) => ({ name: `${archive}/data/${i}`, data })),
    { name: `${archive}/version`, data: Buffer.from('3\n') },
  ];
  return buildZip(entries, opts);
}
