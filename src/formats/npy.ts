import { FormatError } from './errors.js';

/**
 * A bounded reader of NumPy .npy arrays held in memory (layout, bounds and a
 * test vector: npy.md). Versions 1.0 to 3.0, C order, little-endian numeric
 * and bool dtypes. The header length is bounded before the header is looked
 * at, every dimension is checked before it is multiplied, and the data must
 * be exactly elements × item size bytes, so nothing is allocated from a field
 * of the file that the file's own length does not back. Anything else is a
 * FormatError naming the file (bench/npy.ts is the bench's own, narrower reader).
 */

/** \x93NUMPY */
export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
/** Largest header read: NumPy writes ~128 bytes; version 2 would allow 4 GiB of Python literal. */
export const MAX_NPY_HEADER = 64 * 1024;
/** Most dimensions accepted (NumPy allows 64; no evaluation tensor needs more than a few). */
export const MAX_NPY_RANK = 8;

export type NpyDtype = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'bool';

/** The typed array of each dtype; bool is a Uint8Array of 0 and 1 (as onnxruntime-node takes it). */
export type NpyData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** Accepted dtypes by kind letter and item size (the descr without its byte-order character). */
const DTYPES: ReadonlyMap<string, { dtype: NpyDtype; size: number }> = new Map([
  ['f4', { dtype: 'float32', size: 4 }],
  ['f8', { dtype: 'float64', size: 8 }],
  ['i1', { dtype: 'int8', size: 1 }],
  ['i2', { dtype: 'int16', size: 2 }],
  ['i4', { dtype: 'int32', size: 4 }],
  ['i8', { dtype: 'int64', size: 8 }],
  ['u1', { dtype: 'uint8', size: 1 }],
  ['u2', { dtype: 'uint16', size: 2 }],
  ['u4', { dtype: 'uint32', size: 4 }],
  ['b1', { dtype: 'bool', size: 1 }],
]);

/** Why the dtypes users are likely to have are refused, with what to do instead. */
const REFUSED: ReadonlyMap<string, string> = new Map([
  ['f2', "float16 is not supported: convert it with .astype('<f4')"],
  ['u8', "uint64 is not supported: convert it with .astype('<i8')"],
  ['O', 'object arrays are pickled Python objects, which are not read'],
  ['U', 'unicode string arrays are not supported'],
  ['S', 'byte string arrays are not supported'],
  ['c', 'complex numbers are not supported'],
  ['M', 'datetime64 is not supported'],
  ['m', 'timedelta64 is not supported'],
  ['V', 'void (raw record) dtypes are not supported'],
]);

const ACCEPTED = "'<f4', '<f8', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', '|b1'";

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Typed arrays use the host's byte order; .npy data here is little-endian. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type PyValue = string | boolean | { tuple: number[]; trailingComma: boolean };

/**
 * The header's Python dict literal, as much of Python as NumPy writes: string
 * keys; string, True/False and tuple-of-int values; whitespace; trailing
 * commas. Anything else (a list descr of a structured dtype, an expression)
 * is refused with its position.
 */
function parseHeaderDict(text: string, fail: (cause: string) => never): Map<string, PyValue> {
  let pos = 0;
  const excerpt = (): string => JSON.stringify(text.slice(pos, pos + 24));
  const bad = (what: string): never => fail(`header: expected ${what} at character ${pos} (${excerpt()})`);
  const ws = (): void => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos]!)) pos++;
  };
  const eat = (c: string): boolean => {
    ws();
    if (text[pos] !== c) return false;
    pos++;
    return true;
  };
  const str = (): string => {
    ws();
    const q = text[pos];
    if (q !== "'" && q !== '"') bad('a quoted string');
    const end = text.indexOf(q!, pos + 1);
    if (end < 0) bad('a closing quote');
    const s = text.slice(pos + 1, end);
    // NumPy's keys and descrs never need escapes; a backslash would mean something we do not decode.
    if (s.includes('\\')) fail(`header: escaped string ${JSON.stringify(s)} is not supported`);
    pos = end + 1;
    return s;
  };
  const int = (): number => {
    ws();
    const m = /^[0-9]+L?/.exec(text.slice(pos, pos + 32));
    if (!m) bad('a non-negative integer');
    const digits = m![0].replace('L', ''); // Python 2's long suffix, as old NumPy wrote it
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) fail(`header: dimension ${digits} is above 2^53`);
    pos += m![0].length;
    return n;
  };
  const value = (): PyValue => {
    ws();
    if (text.startsWith('True', pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith('False', pos)) {
      pos += 5;
      return false;
    }
    if (text[pos] === "'" || text[pos] === '"') return str();
    if (text[pos] === '[') fail('header: structured dtypes (a list of fields) are not supported');
    if (!eat('(')) bad("a string, True, False or a tuple");
    const tuple: number[] = [];
    let trailingComma = false;
    while (!eat(')')) {
      if (tuple.length > MAX_NPY_RANK) fail(`header: shape has more than ${MAX_NPY_RANK} dimensions`);
      tuple.push(int());
      trailingComma = eat(',');
      if (!trailingComma && !eat(')')) bad("',' or ')' in the shape");
      if (!trailingComma) break;
    }
    return { tuple, trailingComma };
  };

  const out = new Map<string, PyValue>();
  if (!eat('{')) bad("'{'");
  while (!eat('}')) {
    const key = str();
    if (out.has(key)) fail(`header: key '${key}' appears twice`);
    if (!eat(':')) bad("':'");
    out.set(key, value());
    if (!eat(',')) {
      if (!eat('}')) bad("',' or '}'");
      break;
    }
  }
  ws();
  if (pos !== text.length) bad('only spaces and a newline after the dict');
  return out;
}

/** Shape as Python prints it: (), (3,), (2, 3). */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function typedArray(dtype: NpyDtype, buffer: ArrayBuffer): NpyData {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'uint8': case 'bool': return new Uint8Array(buffer);
    case 'uint16': return new Uint16Array(buffer);
    case 'uint32': return new Uint32Array(buffer);
  }
}

/** The typed array over a fresh (aligned) buffer of the given dtype and byte length: the caller fills it. */
export function allocNpyData(dtype: NpyDtype, byteLength: number): NpyData {
  return typedArray(dtype, new ArrayBuffer(byteLength));
}

/** Parses a whole .npy file held in `bytes`; `name` (the file, or archive: entry) prefixes every error. */
export function parseNpy(bytes: Buffer, name: string): NpyArray {
  const fail = (cause: string): never => {
    throw new FormatError(name, `.npy: ${cause}`);
  };
  if (bytes.length < 10) fail(`file is ${bytes.length} bytes, too short for a .npy header`);
  if (!bytes.subarray(0, 6).equals(NPY_MAGIC)) fail('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) fail(`format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail(`file is ${bytes.length} bytes, too short for a version ${major}.0 header length`);
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = 8 + lenBytes;
  if (headerLen > MAX_NPY_HEADER) fail(`header length ${headerLen} exceeds ${MAX_NPY_HEADER} bytes`);
  if (headerStart + headerLen > bytes.length) fail(`header of ${headerLen} bytes runs past the end of the file (${bytes.length} bytes)`);
  const raw = bytes.subarray(headerStart, headerStart + headerLen);
  let text: string;
  if (major === 3) {
    try {
      text = utf8.decode(raw);
    } catch {
      return fail('version 3.0 header is not valid UTF-8');
    }
  } else {
    text = raw.toString('latin1');
  }

  const dict = parseHeaderDict(text, fail);
  for (const k of dict.keys()) {
    if (k !== 'descr' && k !== 'fortran_order' && k !== 'shape') fail(`header: unexpected key '${k}' (expected 'descr', 'fortran_order' and 'shape')`);
  }
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shapeValue = dict.get('shape');
  if (typeof descr !== 'string') fail("header: 'descr' is missing or not a string");
  if (typeof fortran !== 'boolean') fail("header: 'fortran_order' is missing or not True/False");
  if (shapeValue === undefined || typeof shapeValue !== 'object') fail("header: 'shape' is missing or not a tuple");
  const { tuple: shape, trailingComma } = shapeValue as { tuple: number[]; trailingComma: boolean };
  // Python reads (3) as the integer 3, not a tuple: NumPy refuses it too.
  if (shape.length === 1 && !trailingComma) fail(`header: shape (${shape[0]}) is not a tuple (a 1-D shape is written (${shape[0]},))`);
  if (shape.length > MAX_NPY_RANK) fail(`shape ${formatShape(shape)} has ${shape.length} dimensions, at most ${MAX_NPY_RANK} are read`);
  // Fortran and C order lay out 0-D and 1-D arrays alike.
  if (fortran && shape.length >= 2) fail(`Fortran-order array of shape ${formatShape(shape)}: only C order is read (save np.ascontiguousarray(a))`);

  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr as string);
  if (!m) fail(`dtype '${descr}' is not supported (accepted: ${ACCEPTED})`);
  const [, order, kind, sizeText] = m!;
  const refused = REFUSED.get(`${kind}${sizeText}`) ?? REFUSED.get(kind!);
  if (refused) fail(`dtype '${descr}': ${refused}`);
  const info = DTYPES.get(`${kind}${sizeText}`);
  if (!info) fail(`dtype '${descr}' is not supported (accepted: ${ACCEPTED})`);
  const { dtype, size } = info!;
  if (size > 1 && order === '>') fail(`dtype '${descr}' is big-endian: only little-endian data is read (convert with .astype('<${kind}${sizeText}'))`);
  if (size > 1 && order !== '<') fail(`dtype '${descr}' has byte order '${order}': multi-byte data must be marked little-endian ('<')`);

  // Elements × item size must be the data's length exactly; multiplying stops once the product is past 2^53.
  const dataStart = headerStart + headerLen;
  const dataBytes = bytes.length - dataStart;
  let need = shape.includes(0) ? 0 : size;
  for (const d of shape) {
    if (need === 0 || !Number.isSafeInteger(need)) break;
    need *= d;
  }
  if (!Number.isSafeInteger(need)) fail(`shape ${formatShape(shape)} of ${descr} needs more than 2^53 bytes of data, the file has ${dataBytes}`);
  if (need !== dataBytes) fail(`shape ${formatShape(shape)} of ${descr} needs ${need} bytes of data, the file has ${dataBytes}`);

  // Copied, not viewed: the Buffer's offset need not be a multiple of the item size.
  const buffer = new ArrayBuffer(dataBytes);
  const copy = new Uint8Array(buffer);
  copy.set(bytes.subarray(dataStart));
  if (!HOST_LITTLE_ENDIAN && size > 1) {
    for (let i = 0; i < dataBytes; i += size) copy.subarray(i, i + size).reverse();
  }
  if (dtype === 'bool') {
    for (let i = 0; i < copy.length; i++) if (copy[i]! > 1) fail(`bool element ${i} is ${copy[i]}, not 0 or 1`);
  }
  return { dtype, shape, data: typedArray(dtype, buffer) };
}
