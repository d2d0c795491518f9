import { extname } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { elementCount, layoutSegments } from './coverage.js';
import { byteSize } from './dtypes.js';
import { FormatError } from './errors.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';

/** The safetensors crate refuses headers above 100 MB; we allow 100 MiB and never read more before checking. */
export const MAX_HEADER_LENGTH = 100 * 1024 * 1024;

/** Dtypes the safetensors format defines (crate `Dtype`), sizes in `DTYPE_BITS`. */
export const SAFETENSORS_DTYPES: ReadonlySet<string> = new Set([
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16',
  'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64', 'F4', 'F6_E2M3', 'F6_E3M2',
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Header length as a number, or undefined when it does not fit in 2^53 (the
 * file cannot be that large anyway).
 */
function headerLength(head: Buffer): number | undefined {
  const n = head.readBigUInt64LE(0);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

export const safetensorsReader: FormatReader = {
  format: 'safetensors',

  sniff(head: Buffer, path: string, size?: number): boolean {
    if (extname(path).toLowerCase() === '.safetensors') return true;
    // Without the extension: a u64 header length that fits the file, then a JSON object.
    if (head.length < 10) return false;
    const n = headerLength(head);
    if (n === undefined || n < 2 || n > MAX_HEADER_LENGTH) return false;
    if (size !== undefined && n > size - 8) return false;
    return head[8] === 0x7b /* { */ && (head[9] === 0x22 /* " */ || head[9] === 0x7d /* } */ || head[9] === 0x20);
  },

  read(src: ByteSource): Segmentation {
    const file = src.name;
    const fail = (cause: string): never => {
      throw new FormatError(file, cause);
    };
    if (src.size < 8) fail(`safetensors: file is ${src.size} bytes, too short for the 8-byte header length`);
    const n = headerLength(src.read(0, 8));
    if (n === undefined || n > src.size - 8) fail(`safetensors: header length ${n ?? '>2^53'} runs past the end of the file (${src.size} bytes)`);
    if (n! > MAX_HEADER_LENGTH) fail(`safetensors: header length ${n} exceeds the ${MAX_HEADER_LENGTH}-byte limit`);
    const headerEnd = 8 + n!;
    const dataSize = src.size - headerEnd;

    let text = '';
    try {
      text = utf8.decode(src.read(8, n!));
    } catch {
      fail('safetensors: header is not valid UTF-8');
    }
    if (!text.startsWith('{')) fail("safetensors: header does not start with '{'");
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (e) {
      fail(`safetensors: header is not valid JSON (${(e as Error).message})`);
    }
    if (!isObject(header)) fail('safetensors: header is not a JSON object');

    const tensors: TensorSegment[] = [];
    for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (!isObject(info)) fail('safetensors: __metadata__ is not an object');
        for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
          if (typeof v !== 'string') fail(`safetensors: __metadata__ entry '${k}' is not a string`);
        }
        continue;
      }
      const bad = (cause: string): never => fail(`safetensors: tensor '${name}': ${cause}`);
      if (!isObject(info)) bad('entry is not an object');
      const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
      if (typeof dtype !== 'string') bad('dtype is missing or not a string');
      if (!SAFETENSORS_DTYPES.has(dtype as string)) bad(`unknown dtype ${JSON.stringify(dtype)}`);
      if (!Array.isArray(shape)) bad('shape is missing or not an array');
      (shape as unknown[]).forEach((d, i) => {
        if (!isIndex(d)) bad(`shape[${i}] = ${JSON.stringify(d)} is not a non-negative integer`);
      });
      if (!Array.isArray(offsets) || offsets.length !== 2) bad('data_offsets is not a [begin, end] pair');
      const [begin, end] = offsets as unknown[];
      if (!isIndex(begin) || !isIndex(end)) bad('data_offsets are not non-negative integers');
      if ((end as number) < (begin as number)) bad(`data_offsets [${begin}, ${end}] end before they begin`);
      if ((end as number) > dataSize) bad(`data_offsets [${begin}, ${end}] run past the end of the data area (${dataSize} bytes)`);
      const dims = shape as number[];
      const elements = elementCount(dims);
      if (elements === undefined) bad(`shape [${dims.join(', ')}] has more than 2^53 elements`);
      const expected = byteSize(dtype as string, elements!);
      if (expected === undefined) bad(`${elements} elements of ${dtype} are not a whole number of bytes`);
      const length = (end as number) - (begin as number);
      if (length !== expected) bad(`data_offsets [${begin}, ${end}] hold ${length} bytes, but shape [${dims.join(', ')}] of ${dtype} needs ${expected}`);
      tensors.push({ kind: 'tensor', offset: headerEnd + (begin as number), length, name, dtype: dtype as string, shape: dims });
    }
    return { format: 'safetensors', segments: layoutSegments(file, src.size, tensors) };
  },
};
