/**
 * Writes safetensors files for tests: 8-byte little-endian header length, a
 * JSON header padded with spaces to a multiple of 8 (as the safetensors crate
 * does), then the tensor data in the order given.
 */

export interface SafetensorsTensor {
  name: string;
  /** Safetensors dtype string: F32, F16, BF16, I64, U8, … */
  dtype: string;
  shape: number[];
  data: Buffer;
}

export interface SafetensorsOptions {
  /**
   * Start every tensor at a multiple of this many bytes of the data area,
   * zero-filling the gaps (the format allows gaps; writers rarely make them).
   */
  align?: number;
}

/** A file from an arbitrary header (object or raw JSON text) and data area, for crafting malformed files. */
export function buildSafetensorsRaw(header: object | string, data: Buffer = Buffer.alloc(0)): Buffer {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const text = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text, data]);
}

export function buildSafetensors(tensors: readonly SafetensorsTensor[], metadata?: Record<string, string>, opts: SafetensorsOptions = {}): Buffer {
  const align = opts.align ?? 1;
  const header: Record<string, unknown> = {};
  if (metadata) header['__metadata__'] = metadata;
  const parts: Buffer[] = [];
  let pos = 0;
  for (const t of tensors) {
    const pad = (align - (pos % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    pos += pad;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [pos, pos + t.data.length] };
    parts.push(t.data);
    pos += t.data.length;
  }
  return buildSafetensorsRaw(header, Buffer.concat(parts));
}

/** Length of the header (the N of the first 8 bytes) of a safetensors buffer. */
export function safetensorsHeaderLength(file: Buffer): number {
  return Number(file.readBigUInt64LE(0));
}
