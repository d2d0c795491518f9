/**
 * Writes GGUF v2/v3 files for tests (little-endian): magic, version, tensor
 * count, KV count, metadata KVs, tensor infos, padding to the alignment, then
 * each tensor at an aligned offset of the data section, zero-padded after.
 * The type table is independent of the reader's so that tests check one
 * against the other.
 */

/** ggml type name → [id, block size, bytes per block]. */
export const GGML_TEST_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  F32: [0, 1, 4], F16: [1, 1, 2], Q4_0: [2, 32, 18], Q4_1: [3, 32, 20], Q5_0: [6, 32, 22], Q5_1: [7, 32, 24],
  Q8_0: [8, 32, 34], Q8_1: [9, 32, 36], Q2_K: [10, 256, 84], Q3_K: [11, 256, 110], Q4_K: [12, 256, 144],
  Q5_K: [13, 256, 176], Q6_K: [14, 256, 210], Q8_K: [15, 256, 292], IQ4_NL: [20, 32, 18], IQ4_XS: [23, 256, 136],
  I8: [24, 1, 1], I16: [25, 1, 2], I32: [26, 1, 4], I64: [27, 1, 8], F64: [28, 1, 8], BF16: [30, 1, 2],
  TQ2_0: [35, 256, 66], MXFP4: [39, 32, 17],
};

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'u64' | 'i64' | 'f64';
export type GgufValue =
  | { type: GgufScalarType; value: number | bigint | boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufScalarType | 'string' | 'array'; items: GgufValue[] };

const VALUE_TYPE: Record<GgufValue['type'], number> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
};

export interface GgufTensor {
  name: string;
  /** ggml type name (a key of GGML_TEST_TYPES) or a raw type id, for crafting unknown types. */
  type: string | number;
  /** Dimensions outermost first, as segments report them; written to the file reversed (ggml ne order). */
  shape: number[];
  data: Buffer;
}

export interface GgufOptions {
  version?: number;
  /** Written as general.alignment (u32) when given; the default 32 otherwise. */
  alignment?: number;
  metadata?: Record<string, GgufValue>;
}

export interface GgufLayout {
  file: Buffer;
  /** Offset of the first KV (after the 24-byte fixed header). */
  kvStart: number;
  /** Offset of the first tensor info. */
  tensorInfoStart: number;
  /** Start of the data section. */
  dataStart: number;
  /** Absolute offset of each tensor's data, in input order. */
  tensorOffsets: number[];
}

class Writer {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  value(v: GgufValue): void {
    const b = Buffer.alloc(8);
    switch (v.type) {
      case 'string': return this.string(v.value);
      case 'array':
        this.u32(VALUE_TYPE[v.itemType]);
        this.u64(v.items.length);
        for (const item of v.items) this.value(item);
        return;
      case 'u8': b.writeUInt8(Number(v.value)); return this.push(b.subarray(0, 1));
      case 'i8': b.writeInt8(Number(v.value)); return this.push(b.subarray(0, 1));
      case 'bool': b.writeUInt8(v.value ? 1 : 0); return this.push(b.subarray(0, 1));
      case 'u16': b.writeUInt16LE(Number(v.value)); return this.push(b.subarray(0, 2));
      case 'i16': b.writeInt16LE(Number(v.value)); return this.push(b.subarray(0, 2));
      case 'u32': b.writeUInt32LE(Number(v.value)); return this.push(b.subarray(0, 4));
      case 'i32': b.writeInt32LE(Number(v.value)); return this.push(b.subarray(0, 4));
      case 'f32': b.writeFloatLE(Number(v.value)); return this.push(b.subarray(0, 4));
      case 'u64': b.writeBigUInt64LE(BigInt(v.value as number | bigint)); return this.push(b);
      case 'i64': b.writeBigInt64LE(BigInt(v.value as number | bigint)); return this.push(b);
      case 'f64': b.writeDoubleLE(Number(v.value)); return this.push(b);
    }
  }
  pad(align: number): void {
    const n = (align - (this.length % align)) % align;
    if (n) this.push(Buffer.alloc(n));
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Byte size of a tensor of a known ggml type. */
export function ggufTensorBytes(type: string, shape: readonly number[]): number {
  const t = GGML_TEST_TYPES[type];
  if (!t) throw new Error(`build-gguf: unknown type ${type}`);
  const elements = shape.reduce((a, b) => a * b, 1);
  return (elements / t[1]) * t[2];
}

export function buildGgufLayout(tensors: readonly GgufTensor[], opts: GgufOptions = {}): GgufLayout {
  const alignment = opts.alignment ?? 32;
  const metadata: Record<string, GgufValue> = { ...(opts.metadata ?? {}) };
  if (opts.alignment !== undefined) metadata['general.alignment'] = { type: 'u32', value: opts.alignment };
  const w = new Writer();
  w.push(Buffer.from('GGUF', 'latin1'));
  w.u32(opts.version ?? 3);
  w.u64(tensors.length);
  w.u64(Object.keys(metadata).length);
  const kvStart = w.length;
  for (const [key, value] of Object.entries(metadata)) {
    w.string(key);
    w.u32(VALUE_TYPE[value.type]);
    w.value(value);
  }
  const tensorInfoStart = w.length;
  let rel = 0;
  const relOffsets: number[] = [];
  for (const t of tensors) {
    if (typeof t.type === 'string' && ggufTensorBytes(t.type, t.shape) !== t.data.length) {
      throw new Error(`build-gguf: ${t.name} has ${t.data.length} bytes, ${t.type} ${JSON.stringify(t.shape)} needs ${ggufTensorBytes(t.type, t.shape)}`);
    }
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(typeof t.type === 'number' ? t.type : GGML_TEST_TYPES[t.type]![0]);
    w.u64(rel);
    relOffsets.push(rel);
    rel += Math.ceil(t.data.length / alignment) * alignment;
  }
  w.pad(alignment);
  const dataStart = w.length;
  for (const t of tensors) {
    w.push(t.data);
    w.pad(alignment);
  }
  return { file: w.finish(), kvStart, tensorInfoStart, dataStart, tensorOffsets: relOffsets.map((r) => dataStart + r) };
}

export function buildGguf(tensors: readonly GgufTensor[], opts: GgufOptions = {}): Buffer {
  return buildGgufLayout(tensors, opts).file;
}
