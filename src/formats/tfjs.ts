import { statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { elementCount } from './coverage.js';
import { FormatError } from './errors.js';
import { checkLocation } from './onnx.js';
import type { FormatReader } from './reader.js';
import type { CompanionSegments, Segmentation, TensorSegment } from './segment.js';

/** model.json (or a bare weights manifest) is parsed whole; larger files are refused before any read. */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/** TF.js manifest dtypes → canonical dtype and bytes per element. `string` is variable-length (see below). */
export const TFJS_DTYPES: ReadonlyMap<string, { dtype: string; bytes: number }> = new Map([
  ['float32', { dtype: 'F32', bytes: 4 }],
  ['int32', { dtype: 'I32', bytes: 4 }],
  ['bool', { dtype: 'BOOL', bytes: 1 }],
  ['float16', { dtype: 'F16', bytes: 2 }],
  ['uint8', { dtype: 'U8', bytes: 1 }],
  ['uint16', { dtype: 'U16', bytes: 2 }],
  ['int8', { dtype: 'I8', bytes: 1 }],
  ['int16', { dtype: 'I16', bytes: 2 }],
  ['complex64', { dtype: 'C64', bytes: 8 }],
]);

/** Storage dtypes of `quantization.dtype`. */
export const TFJS_QUANTIZATION_DTYPES: ReadonlySet<string> = new Set(['uint8', 'uint16', 'float16']);

/** Suffix of the pieces after the first of a weight that crosses shard boundaries: `<name>#part2`, `#part3`, … */
export const PART_SEPARATOR = '#part';

export interface TfjsReadOptions {
  /**
   * Size in bytes of a shard, by its normalized path relative to the
   * directory of model.json; undefined when the shard does not exist. When
   * given, a missing shard that is needed to place weights is an error.
   * Default: stat the files beside `src.name` when that names a file on disk;
   * otherwise sizes are unknown (see readTfjs).
   */
  shardSize?: (relPath: string) => number | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Top-level keys of a TF.js model.json that can appear in its first bytes. */
const MODEL_HEAD = /"(?:modelTopology|weightsManifest|generatedBy|convertedBy)"|"format"\s*:\s*"(?:graph|layers)-model"/;
/** A bare weights manifest (`*weights_manifest.json`): an array of groups. */
const MANIFEST_HEAD = /^\uFEFF?\s*\[\s*\{\s*"(?:weights|paths)"/;
/** The same by name: the head may be all whitespace before the first key. */
const MANIFEST_HEAD_NAMED = /^\uFEFF?\s*\[\s*(?:\{|$)/;

/** The sizes of the files beside `file`, when `file` is a regular file on disk. */
function siblingSizes(file: string): ((relPath: string) => number | undefined) | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const dir = dirname(file);
  return (relPath) => {
    try {
      const st = statSync(join(dir, relPath));
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * Parses a TF.js model.json (graph or layers model) or a bare weights
 * manifest. The file itself is one literal segment; the weights become
 * companions: per shard file, the tensor segments inside it.
 *
 * Shard boundaries are not recorded in model.json, so placing a weight that
 * follows the first shard of a multi-shard group needs the sizes of the
 * shards before it (the last shard's size is never needed: the caller's
 * fillGaps checks that the tensors fit it). Without sizes (an in-memory
 * source and no `shardSize`), single-shard groups are still segmented and
 * multi-shard groups are left out (their shards are then stored as plain
 * bytes).
 */
export function readTfjs(src: ByteSource, opts: TfjsReadOptions = {}): Segmentation {
  const file = src.name;
  const fail = (cause: string): never => {
    throw new FormatError(file, `tfjs: ${cause}`);
  };
  if (src.size === 0) fail('file is empty');
  if (src.size > MAX_MODEL_JSON_BYTES) fail(`file is ${src.size} bytes, above the ${MAX_MODEL_JSON_BYTES}-byte limit for model.json`);
  let text = '';
  try {
    text = utf8.decode(src.read(0, src.size));
  } catch {
    fail('file is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`file is not valid JSON (${(e as Error).message})`);
  }

  let manifest: unknown;
  let where: string;
  if (Array.isArray(doc)) {
    manifest = doc;
    where = 'weights manifest';
  } else if (isObject(doc)) {
    if (!('weightsManifest' in doc) && !('modelTopology' in doc)) fail('neither modelTopology nor weightsManifest is present');
    if (doc['modelTopology'] !== undefined && doc['modelTopology'] !== null && typeof doc['modelTopology'] !== 'object') fail('modelTopology is not an object');
    manifest = doc['weightsManifest'];
    where = 'weightsManifest';
  } else {
    return fail('file is neither a model.json object nor a weights manifest array');
  }

  const segmentation: Segmentation = { format: 'tfjs', segments: [{ kind: 'literal', offset: 0, length: src.size }] };
  if (manifest === undefined || manifest === null) return segmentation; // a layers model without weights
  if (!Array.isArray(manifest)) fail(`${where} is not an array`);

  let sizeOf = opts.shardSize;
  const sizesKnown = sizeOf !== undefined || (sizeOf = siblingSizes(file)) !== undefined;

  const byPath = new Map<string, TensorSegment[]>();
  const seenPaths = new Map<string, string>();

  (manifest as unknown[]).forEach((group, g) => {
    const at = `${where}[${g}]`;
    if (!isObject(group)) fail(`${at} is not an object`);
    const { paths, weights } = group as Record<string, unknown>;
    if (!Array.isArray(paths)) fail(`${at}.paths is missing or not an array`);
    if ((paths as unknown[]).length === 0) fail(`${at}.paths is empty`);
    if (!Array.isArray(weights)) fail(`${at}.weights is missing or not an array`);
    const shards = (paths as unknown[]).map((p, i) => {
      const f = `${at}.paths[${i}]`;
      if (typeof p !== 'string') fail(`${f} is not a string`);
      const s = p as string;
      if (/^[A-Za-z][A-Za-z0-9+.-]+:/.test(s)) fail(`${f} ${JSON.stringify(s)} is a URL or absolute path`);
      let rel = '';
      try {
        rel = checkLocation(s);
      } catch (e) {
        fail(`${f}: ${(e as Error).message}`);
      }
      const prev = seenPaths.get(rel);
      if (prev !== undefined) fail(`${f} ${JSON.stringify(s)} names the same file as ${prev}`);
      seenPaths.set(rel, f);
      return { rel, field: f };
    });

    // Weights back to back: [start, end) in the group's byte stream.
    const placed: { name: string; dtype: string; shape: number[]; start: number; end: number; itemBytes: number }[] = [];
    let pos = 0;
    let variable = false; // after a string weight the offsets are data-dependent
    (weights as unknown[]).forEach((w, j) => {
      const f = `${at}.weights[${j}]`;
      if (!isObject(w)) fail(`${f} is not an object`);
      const { name, shape, dtype, quantization } = w as Record<string, unknown>;
      if (typeof name !== 'string') fail(`${f}.name is missing or not a string`);
      const wf = `${f} ('${name as string}')`;
      if (!Array.isArray(shape)) fail(`${wf}: shape is missing or not an array`);
      (shape as unknown[]).forEach((d, k) => {
        if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${wf}: shape[${k}] = ${JSON.stringify(d)} is not a non-negative integer`);
      });
      if (typeof dtype !== 'string') fail(`${wf}: dtype is missing or not a string`);
      let stored = dtype as string;
      if (quantization !== undefined) {
        if (!isObject(quantization)) fail(`${wf}: quantization is not an object`);
        const q = quantization as Record<string, unknown>;
        if (typeof q['dtype'] !== 'string' || !TFJS_QUANTIZATION_DTYPES.has(q['dtype'])) fail(`${wf}: unknown quantization.dtype ${JSON.stringify(q['dtype'])}`);
        for (const k of ['min', 'scale'] as const) {
          if (q[k] !== undefined && (typeof q[k] !== 'number' || !Number.isFinite(q[k]))) fail(`${wf}: quantization.${k} ${JSON.stringify(q[k])} is not a finite number`);
        }
        if (q['original_dtype'] !== undefined && (typeof q['original_dtype'] !== 'string' || !TFJS_DTYPES.has(q['original_dtype']))) {
          fail(`${wf}: unknown quantization.original_dtype ${JSON.stringify(q['original_dtype'])}`);
        }
        if (dtype === 'string') fail(`${wf}: a string weight cannot be quantized`);
        stored = q['dtype'] as string;
      }
      if (dtype === 'string') {
        variable = true; // length-prefixed strings: sizes are in the shard, not in model.json
        return;
      }
      if (!TFJS_DTYPES.has(dtype as string)) fail(`${wf}: unknown dtype ${JSON.stringify(dtype)}`);
      const info = TFJS_DTYPES.get(stored)!;
      const dims = shape as number[];
      const elements = elementCount(dims);
      if (elements === undefined) fail(`${wf}: shape [${dims.join(', ')}] has more than 2^53 elements`);
      const bytes = elements! * info.bytes;
      if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(pos + bytes)) fail(`${wf}: shape [${dims.join(', ')}] of ${stored} puts the group past 2^53 bytes`);
      if (!variable) placed.push({ name: name as string, dtype: info.dtype, shape: dims, start: pos, end: pos + bytes, itemBytes: info.bytes });
      pos += bytes;
    });

    // Shard extents in the group's byte stream. Only shards before the last need a size.
    const starts: number[] = [0];
    if (shards.length > 1) {
      if (!sizesKnown) return; // cannot place anything: leave the group's shards as plain bytes
      for (let i = 0; i < shards.length - 1; i++) {
        const size = sizeOf!(shards[i]!.rel);
        if (size === undefined) fail(`${shards[i]!.field}: shard file ${JSON.stringify(shards[i]!.rel)} is missing; its size is needed to place the weights after it`);
        starts.push(starts[i]! + size!);
      }
    }
    if (sizesKnown && !variable) {
      const last = sizeOf!(shards[shards.length - 1]!.rel);
      if (last !== undefined && pos > starts[starts.length - 1]! + last) {
        fail(`${at}: weights take ${pos} bytes, but the shard files hold ${starts[starts.length - 1]! + last}`);
      }
    }
    for (const s of shards) if (!byPath.has(s.rel)) byPath.set(s.rel, []);
    let k = 0;
    for (const w of placed) {
      if (w.end === w.start) continue;
      while (k < shards.length - 1 && w.start >= starts[k + 1]!) k++;
      // The pieces of w, one per shard it touches (the last shard extends to infinity here).
      const pieces: { shard: number; from: number; to: number }[] = [];
      for (let i = k; i < shards.length; i++) {
        const sStart = starts[i]!;
        const sEnd = i + 1 < shards.length ? starts[i + 1]! : Infinity;
        const from = Math.max(w.start, sStart);
        const to = Math.min(w.end, sEnd);
        if (to > from) pieces.push({ shard: i, from, to });
        if (w.end <= sEnd) break;
      }
      if (pieces.length === 1) {
        const p = pieces[0]!;
        byPath.get(shards[p.shard]!.rel)!.push({ kind: 'tensor', offset: p.from - starts[p.shard]!, length: p.to - p.from, name: w.name, dtype: w.dtype, shape: w.shape });
        continue;
      }
      pieces.forEach((p, n) => {
        const length = p.to - p.from;
        const aligned = (p.from - w.start) % w.itemBytes === 0 && length % w.itemBytes === 0;
        byPath.get(shards[p.shard]!.rel)!.push({
          kind: 'tensor',
          offset: p.from - starts[p.shard]!,
          length,
          name: n === 0 ? w.name : `${w.name}${PART_SEPARATOR}${n + 1}`,
          dtype: aligned ? w.dtype : 'UNKNOWN',
          shape: [aligned ? length / w.itemBytes : length],
          // Chunks of later parts stay on the whole weight's chunk grid.
          ...(n > 0 ? { phase: p.from - w.start } : {}),
        });
      });
    }
  });

  const companions: CompanionSegments[] = [];
  for (const [relPath, tensors] of byPath) if (tensors.length > 0) companions.push({ relPath, tensors, format: 'tfjs-weights' });
  if (companions.length > 0) segmentation.companions = companions;
  return segmentation;
}

export const tfjsReader: FormatReader = {
  format: 'tfjs',

  sniff(head: Buffer, path: string): boolean {
    if (extname(path).toLowerCase() !== '.json') return false;
    const text = head.toString('utf8');
    if (MODEL_HEAD.test(text) || MANIFEST_HEAD.test(text)) return true;
    return /weights_manifest\.json$/i.test(basename(path)) && MANIFEST_HEAD_NAMED.test(text);
  },

  read(src: ByteSource): Segmentation {
    return readTfjs(src);
  },
};
