import type { ByteSource } from '../io/file-source.js';
import { FormatError } from './errors.js';
import { WindowedSource } from './window.js';

/**
 * A bounded reader of a ZIP archive's structure: the end of central directory
 * record (EOCD), the ZIP64 EOCD locator and record, the central directory and
 * each entry's local file header. It never reads or decompresses entry data.
 * Every count, size and offset is checked against the file size before it is
 * used, so a malformed or hostile archive gives a FormatError naming the file,
 * never a RangeError or an allocation sized by a field of the file.
 *
 * Not supported (rejected): multi-disk archives, archives with bytes
 * prepended (self-extracting stubs: offsets would be relative to another
 * start), central directory encryption.
 */

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const EOCD_SIZE = 22;
export const ZIP64_LOCATOR_SIZE = 20;
export const ZIP64_EOCD_SIZE = 56;
/** EOCD plus the largest comment (65535 bytes): the EOCD is searched for only this far from the end. */
export const EOCD_SEARCH = EOCD_SIZE + 0xffff;
/** Entry names are u16-length-prefixed, so at most 65535 bytes; we refuse more than 64 KiB anyway. */
export const MAX_NAME_LENGTH = 64 * 1024;
/** ZIP64 extended information extra field id. */
const ZIP64_EXTRA_ID = 0x0001;

export interface ZipEntry {
  /** Entry name (decoded as UTF-8, or latin1 when it is not valid UTF-8). */
  name: string;
  /** General purpose bit flags (bit 0 encrypted, bit 3 data descriptor follows, bit 11 UTF-8). */
  flags: number;
  /** Compression method: 0 stored, 8 deflate, … */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the local file header. */
  localHeaderOffset: number;
  /** Local header + name + extra: the data starts at localHeaderOffset + localHeaderLength. */
  localHeaderLength: number;
  /** Offset of the entry's (compressed) data. */
  dataOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** Central directory start and size. */
  cdOffset: number;
  cdSize: number;
  /** Offset of the ZIP64 EOCD record, when there is one. */
  zip64EocdOffset?: number;
  /** Offset of the (classic) EOCD record. */
  eocdOffset: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeName(b: Buffer): string {
  try {
    return utf8.decode(b);
  } catch {
    return b.toString('latin1');
  }
}

/** u64 little-endian as a number, or undefined above 2^53 - 1 (no file is that large). */
function u64(b: Buffer, at: number): number | undefined {
  const n = b.readBigUInt64LE(at);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

/** Finds the classic EOCD: the last signature in the final 65557 bytes whose comment ends exactly at the end of the file. */
function findEocd(src: ByteSource, fail: (c: string) => never): number {
  if (src.size < EOCD_SIZE) fail(`file is ${src.size} bytes, too short for a ZIP end of central directory record (${EOCD_SIZE} bytes)`);
  const tailLen = Math.min(src.size, EOCD_SEARCH);
  const tailStart = src.size - tailLen;
  const tail = src.read(tailStart, tailLen);
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_EOCD) continue;
    const commentLen = tail.readUInt16LE(i + 20);
    if (i + EOCD_SIZE + commentLen === tailLen) return tailStart + i;
  }
  return fail(`no ZIP end of central directory record in the last ${tailLen} bytes`);
}

/**
 * Reads the archive's directory. `label` prefixes error causes (e.g. 'pytorch').
 * Checks: EOCD within the last 65557 bytes; single disk; ZIP64 locator and
 * record (when present) inside the file and before the EOCD; central directory
 * inside the file and before the EOCD (or ZIP64 record); entry count ≤ central
 * directory size / 46 (hence ≤ file size / 46); each entry's header, name,
 * extra and comment inside the central directory; ZIP64 extra fields complete;
 * each local header, name, extra and data inside [0, cdOffset); local and
 * central names equal; method 0 entries with compressed == uncompressed size;
 * no two entries' [local header, data end) ranges overlapping.
 */
export function readZipDirectory(src: ByteSource, label = 'zip'): ZipDirectory {
  const file = src.name;
  const fail = (cause: string): never => {
    throw new FormatError(file, `${label}: ${cause}`);
  };
  const size = src.size;
  const eocdOffset = findEocd(src, fail);
  const eocd = src.read(eocdOffset, EOCD_SIZE);
  const diskNo = eocd.readUInt16LE(4);
  const cdDisk = eocd.readUInt16LE(6);
  const entriesOnDisk16 = eocd.readUInt16LE(8);
  const entries16 = eocd.readUInt16LE(10);
  const cdSize32 = eocd.readUInt32LE(12);
  const cdOffset32 = eocd.readUInt32LE(16);

  let count: number = entries16;
  let entriesOnDisk: number = entriesOnDisk16;
  let cdSize: number = cdSize32;
  let cdOffset: number = cdOffset32;
  let dirEnd = eocdOffset; // the central directory must end at or before this
  let zip64EocdOffset: number | undefined;

  const locPos = eocdOffset - ZIP64_LOCATOR_SIZE;
  if (locPos >= 0 && src.read(locPos, 4).readUInt32LE(0) === SIG_ZIP64_LOCATOR) {
    const loc = src.read(locPos, ZIP64_LOCATOR_SIZE);
    const recDisk = loc.readUInt32LE(4);
    const recOffset = u64(loc, 8);
    const disks = loc.readUInt32LE(16);
    if (recDisk !== 0 || disks > 1) fail(`multi-disk archives are not supported (ZIP64 locator: record on disk ${recDisk}, ${disks} disks)`);
    if (recOffset === undefined || recOffset + ZIP64_EOCD_SIZE > locPos) {
      fail(`ZIP64 end of central directory record offset ${recOffset ?? '>2^53'} does not leave room for the record before the locator at ${locPos}`);
    }
    const rec = src.read(recOffset!, ZIP64_EOCD_SIZE);
    if (rec.readUInt32LE(0) !== SIG_ZIP64_EOCD) fail(`no ZIP64 end of central directory record at offset ${recOffset} (bad signature)`);
    const recSize = u64(rec, 4);
    if (recSize === undefined || recSize < ZIP64_EOCD_SIZE - 12 || recOffset! + 12 + recSize > locPos) {
      fail(`ZIP64 end of central directory record size ${recSize ?? '>2^53'} runs past the locator at ${locPos}`);
    }
    const d64 = rec.readUInt32LE(16);
    const cd64Disk = rec.readUInt32LE(20);
    const onDisk64 = u64(rec, 24);
    const total64 = u64(rec, 32);
    const cdSize64 = u64(rec, 40);
    const cdOffset64 = u64(rec, 48);
    if (d64 !== 0 || cd64Disk !== 0) fail(`multi-disk archives are not supported (ZIP64 record: disk ${d64}, central directory on disk ${cd64Disk})`);
    if (onDisk64 === undefined || total64 === undefined || cdSize64 === undefined || cdOffset64 === undefined) {
      fail('ZIP64 end of central directory record has a count, size or offset above 2^53');
    }
    // The classic fields are either the real value or the 0xFFFF(FFFF) escape.
    const agree = (classic: number, escape: number, v: number, what: string): void => {
      if (classic !== escape && classic !== v) fail(`${what} disagrees between the end of central directory record (${classic}) and the ZIP64 record (${v})`);
    };
    agree(entries16, 0xffff, total64!, 'entry count');
    agree(entriesOnDisk16, 0xffff, onDisk64!, 'entries on this disk');
    agree(cdSize32, 0xffffffff, cdSize64!, 'central directory size');
    agree(cdOffset32, 0xffffffff, cdOffset64!, 'central directory offset');
    count = total64!;
    entriesOnDisk = onDisk64!;
    cdSize = cdSize64!;
    cdOffset = cdOffset64!;
    dirEnd = recOffset!;
    zip64EocdOffset = recOffset!;
  } else {
    if (diskNo !== 0 || cdDisk !== 0) fail(`multi-disk archives are not supported (disk ${diskNo}, central directory on disk ${cdDisk})`);
    if (cdSize32 === 0xffffffff || cdOffset32 === 0xffffffff) fail('central directory size or offset is a ZIP64 escape (0xFFFFFFFF) but there is no ZIP64 locator');
  }
  if (entriesOnDisk !== count) fail(`entries on this disk (${entriesOnDisk}) differ from the total (${count}): multi-disk archives are not supported`);
  if (cdOffset > dirEnd || cdSize > dirEnd - cdOffset) {
    fail(`central directory (${cdSize} bytes at offset ${cdOffset}) runs past the end of central directory records at ${dirEnd} (file ${size} bytes)`);
  }
  if (count > Math.floor(cdSize / CENTRAL_HEADER_SIZE) || count > Math.floor(size / CENTRAL_HEADER_SIZE)) {
    fail(`entry count ${count} does not fit in the central directory (${cdSize} bytes, ${CENTRAL_HEADER_SIZE} bytes per entry at least)`);
  }

  const win = new WindowedSource(src);
  const entries: ZipEntry[] = [];
  const centralNames: Buffer[] = [];
  const cdEnd = cdOffset + cdSize;
  let pos = cdOffset;
  for (let i = 0; i < count; i++) {
    const bad = (cause: string): never => fail(`central directory entry ${i} (offset ${pos}): ${cause}`);
    if (pos + CENTRAL_HEADER_SIZE > cdEnd) bad(`header runs past the end of the central directory at ${cdEnd}`);
    const h = win.bytes(pos, CENTRAL_HEADER_SIZE, 'central directory entry');
    if (h.readUInt32LE(0) !== SIG_CENTRAL) bad('bad signature');
    const flags = h.readUInt16LE(8);
    const method = h.readUInt16LE(10);
    const crc32 = h.readUInt32LE(16);
    const comp32 = h.readUInt32LE(20);
    const uncomp32 = h.readUInt32LE(24);
    const nameLen = h.readUInt16LE(28);
    const extraLen = h.readUInt16LE(30);
    const commentLen = h.readUInt16LE(32);
    const disk16 = h.readUInt16LE(34);
    const off32 = h.readUInt32LE(42);
    if (nameLen > MAX_NAME_LENGTH) bad(`name length ${nameLen} exceeds ${MAX_NAME_LENGTH}`);
    const varLen = nameLen + extraLen + commentLen;
    if (pos + CENTRAL_HEADER_SIZE + varLen > cdEnd) bad(`name, extra field and comment (${varLen} bytes) run past the end of the central directory at ${cdEnd}`);
    const nameBytes = Buffer.from(win.bytes(pos + CENTRAL_HEADER_SIZE, nameLen, 'entry name'));
    const name = decodeName(nameBytes);
    const ebad = (cause: string): never => fail(`entry '${name}': ${cause}`);
    const extra = win.bytes(pos + CENTRAL_HEADER_SIZE + nameLen, extraLen, 'entry extra field');

    let uncompressedSize: number = uncomp32;
    let compressedSize: number = comp32;
    let localHeaderOffset: number = off32;
    let disk: number = disk16;
    const needs64 = uncomp32 === 0xffffffff || comp32 === 0xffffffff || off32 === 0xffffffff || disk16 === 0xffff;
    if (needs64) {
      // Walk the extra fields for the ZIP64 one; each is u16 id, u16 size, data.
      let e = 0;
      let found = false;
      while (e + 4 <= extra.length) {
        const id = extra.readUInt16LE(e);
        const len = extra.readUInt16LE(e + 2);
        if (e + 4 + len > extra.length) ebad(`extra field 0x${id.toString(16)} (${len} bytes) runs past the end of the extra data (${extra.length} bytes)`);
        if (id === ZIP64_EXTRA_ID) {
          found = true;
          let p = e + 4;
          const end = p + len;
          const take8 = (what: string): number => {
            if (p + 8 > end) ebad(`ZIP64 extra field is too short for the ${what}`);
            const v = u64(extra, p);
            if (v === undefined) ebad(`ZIP64 ${what} is above 2^53`);
            p += 8;
            return v!;
          };
          if (uncomp32 === 0xffffffff) uncompressedSize = take8('uncompressed size');
          if (comp32 === 0xffffffff) compressedSize = take8('compressed size');
          if (off32 === 0xffffffff) localHeaderOffset = take8('local header offset');
          if (disk16 === 0xffff) {
            if (p + 4 > end) ebad('ZIP64 extra field is too short for the disk number');
            disk = extra.readUInt32LE(p);
          }
          break;
        }
        e += 4 + len;
      }
      if (!found) ebad('sizes or offset are ZIP64 escapes (0xFFFFFFFF) but there is no ZIP64 extra field');
    }
    if (disk !== 0) ebad(`starts on disk ${disk}: multi-disk archives are not supported`);
    if (method === 0 && compressedSize !== uncompressedSize) ebad(`stored (method 0) but compressed size ${compressedSize} differs from uncompressed size ${uncompressedSize}`);
    if (localHeaderOffset + LOCAL_HEADER_SIZE > cdOffset) ebad(`local header offset ${localHeaderOffset} leaves no room for a local header before the central directory at ${cdOffset}`);

    entries.push({ name, flags, method, crc32, compressedSize, uncompressedSize, localHeaderOffset, localHeaderLength: 0, dataOffset: 0 });
    centralNames.push(nameBytes);
    pos += CENTRAL_HEADER_SIZE + varLen;
  }
  if (pos !== cdEnd) fail(`central directory holds ${pos - cdOffset} bytes of ${count} entries but its size is ${cdSize}`);

  // Local headers: each must lie before the central directory and agree with it.
  for (const [i, ent] of entries.entries()) {
    const nameBytes = centralNames[i]!;
    const ebad = (cause: string): never => fail(`entry '${ent.name}': ${cause}`);
    const lh = win.bytes(ent.localHeaderOffset, LOCAL_HEADER_SIZE, `local header of '${ent.name}'`);
    if (lh.readUInt32LE(0) !== SIG_LOCAL) ebad(`no local file header at offset ${ent.localHeaderOffset} (bad signature)`);
    const lMethod = lh.readUInt16LE(8);
    const lNameLen = lh.readUInt16LE(26);
    const lExtraLen = lh.readUInt16LE(28);
    if (lMethod !== ent.method) ebad(`local header method ${lMethod} differs from the central directory's ${ent.method}`);
    if (lNameLen !== nameBytes.length) ebad(`local header name length ${lNameLen} differs from the central directory's ${nameBytes.length}`);
    const headerLen = LOCAL_HEADER_SIZE + lNameLen + lExtraLen;
    const dataOffset = ent.localHeaderOffset + headerLen;
    if (dataOffset > cdOffset || ent.compressedSize > cdOffset - dataOffset) {
      ebad(`local header (${headerLen} bytes at ${ent.localHeaderOffset}) and data (${ent.compressedSize} bytes) run past the central directory at ${cdOffset}`);
    }
    const lName = win.bytes(ent.localHeaderOffset + LOCAL_HEADER_SIZE, lNameLen, `local name of '${ent.name}'`);
    if (!lName.equals(nameBytes)) ebad(`local header name '${decodeName(Buffer.from(lName))}' differs from the central directory's`);
    ent.localHeaderLength = headerLen;
    ent.dataOffset = dataOffset;
  }

  // No two entries may share bytes.
  const sorted = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    const aEnd = a.dataOffset + a.compressedSize;
    if (b.localHeaderOffset < aEnd) {
      fail(`entry '${b.name}' (bytes ${b.localHeaderOffset}..${b.dataOffset + b.compressedSize}) overlaps entry '${a.name}' (bytes ${a.localHeaderOffset}..${aEnd})`);
    }
  }

  const dir: ZipDirectory = { entries, cdOffset, cdSize, eocdOffset };
  if (zip64EocdOffset !== undefined) dir.zip64EocdOffset = zip64EocdOffset;
  return dir;
}
