import { invalid } from '../../errors.js';
import { elementSize } from './datatypes.js';
import type { OipDatatype } from './datatypes.js';
import { halfToNumber, numberToHalf } from './fp16.js';
import { stringFromBytes, stringFromJson } from './string-elements.js';

/**
 * Tensor contents as onnxruntime-node holds them: typed arrays in host order
 * (little-endian here), Uint8Array for BOOL, Uint16Array of half bits for
 * FP16, strings for BYTES.
 */
export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | string[];

export interface HostTensor {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: TensorData;
  /** Read again after this run (an ensemble's tensor with several readers): sent to the runtime thread by copy, not by transfer. */
  keep?: boolean;
}

/** Most elements one tensor may have (2^31 - 1: beyond that typed arrays and onnxruntime-node give out). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** Elements of a shape, refused (400) when a dimension is not a non-negative integer or the product is too large. */
export function elementCount(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalid(`${what}: shape dimension ${String(d)} is not a non-negative integer`);
    n *= d;
    if (n > MAX_ELEMENTS) throw invalid(`${what}: shape [${shape.join(',')}] has more than ${MAX_ELEMENTS} elements`);
  }
  return n;
}

/**
 * JSON tensor data, flat or nested, as a flat list of element values. Nested
 * data must follow the shape exactly; flat data must have exactly `count`
 * elements. Nothing is allocated beyond the elements already parsed.
 */
export function flattenJsonData(data: unknown, shape: readonly number[], count: number, what: string): unknown[] {
  if (!Array.isArray(data)) {
    // A scalar tensor may be given as a bare value.
    if (shape.length === 0 && data !== null && typeof data !== 'object') return [data];
    throw invalid(`${what}: "data" must be an array`);
  }
  if (data.length > 0 && Array.isArray(data[0])) {
    const out: unknown[] = [];
    const walk = (v: unknown, d: number, at: string): void => {
      if (d === shape.length) {
        if (Array.isArray(v)) throw invalid(`${what}: nested data is deeper than the shape [${shape.join(',')}] at ${at}`);
        out.push(v);
        return;
      }
      if (!Array.isArray(v)) throw invalid(`${what}: nested data has a value where the shape [${shape.join(',')}] needs an array of ${shape[d]} at ${at}`);
      if (v.length !== shape[d]) throw invalid(`${what}: nested data has ${v.length} entries at ${at}, the shape [${shape.join(',')}] says ${shape[d]}`);
      for (let i = 0; i < v.length; i++) walk(v[i], d + 1, `${at}[${i}]`);
    };
    walk(data, 0, 'data');
    return out;
  }
  if (data.length !== count) {
    throw invalid(`${what}: "data" has ${data.length} elements, the shape [${shape.join(',')}] needs ${count}`);
  }
  return data;
}

function floatValue(v: unknown, what: string, i: number): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity' || v === 'inf') return Infinity;
  if (v === '-Infinity' || v === '-inf') return -Infinity;
  throw invalid(`${what}: element ${i} (${JSON.stringify(v) ?? String(v)}) is not a number`);
}

function intValue(v: unknown, lo: number, hi: number, dt: string, what: string, i: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw invalid(`${what}: element ${i} (${JSON.stringify(v) ?? String(v)}) is not a ${dt} value (an integer from ${lo} to ${hi})`);
  }
  return v;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** INT64/UINT64 from a JSON number (exact only up to 2^53) or a decimal string (exact). */
function bigValue(v: unknown, unsigned: boolean, what: string, i: number): bigint {
  let b: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && /^-?[0-9]{1,20}$/.test(v)) b = BigInt(v);
  const lo = unsigned ? 0n : INT64_MIN;
  const hi = unsigned ? UINT64_MAX : INT64_MAX;
  if (b === undefined || b < lo || b > hi) {
    const dt = unsigned ? 'UINT64' : 'INT64';
    const hint = typeof v === 'number' && Number.isInteger(v) ? ' (integers beyond 2^53 must be sent as decimal strings or with the binary extension)' : '';
    throw invalid(`${what}: element ${i} (${JSON.stringify(v) ?? String(v)}) is not a ${dt} value${hint}`);
  }
  return b;
}

/** Flat JSON element values as the typed data of `dt`; a wrong element type or range is a 400. */
export function jsonToTensorData(dt: OipDatatype, values: unknown[], what: string): TensorData {
  const n = values.length;
  switch (dt) {
    case 'FP32': {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = floatValue(values[i], what, i);
      return a;
    }
    case 'FP64': {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = floatValue(values[i], what, i);
      return a;
    }
    case 'FP16': {
      const a = new Uint16Array(n);
      for (let i = 0; i < n; i++) a[i] = numberToHalf(floatValue(values[i], what, i));
      return a;
    }
    case 'BOOL': {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1) a[i] = 1;
        else if (v === false || v === 0) a[i] = 0;
        else throw invalid(`${what}: element ${i} (${JSON.stringify(v) ?? String(v)}) is not a BOOL value (true or false)`);
      }
      return a;
    }
    case 'UINT8': return fillInt(new Uint8Array(n), values, 0, 255, dt, what);
    case 'INT8': return fillInt(new Int8Array(n), values, -128, 127, dt, what);
    case 'UINT16': return fillInt(new Uint16Array(n), values, 0, 65535, dt, what);
    case 'INT16': return fillInt(new Int16Array(n), values, -32768, 32767, dt, what);
    case 'UINT32': return fillInt(new Uint32Array(n), values, 0, 4294967295, dt, what);
    case 'INT32': return fillInt(new Int32Array(n), values, -2147483648, 2147483647, dt, what);
    case 'INT64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = bigValue(values[i], false, what, i);
      return a;
    }
    case 'UINT64': {
      const a = new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = bigValue(values[i], true, what, i);
      return a;
    }
    case 'BYTES': {
      const a: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') throw invalid(`${what}: element ${i} (${JSON.stringify(v) ?? String(v)}) is not a string`);
        a[i] = stringFromJson(v, what, i);
      }
      return a;
    }
  }
}

function fillInt<T extends Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array>(
  a: T, values: unknown[], lo: number, hi: number, dt: string, what: string,
): T {
  for (let i = 0; i < values.length; i++) a[i] = intValue(values[i], lo, hi, dt, what, i);
  return a;
}

/**
 * Binary tensor data (little-endian, row-major; BYTES as 4-byte little-endian
 * length + bytes per element) as typed data, copied so that it is aligned.
 * The byte count is checked against the element count before anything is allocated.
 */
export function binaryToTensorData(dt: OipDatatype, bytes: Buffer, count: number, what: string): TensorData {
  if (dt === 'BYTES') {
    const out: string[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      if (out.length === count) break;
      if (pos + 4 > bytes.length) throw invalid(`${what}: binary BYTES element ${out.length} has a truncated 4-byte length`);
      const len = bytes.readUInt32LE(pos);
      pos += 4;
      if (pos + len > bytes.length) throw invalid(`${what}: binary BYTES element ${out.length} claims ${len} bytes, ${bytes.length - pos} remain`);
      out.push(stringFromBytes(bytes.subarray(pos, pos + len), what, out.length));
      pos += len;
    }
    if (out.length !== count || pos !== bytes.length) {
      throw invalid(`${what}: binary data holds ${out.length} BYTES elements in ${pos} of ${bytes.length} bytes, the shape needs ${count} elements using all bytes`);
    }
    return out;
  }
  const size = elementSize(dt);
  if (bytes.length !== count * size) {
    throw invalid(`${what}: binary_data_size is ${bytes.length} bytes, the shape and datatype ${dt} need ${count * size} (${count} elements of ${size} bytes)`);
  }
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  switch (dt) {
    case 'FP32': return new Float32Array(ab);
    case 'FP64': return new Float64Array(ab);
    case 'FP16': case 'UINT16': return new Uint16Array(ab);
    case 'BOOL': {
      const a = new Uint8Array(ab);
      for (let i = 0; i < a.length; i++) if (a[i]! > 1) throw invalid(`${what}: binary BOOL element ${i} is ${a[i]}, not 0 or 1`);
      return a;
    }
    case 'UINT8': return new Uint8Array(ab);
    case 'INT8': return new Int8Array(ab);
    case 'INT16': return new Int16Array(ab);
    case 'UINT32': return new Uint32Array(ab);
    case 'INT32': return new Int32Array(ab);
    case 'INT64': return new BigInt64Array(ab);
    case 'UINT64': return new BigUint64Array(ab);
  }
}

/** A float as JSON: exact (a float32 or float64 prints as the shortest double that parses back to it), -0 kept, NaN and infinities as strings. */
function floatJson(v: number): string {
  if (Number.isFinite(v)) return v === 0 && 1 / v < 0 ? '-0' : String(v);
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/** Whether every element is finite and none is -0 (JSON.stringify would print -0 as 0, NaN and the infinities as null). */
function allPlainNumbers(a: Float32Array | Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v - v !== 0 || (v === 0 && 1 / v < 0)) return false;
  }
  return true;
}

/** Tensor data as a flat JSON array (text). INT64/UINT64 are written exactly, as JSON numbers of any size. */
export function tensorDataToJson(dt: OipDatatype, data: TensorData): string {
  const n = data.length;
  const parts: string[] = new Array<string>(n);
  if (Array.isArray(data)) {
    for (let i = 0; i < n; i++) parts[i] = JSON.stringify(data[i]);
  } else if (dt === 'FP16') {
    for (let i = 0; i < n; i++) parts[i] = floatJson(halfToNumber(Number(data[i])));
  } else if (dt === 'FP32' || dt === 'FP64') {
    // JSON.stringify prints a finite number as String() does, twice as fast as joining them (8,192 floats: 1.0 against
    // 1.9 ms); only NaN, the infinities and -0 need floatJson.
    if (allPlainNumbers(data as Float32Array | Float64Array)) return JSON.stringify(Array.from(data as Float32Array | Float64Array));
    for (let i = 0; i < n; i++) parts[i] = floatJson(Number(data[i]));
  } else if (dt === 'BOOL') {
    for (let i = 0; i < n; i++) parts[i] = data[i] ? 'true' : 'false';
  } else {
    for (let i = 0; i < n; i++) parts[i] = String(data[i]);
  }
  return `[${parts.join(',')}]`;
}

/** Tensor data as binary (a view of the typed array when possible; BYTES length-prefixed). */
export function tensorDataToBinary(data: TensorData): Buffer {
  if (!Array.isArray(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  for (const s of data) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length, 0);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}
