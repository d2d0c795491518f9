import { extname } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { layoutSegments } from './coverage.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';
import { WindowedSource } from './window.js';

/** A ggml tensor type: canonical dtype name, elements per block, bytes per block. */
export interface GgmlType {
  name: string;
  blockSize: number;
  typeSize: number;
}

/**
 * ggml types a GGUF file may hold (gguf-py GGML_QUANT_SIZES). Plain types
 * take the canonical safetensors names; block-quantized ones keep their GGUF
 * names. Ids 4, 5 and 31–33, 36–38 were removed from ggml and are rejected.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map(
  (
    [
      [0, 'F32', 1, 4], [1, 'F16', 1, 2],
      [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20], [6, 'Q5_0', 32, 22], [7, 'Q5_1', 32, 24],
      [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36],
      [10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110], [12, 'Q4_K', 256, 144], [13, 'Q5_K', 256, 176],
      [14, 'Q6_K', 256, 210], [15, 'Q8_K', 256, 292],
      [16, 'IQ2_XXS', 256, 66], [17, 'IQ2_XS', 256, 74], [18, 'IQ3_XXS', 256, 98], [19, 'IQ1_S', 256, 50],
      [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', 256, 110], [22, 'IQ2_S', 256, 82], [23, 'IQ4_XS', 256, 136],
      [24, 'I8', 1, 1], [25, 'I16', 1, 2], [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8],
      [29, 'IQ1_M', 256, 56], [30, 'BF16', 1, 2],
      [34, 'TQ1_0', 256, 54], [35, 'TQ2_0', 256, 66], [39, 'MXFP4', 32, 17],
    ] as const
  ).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

/** GGUF metadata value types. */
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
const FIXED_SIZE: ReadonlyMap<number, number> = new Map([
  [T.U8, 1], [T.I8, 1], [T.BOOL, 1], [T.U16, 2], [T.I16, 2], [T.U32, 4], [T.I32, 4], [T.F32, 4],
  [T.U64, 8], [T.I64, 8], [T.F64, 8],
]);

export const DEFAULT_ALIGNMENT = 32;
/** Longest key or tensor name we decode (ggml itself caps tensor names at 63 bytes). */
export const MAX_NAME = 65536;
/** Longest string value we skip over; chat templates and the like are kilobytes. */
export const MAX_STRING = 64 * 1024 * 1024;
export const MAX_DIMS = 8;
/** Arrays of arrays nest one level in practice; the limit keeps recursion shallow. */
export const MAX_ARRAY_DEPTH = 8;
/** Largest alignment accepted: offsets are multiples of it, so a huge value only creates huge padding. */
export const MAX_ALIGNMENT = 1 << 24;

/** Smallest encodings: a KV is key length (8) + key (≥1) + type (4) + value (≥1); a tensor info is name length (8) + n_dims (4) + type (4) + offset (8). */
const MIN_KV_BYTES = 14;
const MIN_TENSOR_INFO_BYTES = 24;
const FIXED_HEADER = 24;

/** Little-endian cursor over the header, never past the end of the file. */
class Cursor {
  pos = 0;
  constructor(readonly win: WindowedSource) {}

  fail(cause: string): never {
    return this.win.fail(`gguf: ${cause}`);
  }
  get remaining(): number {
    return this.win.size - this.pos;
  }
  private take(n: number, what: string): Buffer {
    if (n > this.remaining) this.fail(`${what} at offset ${this.pos} runs past the end of the file (${this.win.size} bytes)`);
    const b = this.win.bytes(this.pos, n, what);
    this.pos += n;
    return b;
  }
  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }
  u64(what: string): bigint {
    return this.take(8, what).readBigUInt64LE(0);
  }
  /** A u64 that must not exceed `max` (itself a safe integer). */
  u64Max(what: string, max: number, why: string): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(max)) this.fail(`${what} ${v} at offset ${at} exceeds ${max} (${why})`);
    return Number(v);
  }
  skip(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what} (${n} bytes) at offset ${this.pos} runs past the end of the file (${this.win.size} bytes)`);
    this.pos += n;
  }
  /** A string's length, bounded by the bytes left and by `max`. */
  private strLen(what: string, max: number): number {
    const at = this.pos;
    const n = this.u64(`${what} length`);
    if (n > BigInt(this.remaining)) this.fail(`${what} at offset ${at} declares ${n} bytes, more than the ${this.remaining} left in the file`);
    if (n > BigInt(max)) this.fail(`${what} at offset ${at} declares ${n} bytes, over the ${max}-byte limit`);
    return Number(n);
  }
  string(what: string): string {
    const n = this.strLen(what, MAX_NAME);
    return this.take(n, what).toString('utf8');
  }
  skipString(what: string): void {
    this.skip(this.strLen(what, MAX_STRING), what);
  }
}

/** Skips one metadata value of type `type` without reading more of it than needed. */
function skipValue(c: Cursor, type: number, what: string, depth: number): void {
  const fixed = FIXED_SIZE.get(type);
  if (fixed !== undefined) return c.skip(fixed, what);
  if (type === T.STRING) return c.skipString(what);
  if (type !== T.ARRAY) c.fail(`${what} has unknown value type ${type}`);
  if (depth >= MAX_ARRAY_DEPTH) c.fail(`${what}: arrays nest more than ${MAX_ARRAY_DEPTH} deep`);
  const itemType = c.u32(`${what} item type`);
  // Every item takes at least one byte (8 for a string's length, 12 for a
  // nested array's header), so the count is bounded by the bytes left.
  const minItem = FIXED_SIZE.get(itemType) ?? (itemType === T.STRING ? 8 : itemType === T.ARRAY ? 12 : 1);
  const count = c.u64Max(`${what} item count`, Math.floor(c.remaining / minItem), 'more items than the rest of the file can hold');
  const itemFixed = FIXED_SIZE.get(itemType);
  if (itemFixed !== undefined) return c.skip(count * itemFixed, what);
  for (let i = 0; i < count; i++) skipValue(c, itemType, `${what}[${i}]`, depth + 1);
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export const ggufReader: FormatReader = {
  format: 'gguf',

  sniff(head: Buffer, path: string): boolean {
    return head.subarray(0, 4).toString('latin1') === 'GGUF' || extname(path).toLowerCase() === '.gguf';
  },

  read(src: ByteSource): Segmentation {
    const c = new Cursor(new WindowedSource(src));
    if (src.size < 8 || src.read(0, 4).toString('latin1') !== 'GGUF') c.fail('missing GGUF magic');
    c.pos = 4;
    const version = c.u32('version');
    if (version === 1) c.fail('GGUF version 1 is not supported (it used 32-bit counts); convert the file to v3');
    if (version !== 2 && version !== 3) {
      c.fail(`unsupported GGUF version ${version}${version >= 0x01000000 ? ' (a big-endian file?)' : ''}`);
    }
    const tensorCount = c.u64Max('tensor_count', Math.max(0, Math.floor((src.size - FIXED_HEADER) / MIN_TENSOR_INFO_BYTES)), 'more tensor infos than the file can hold');
    const kvCount = c.u64Max('metadata_kv_count', Math.max(0, Math.floor((src.size - FIXED_HEADER - tensorCount * MIN_TENSOR_INFO_BYTES) / MIN_KV_BYTES)), 'more metadata entries than the file can hold');

    let alignment = DEFAULT_ALIGNMENT;
    const keys = new Set<string>();
    for (let i = 0; i < kvCount; i++) {
      const key = c.string(`metadata key ${i}`);
      if (keys.has(key)) c.fail(`duplicate metadata key '${key}'`);
      keys.add(key);
      const type = c.u32(`type of '${key}'`);
      if (key === 'general.alignment') {
        if (type !== T.U32) c.fail(`general.alignment has value type ${type}, not u32`);
        alignment = c.u32('general.alignment');
        if (alignment === 0 || (alignment & (alignment - 1)) !== 0 || alignment > MAX_ALIGNMENT) {
          c.fail(`general.alignment ${alignment} is not a power of two up to ${MAX_ALIGNMENT}`);
        }
      } else {
        skipValue(c, type, `value of '${key}'`, 0);
      }
    }

    interface Info { name: string; type: GgmlType; shape: number[]; offset: number; length: number }
    const infos: Info[] = [];
    const names = new Set<string>();
    for (let i = 0; i < tensorCount; i++) {
      const name = c.string(`name of tensor ${i}`);
      const bad = (cause: string): never => c.fail(`tensor '${name}': ${cause}`);
      if (names.has(name)) bad('duplicate tensor name');
      names.add(name);
      const nDims = c.u32(`tensor '${name}': n_dims`);
      if (nDims > MAX_DIMS) bad(`n_dims ${nDims} exceeds ${MAX_DIMS}`);
      const ne: number[] = [];
      let elements = 1;
      for (let d = 0; d < nDims; d++) {
        // Every dimension is bounded by the file size, and so is their product
        // once we know the type: at least one byte per block.
        const v = c.u64Max(`tensor '${name}': dims[${d}]`, Number.MAX_SAFE_INTEGER, 'too large');
        ne.push(v);
        elements *= v;
        if (elements > Number.MAX_SAFE_INTEGER) bad(`dims [${ne.join(', ')}…] hold more than 2^53 elements`);
      }
      const typeId = c.u32(`tensor '${name}': type`);
      const type = GGML_TYPES.get(typeId);
      if (!type) bad(`unknown ggml type ${typeId}`);
      const { blockSize, typeSize } = type!;
      if ((ne[0] ?? 1) % blockSize !== 0) bad(`first dimension ${ne[0] ?? 1} is not a multiple of the ${type!.name} block size ${blockSize}`);
      const length = (elements / blockSize) * typeSize;
      if (!Number.isSafeInteger(length)) bad('byte size exceeds 2^53');
      const offset = c.u64Max(`tensor '${name}': offset`, Number.MAX_SAFE_INTEGER, 'too large');
      if (offset % alignment !== 0) bad(`offset ${offset} is not a multiple of the alignment ${alignment}`);
      // GGUF lists dimensions innermost first (ggml's ne[0] is the row); segments list them outermost first.
      infos.push({ name, type: type!, shape: ne.reverse(), offset, length });
    }

    const dataStart = alignUp(c.pos, alignment);
    const tensors: TensorSegment[] = [];
    for (const t of infos) {
      if (t.offset + t.length > src.size - dataStart) {
        c.fail(`tensor '${t.name}': data at offset ${t.offset} (${t.length} bytes) runs past the end of the data section (${Math.max(0, src.size - dataStart)} bytes from ${dataStart})`);
      }
      tensors.push({ kind: 'tensor', offset: dataStart + t.offset, length: t.length, name: t.name, dtype: t.type.name, shape: t.shape });
    }
    return { format: 'gguf', segments: layoutSegments(src.name, src.size, tensors) };
  },
};
