import { crc32 } from '../formats/crc32.js';
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { InferenceSession } from 'onnxruntime-node';
import { TesseraError, invalid, notFound, tooLarge, unsupported } from '../errors.js';
import { allocNpyData, formatShape, MAX_NPY_RANK, parseNpy } from '../formats/npy.js';
import type { NpyArray, NpyData } from '../formats/npy.js';
import { readZipDirectory } from '../formats/zip.js';
import type { ZipEntry } from '../formats/zip.js';
import { FileSource } from '../io/file-source.js';
import { isOipDatatype, oipToOrt } from '../serve/oip/datatypes.js';
import { parseJsonBody } from '../serve/oip/json-limits.js';
import { elementCount, flattenJsonData, jsonToTensorData } from '../serve/oip/tensor-codec.js';

/**
 * The data `tessera approx NAME --eval DATA [--labels FILE]` evaluates a model
 * on, read whole into typed arrays and matched to the model's inputs:
 *
 * - `.npy`: one array, unnamed; it feeds the model's only input.
 * - `.npz` (numpy.savez, stored, or numpy.savez_compressed, deflated): one
 *   tensor per `NAME.npy` entry, named NAME.
 * - `.json`: an Open Inference Protocol request, `{"inputs": [{name, shape,
 *   datatype, data}]}`, parsed with the server's own OIP helpers.
 *
 * The first dimension of every tensor is the row (example) dimension; all
 * tensors must have the same number of rows, at least one. Every error is a
 * TesseraError naming the file and the tensor or field (too large files are
 * 'too-large', a missing file 'not-found', anything else 'invalid').
 */

export type EvalDtype = NpyArray['dtype'];
export type EvalArray = NpyData;

export interface EvalTensor {
  /** Absent for a .npy file's single array. */
  name?: string;
  dtype: EvalDtype;
  shape: number[];
  data: EvalArray;
}

export interface EvalData {
  /** The file read, for messages. */
  source: string;
  tensors: EvalTensor[];
  /** shape[0] of every tensor. */
  rows: number;
}

/** Largest .npy/.npz file read: it is read whole into memory, and its arrays copied once more. */
export const MAX_EVAL_FILE_BYTES = 1024 ** 3;
/**
 * Largest .json file read: V8 strings stop at ~512 MiB, and parsed JSON
 * arrays take several times the text's size before they become typed arrays.
 */
export const MAX_EVAL_JSON_BYTES = 256 * 1024 ** 2;
/** JSON nesting allowed: object, inputs, input, then nested data up to MAX_NPY_RANK deep (and some slack). */
const MAX_JSON_DEPTH = 16;

const EVAL_DTYPES: ReadonlySet<string> = new Set<EvalDtype>(['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'bool']);

function isEvalDtype(t: string): t is EvalDtype {
  return EVAL_DTYPES.has(t);
}

/** Refuses a file of `size` bytes: empty, or over `limit` (exposed so tests can try a small limit). */
export function checkEvalFileSize(file: string, size: number, limit: number = MAX_EVAL_FILE_BYTES): void {
  if (size === 0) throw invalid(`${file}: empty file`);
  if (size > limit) throw tooLarge(`${file}: ${size} bytes; evaluation data is read whole, and at most ${limit} bytes are read`);
}

/** Opens a regular file after checking its size (stat first: nothing is read from a file over the limit). */
function openBounded(file: string, limit: number): FileSource {
  let isFile: boolean;
  try {
    const st = statSync(file);
    isFile = st.isFile();
    if (isFile) checkEvalFileSize(file, st.size, limit);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${file}: no such file`);
    throw e;
  }
  if (!isFile) throw invalid(`${file}: not a regular file`);
  const src = new FileSource(file);
  try {
    // Again on the open file: it may have been replaced since the stat.
    checkEvalFileSize(file, src.size, limit);
  } catch (e) {
    src.close();
    throw e;
  }
  return src;
}

function readWhole(file: string, limit: number): Buffer {
  const src = openBounded(file, limit);
  try {
    return src.read(0, src.size);
  } finally {
    src.close();
  }
}

/** The shared OIP parser's messages do not know the file: they get it in front. */
function readJson(file: string): unknown {
  const bytes = readWhole(file, MAX_EVAL_JSON_BYTES);
  try {
    return parseJsonBody(bytes, MAX_JSON_DEPTH);
  } catch (e) {
    if (e instanceof TesseraError) throw invalid(`${file}: ${e.message}`);
    throw e;
  }
}

type Kind = 'npy' | 'npz' | 'json';

function fileKind(file: string, allowed: readonly Kind[]): Kind {
  const ext = extname(file).toLowerCase().slice(1);
  const kind = allowed.find((k) => k === ext);
  if (!kind) throw invalid(`${file}: unknown file type '${extname(file)}': expected ${allowed.map((k) => `.${k}`).join(', ')}`);
  return kind;
}

/** A tensor and how messages name it within its file (an .npz entry, a JSON input; empty for a .npy file's array). */
interface Item {
  tensor: EvalTensor;
  label: string;
}

const at = (file: string, label: string): string => (label ? `${file}: ${label}` : file);

// ---------------------------------------------------------------------------
// .npz


const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** An entry's bytes: stored as they are, deflated inflated to at most the declared size; the CRC checked either way. */
function entryBytes(src: FileSource, e: ZipEntry, file: string): Buffer {
  const raw = src.read(e.dataOffset, e.compressedSize);
  let out: Buffer = raw;
  if (e.method === 8) {
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) });
    } catch (err) {
      throw invalid(`${file}: ${e.name}: deflated data does not inflate to the declared ${e.uncompressedSize} bytes (${(err as Error).message})`);
    }
    if (out.length !== e.uncompressedSize) throw invalid(`${file}: ${e.name}: deflated data inflates to ${out.length} bytes, the archive declares ${e.uncompressedSize}`);
  }
  const crc = crc32(out);
  if (crc !== e.crc32) throw invalid(`${file}: ${e.name}: CRC-32 ${hex32(crc)} differs from the archive's ${hex32(e.crc32)} (the entry is damaged)`);
  return out;
}

function readNpz(file: string, limit: number): Item[] {
  const src = openBounded(file, limit);
  try {
    const dir = readZipDirectory(src, 'npz');
    if (dir.entries.length === 0) throw invalid(`${file}: the .npz archive holds no arrays`);
    // Every entry is checked, and the declared sizes summed, before anything is inflated.
    const names = new Set<string>();
    let total = 0;
    for (const e of dir.entries) {
      if (!e.name.endsWith('.npy') || e.name.length === 4) throw invalid(`${file}: entry '${e.name}' is not a NAME.npy array (an .npz holds arrays only)`);
      if (e.flags & 1) throw invalid(`${file}: ${e.name}: encrypted entries are not supported`);
      if (e.method !== 0 && e.method !== 8) throw invalid(`${file}: ${e.name}: compression method ${e.method} is not supported (0, stored, and 8, deflated, are)`);
      const name = e.name.slice(0, -4);
      if (names.has(name)) throw invalid(`${file}: entry '${e.name}' appears twice`);
      names.add(name);
      total += e.uncompressedSize;
      if (total > limit) throw tooLarge(`${file}: the arrays hold more than ${limit} bytes uncompressed, more than evaluation data may`);
    }
    return dir.entries.map((e) => {
      const arr = parseNpy(entryBytes(src, e, file), `${file}: ${e.name}`);
      return { tensor: { name: e.name.slice(0, -4), ...arr }, label: e.name };
    });
  } finally {
    src.close();
  }
}

// ---------------------------------------------------------------------------
// .json (an OIP request)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonTensor(file: string, x: unknown, i: number, seen: Set<string>): Item {
  let label = `inputs[${i}]`;
  if (!isObject(x)) throw invalid(`${file}: ${label} is not an object`);
  if (typeof x.name !== 'string' || x.name === '') throw invalid(`${file}: ${label}: "name" must be a non-empty string`);
  const name = x.name;
  label = `input "${name}"`;
  const where = `${file}: ${label}`;
  if (seen.has(name)) throw invalid(`${where} appears twice`);
  seen.add(name);
  const dt = x.datatype;
  if (typeof dt !== 'string' || !isOipDatatype(dt)) throw invalid(`${where}: "datatype" ${JSON.stringify(dt) ?? 'is missing'}; expected one of FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, BOOL`);
  const dtype = oipToOrt(dt);
  if (!isEvalDtype(dtype)) throw invalid(`${where}: datatype ${dt} is not supported in evaluation data (FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, BOOL are)`);
  if (!Array.isArray(x.shape)) throw invalid(`${where}: "shape" must be an array of non-negative integers`);
  const shape = x.shape as number[];
  if (shape.length > MAX_NPY_RANK) throw invalid(`${where}: shape has ${shape.length} dimensions, at most ${MAX_NPY_RANK} are read`);
  const count = elementCount(shape, where);
  const values = flattenJsonData(x.data, shape, count, where);
  // Only the datatypes accepted above reach here, and for them jsonToTensorData returns one of EvalArray's arrays.
  const data = jsonToTensorData(dt, values, where) as EvalArray;
  if (data instanceof Float32Array) {
    // A finite double beyond float32's range would become an infinity without a word.
    for (let k = 0; k < data.length; k++) {
      if (!Number.isFinite(data[k]!) && typeof values[k] === 'number') throw invalid(`${where}: element ${k} (${String(values[k])}) is beyond FP32's range`);
    }
  }
  return { tensor: { name, dtype, shape: [...shape], data }, label };
}

function readOipJson(file: string): Item[] {
  const body = readJson(file);
  const inputs = isObject(body) ? body.inputs : undefined;
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalid(`${file}: expected an inference request, {"inputs": [{"name", "shape", "datatype", "data"}, ...]} with at least one input`);
  const seen = new Set<string>();
  return inputs.map((x, i) => jsonTensor(file, x, i, seen));
}

// ---------------------------------------------------------------------------

/** Reads evaluation data (.npy, .npz or .json, by extension) and checks that every tensor has the same rows, at least one. */
export function readEvalData(path: string): EvalData {
  let items: Item[];
  switch (fileKind(path, ['npy', 'npz', 'json'])) {
    case 'npy':
      items = [{ tensor: parseNpy(readWhole(path, MAX_EVAL_FILE_BYTES), path), label: '' }];
      break;
    case 'npz':
      items = readNpz(path, MAX_EVAL_FILE_BYTES);
      break;
    case 'json':
      items = readOipJson(path);
      break;
  }
  for (const { tensor, label } of items) {
    if (tensor.shape.length === 0) throw invalid(`${at(path, label)}: a scalar (shape ()); evaluation data needs a first dimension of rows`);
  }
  const first = items[0]!;
  const rows = first.tensor.shape[0]!;
  for (const { tensor, label } of items.slice(1)) {
    if (tensor.shape[0] !== rows) {
      throw invalid(`${at(path, first.label)}: shape ${formatShape(first.tensor.shape)} has ${rows} rows, ${label} has ${tensor.shape[0]}`);
    }
  }
  if (rows < 1) throw invalid(`${at(path, first.label)}: shape ${formatShape(first.tensor.shape)} has no rows`);
  return { source: path, tensors: items.map((x) => x.tensor), rows };
}

// ---------------------------------------------------------------------------
// Labels

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Class labels, one per row: a .npy of an integer or bool dtype, shape (rows,)
 * or (rows, 1); or .json, an array of integers or {"labels": [...]}. Every
 * label must fit int32.
 */
export function readLabels(path: string, rows: number): Int32Array {
  let out: Int32Array;
  if (fileKind(path, ['npy', 'json']) === 'npy') {
    const arr = parseNpy(readWhole(path, MAX_EVAL_FILE_BYTES), path);
    if (arr.dtype === 'float32' || arr.dtype === 'float64') throw invalid(`${path}: labels must be integers, the array is ${arr.dtype} (convert with .astype('<i8'))`);
    const { shape } = arr;
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw invalid(`${path}: labels of shape ${formatShape(shape)}; expected (rows,) or (rows, 1)`);
    const data = arr.data;
    out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      const n = typeof v === 'bigint' ? (v < BigInt(INT32_MIN) || v > BigInt(INT32_MAX) ? NaN : Number(v)) : v;
      if (!(n >= INT32_MIN && n <= INT32_MAX)) throw invalid(`${path}: label ${i} (${String(v)}) is outside int32's range`);
      out[i] = n;
    }
  } else {
    const body = readJson(path);
    const list = Array.isArray(body) ? body : isObject(body) ? body.labels : undefined;
    if (!Array.isArray(list)) throw invalid(`${path}: expected an array of integer labels, or {"labels": [...]}`);
    out = new Int32Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v: unknown = list[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
        throw invalid(`${path}: label ${i} (${JSON.stringify(v) ?? String(v)}) is not an integer in int32's range`);
      }
      out[i] = v;
    }
  }
  if (out.length !== rows) throw invalid(`${path}: ${out.length} labels, the evaluation data has ${rows} rows`);
  return out;
}

// ---------------------------------------------------------------------------
// Binding to the model's inputs

/**
 * A model input as onnxruntime-node 1.30 describes it: a tensor entry of
 * `InferenceSession.inputMetadata` (`TensorValueMetadata`: name, type such as
 * 'float32' or 'int64', shape whose entries are sizes, negative for unknown,
 * or strings for symbolic dimensions; an empty shape when the model does not
 * declare one). The fields are readonly so that such an entry is a ModelInput
 * as it is: see modelInputs().
 */
export interface ModelInput {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export interface BoundInput {
  name: string;
  /** The model's type, which the data now has. */
  type: EvalDtype;
  /** The tensor's own shape: dims[0] is the rows. */
  dims: number[];
  data: EvalArray;
}

/** Rows a caller may put in one run (evaluator.ts's MAX_ROWS_PER_RUN), named in messages. */
const MAX_RUN_ROWS = 1024;

export interface BoundInputs {
  /** In the model's input order. */
  inputs: BoundInput[];
  /**
   * True when some input's first dimension is fixed at 1 and there is more
   * than one row: the caller feeds the rows one at a time (takeRows with one
   * row). Otherwise any number of rows may go in one run.
   */
  rowByRow: boolean;
}

/** A session's inputMetadata as ModelInputs; an input that is not a tensor (a sequence, a map) cannot be fed from files. */
export function modelInputs(meta: readonly InferenceSession.ValueMetadata[]): ModelInput[] {
  return meta.map((m) => {
    if (!m.isTensor) throw unsupported(`the model's input "${m.name}" is not a tensor (sequences and maps cannot be fed evaluation data)`);
    return m;
  });
}

const isFixed = (d: number | string | undefined): d is number => typeof d === 'number' && d >= 0;
const modelShape = (s: readonly (number | string)[]): string => `[${s.map((d) => (typeof d === 'string' ? d || '?' : String(d))).join(', ')}]`;
const quoted = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * The data in the model's type. Besides an exact match, two conversions are
 * made, both of which keep every value a model trained on the wider type
 * would see: float64 to float32 (rounded to nearest; a finite value beyond
 * float32's range is an error) and int32 to int64 (exact). Anything else is
 * refused rather than guessed at.
 */
function convert(t: EvalTensor, want: string, where: string, input: string): EvalArray {
  if (t.dtype === want) return t.data;
  if (t.dtype === 'float64' && want === 'float32') {
    const src = t.data as Float64Array;
    const out = Float32Array.from(src);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i]!) && Number.isFinite(src[i]!)) throw invalid(`${where}: element ${i} (${src[i]}) is beyond float32's range, which the model's input "${input}" takes`);
    }
    return out;
  }
  if (t.dtype === 'int32' && want === 'int64') {
    const src = t.data as Int32Array;
    const out = new BigInt64Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
    return out;
  }
  throw invalid(`${where}: dtype ${t.dtype}, but the model's input "${input}" takes ${want} (float64 to float32 and int32 to int64 are converted; nothing else is)`);
}

/**
 * Matches the data's tensors to the model's inputs and checks them: an
 * unnamed tensor (.npy) only for a model with one input; named ones by name,
 * every input fed and no tensor left over; the dtype (see convert); the rank
 * and every fixed dimension after the first (a negative or symbolic dimension
 * takes any size; an input without a declared shape is not checked). The
 * first dimension is the rows: a symbolic one takes any number; a fixed one
 * must equal the rows, or be 1 (rowByRow) — inputs cannot mix the two.
 */
export function bindInputs(data: EvalData, inputs: readonly ModelInput[]): BoundInputs {
  const file = data.source;
  const pairs: { input: ModelInput; tensor: EvalTensor; where: string }[] = [];
  const unnamed = data.tensors.filter((t) => t.name === undefined);
  if (unnamed.length > 0) {
    if (data.tensors.length !== 1) throw invalid(`${file}: unnamed arrays alongside named ones`);
    if (inputs.length !== 1) {
      throw invalid(`${file}: a .npy file holds one unnamed array, but the model has ${inputs.length} inputs (${quoted(inputs.map((i) => i.name))}): name each in a .npz or .json`);
    }
    pairs.push({ input: inputs[0]!, tensor: unnamed[0]!, where: file });
  } else {
    const byName = new Map(data.tensors.map((t) => [t.name!, t]));
    const missing = inputs.filter((i) => !byName.has(i.name)).map((i) => i.name);
    if (missing.length > 0) {
      throw invalid(`${file}: no tensor for the model's input${missing.length > 1 ? 's' : ''} ${quoted(missing)} (the file holds ${quoted([...byName.keys()])})`);
    }
    const wanted = new Set(inputs.map((i) => i.name));
    const extra = [...byName.keys()].filter((n) => !wanted.has(n));
    if (extra.length > 0) {
      throw invalid(`${file}: ${extra.length > 1 ? 'tensors' : 'tensor'} ${quoted(extra)} match${extra.length > 1 ? '' : 'es'} no model input (the model takes ${quoted(inputs.map((i) => i.name))})`);
    }
    for (const input of inputs) pairs.push({ input, tensor: byName.get(input.name)!, where: `${file}: tensor "${input.name}"` });
  }

  const rows = data.rows;
  const fixedFirst = pairs.filter((p) => p.input.shape.length > 0 && isFixed(p.input.shape[0]));
  const rowByRow = rows > 1 && fixedFirst.some((p) => p.input.shape[0] === 1);
  const out: BoundInput[] = [];
  for (const { input, tensor, where } of pairs) {
    const ms = input.shape;
    const shape = tensor.shape;
    if (ms.length > 0) {
      if (ms.length !== shape.length) {
        throw invalid(`${where}: shape ${formatShape(shape)} has ${shape.length} dimensions, the model's input "${input.name}" ${modelShape(ms)} has ${ms.length}`);
      }
      for (let i = 1; i < ms.length; i++) {
        const d = ms[i];
        if (isFixed(d) && d !== shape[i]) {
          throw invalid(`${where}: shape ${formatShape(shape)} does not fit the model's input "${input.name}" ${modelShape(ms)}: dimension ${i} is ${shape[i]}, the model needs ${d}`);
        }
      }
      const d0 = ms[0];
      if (isFixed(d0) && d0 !== 1 && !(rows === 1 && d0 === rows)) {
        throw invalid(`${where}: the model's input "${input.name}" ${modelShape(ms)} takes exactly ${d0} rows per run; the rows are evaluated in subsets `
          + `(the search and held-out splits, runs of up to ${MAX_RUN_ROWS}), so its first dimension must be dynamic or 1`);
      }
    }
    if (!isEvalDtype(input.type)) {
      throw invalid(`${where}: the model's input "${input.name}" takes ${input.type}, which evaluation data cannot hold (the file has ${tensor.dtype})`);
    }
    out.push({ name: input.name, type: input.type, dims: [...shape], data: convert(tensor, input.type, where, input.name) });
  }
  return { inputs: out, rowByRow };
}

/** A new BoundInput holding just the given rows of `input`, in that order (dims[0] = rows.length). */
export function takeRows(input: BoundInput, rows: ArrayLike<number>): BoundInput {
  const n = input.dims[0]!;
  const inner = input.dims.slice(1);
  const rowBytes = inner.reduce((a, d) => a * d, 1) * input.data.BYTES_PER_ELEMENT;
  const src = new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const data = allocNpyData(input.type, rows.length * rowBytes);
  const dst = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new RangeError(`takeRows: row ${r} of input "${input.name}" is outside 0..${n - 1}`);
    dst.set(src.subarray(r * rowBytes, (r + 1) * rowBytes), k * rowBytes);
  }
  return { name: input.name, type: input.type, dims: [rows.length, ...inner], data };
}

// ---------------------------------------------------------------------------
// Search / held-out split

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator), a uniform float in [0, 1):
 *   a = (a + 0x6D2B79F5) | 0
 *   t = imul(a ^ (a >>> 15), 1 | a)
 *   t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t
 *   return ((t ^ (t >>> 14)) >>> 0) / 2^32
 * Integer arithmetic only, so the same seed gives the same split everywhere.
 */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Splits row indices 0..rows-1 into a search set and a held-out set: a
 * Fisher–Yates shuffle driven by mulberry32(seed) (i from rows-1 down to 1,
 * swapping i with floor(next() × (i + 1))), the first round(rows ×
 * heldOutFraction) indices held out — at least 1 and at most rows - 1 — and
 * each set sorted ascending. Deterministic in (rows, heldOutFraction, seed);
 * the seed is any safe integer, taken modulo 2^32.
 */
export function splitRows(rows: number, heldOutFraction: number, seed: number): { search: Uint32Array; heldOut: Uint32Array } {
  if (!Number.isSafeInteger(rows) || rows < 2) throw invalid(`splitting rows into a search and a held-out set needs at least 2 rows, the data has ${rows}`);
  if (rows > 2 ** 32) throw invalid(`${rows} rows are more than a split indexes (2^32)`);
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) throw invalid(`held-out fraction ${heldOutFraction} is not between 0 and 1 (exclusive)`);
  if (!Number.isSafeInteger(seed)) throw invalid(`seed ${seed} is not an integer`);
  const perm = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) perm[i] = i;
  const next = mulberry32(seed);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  const held = Math.min(rows - 1, Math.max(1, Math.round(rows * heldOutFraction)));
  return { heldOut: perm.slice(0, held).sort(), search: perm.slice(held).sort() };
}
