import type { Backend, SegmentRow, TensorRow } from '../../backends/backend.js';
import { Codec } from '../../codec/index.js';
import { addFingerprint, FINGERPRINT_BYTES, fingerprintWidth } from '../../codec/fingerprint.js';
import { encodePermutePayload, permuteInto, type Permutation } from '../../codec/permute.js';
import { chunkHash, MAX_DELTA_DEPTH, SEG_TENSOR } from '../format.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import type { ChunkWriter } from './chunk-writer.js';
import type { ImportedFile } from './importer.js';

/**
 * Cross-format identity by axis order (issue 20, item 4): after an import's
 * chunks are stored, each new float tensor — every chunk of it stored first
 * by this import — whose values a stored tensor holds in another axis order
 * (a transposed dense kernel, a convolution kernel in OHWI order where the
 * store has it in HWIO…) is stored as that permutation instead: its chunks
 * are rewritten as PERMUTE chunks (codecs.md) whose bases are the source
 * tensor's chunks. Candidates come from the value-fingerprint index
 * (tensor_fingerprints: order-independent, so a permutation keeps it); one
 * is taken only when every chunk of the permuted source hashes to the new
 * tensor's chunk, so export stays byte-exact by construction. New tensors
 * that stay themselves join the index, so either export can come first.
 */

/** Smaller tensors (biases, scalars) match by accident and save nothing. */
export const PERMUTE_MIN_ELEMENTS = 256;
/** Ranks up to 5: at most 120 axis orders to try against a candidate's shape. */
export const PERMUTE_MAX_RANK = 5;
/**
 * Every chunk of a permuted tensor lists every chunk of its source as a base
 * (a transpose takes each chunk's values from all over the source), so the
 * base rows grow with the square of the tensor: at most 64 source chunks
 * (4 MiB at 64 KiB chunks, 4,096 rows). Larger tensors stay themselves (an
 * assembled-source chunk would lift this; see the closing notes).
 */
export const PERMUTE_MAX_SOURCE_CHUNKS = 64;
/** Candidates tried per tensor. */
const MAX_CANDIDATES = 4;

export interface PermuteReport {
  /** New tensors stored as a permutation of a stored one. */
  tensors: number;
  /** Their chunks, and the payload bytes the rewrite took off. */
  chunks: number;
  savedBytes: number;
}

interface Target {
  fileId: number;
  seg: SegmentRow;
  shape: number[];
  ids: number[];
  fingerprint: Buffer;
}

export async function storePermutations(
  backend: Backend, reader: ChunkReader, modelId: number, chunkSize: number, writer: ChunkWriter, files: ImportedFile[],
): Promise<PermuteReport> {
  const report: PermuteReport = { tensors: 0, chunks: 0, savedBytes: 0 };
  // Nothing new of a float tensor (a re-import, a model of other dtypes): no query at all.
  let anyFloat = false;
  for (const f of writer.fresh.values()) if (f.fingerprint) { anyFloat = true; break; }
  if (!anyFloat) return report;
  const targets = newFloatTensors(files, writer);
  if (targets.length === 0) return report;
  const candidates = new Map<string, Array<TensorRow & { fingerprint: Buffer }>>();
  const distinct = new Map(targets.map((t) => [t.fingerprint.toString('hex'), t.fingerprint]));
  for (const c of await backend.tensorsByFingerprint([...distinct.values()])) {
    if (c.modelId === modelId) continue;
    const k = c.fingerprint.toString('hex');
    const list = candidates.get(k) ?? [];
    if (list.length < MAX_CANDIDATES) list.push(c);
    candidates.set(k, list);
  }
  const keep: Target[] = [];
  for (const t of targets) {
    const done = await tryCandidates(backend, reader, chunkSize, writer, t, candidates.get(t.fingerprint.toString('hex')) ?? []);
    if (done) {
      report.tensors++;
      report.chunks += done.chunks;
      report.savedBytes += done.saved;
    } else keep.push(t);
  }
  await backend.putTensorFingerprints(keep.map((t) => ({ fileId: t.fileId, ordinal: t.seg.ordinal, fingerprint: t.fingerprint })));
  return report;
}

/** The model's float tensors of rank 2..5 that this import stored whole (every chunk fresh), with their fingerprints. */
function newFloatTensors(files: ImportedFile[], writer: ChunkWriter): Target[] {
  const out: Target[] = [];
  for (const f of files) {
    for (const seg of f.segments) {
      if (!eligible(seg)) continue;
      const ids = f.chunkIds.slice(seg.firstChunk, seg.firstChunk + seg.chunkCount);
      const fp = Buffer.alloc(FINGERPRINT_BYTES);
      let whole = ids.length > 0;
      for (const id of ids) {
        const fresh = writer.fresh.get(id)?.fingerprint;
        if (!fresh) {
          whole = false;
          break;
        }
        addFingerprint(fp, fresh);
      }
      if (whole) out.push({ fileId: f.fileId, seg, shape: seg.shape!, ids, fingerprint: fp });
    }
  }
  return out;
}

function eligible(s: SegmentRow): boolean {
  if (s.kind !== SEG_TENSOR || s.shape === null || s.chunkCount === 0 || s.chunkCount > PERMUTE_MAX_SOURCE_CHUNKS) return false;
  // The dtypes that get fingerprints: a tensor without one could never be found.
  const w = fingerprintWidth(s.dtype);
  if (w === undefined || s.shape.length < 2 || s.shape.length > PERMUTE_MAX_RANK) return false;
  const n = s.shape.reduce((a, b) => a * b, 1);
  return n >= PERMUTE_MIN_ELEMENTS && n * w === s.length;
}

/** Every axis order perm (not the identity) with source[perm[i]] === target[i]. */
export function axisOrders(source: number[], target: number[]): number[][] {
  const r = source.length;
  const out: number[][] = [];
  if (target.length !== r) return out;
  const perm: number[] = [];
  const used = new Array<boolean>(r).fill(false);
  const walk = (i: number): void => {
    if (i === r) {
      if (perm.some((a, k) => a !== k)) out.push([...perm]);
      return;
    }
    for (let a = 0; a < r; a++) {
      if (used[a] || source[a] !== target[i]) continue;
      used[a] = true;
      perm.push(a);
      walk(i + 1);
      perm.pop();
      used[a] = false;
    }
  };
  walk(0);
  return out;
}

async function tryCandidates(
  backend: Backend, reader: ChunkReader, chunkSize: number, writer: ChunkWriter, t: Target, candidates: TensorRow[],
): Promise<{ chunks: number; saved: number } | undefined> {
  const w = fingerprintWidth(t.seg.dtype)!;
  const targetIds = new Set(t.ids);
  for (const c of candidates) {
    if (c.dtype !== t.seg.dtype || c.length !== t.seg.length || c.chunkCount > PERMUTE_MAX_SOURCE_CHUNKS) continue;
    const orders = axisOrders(c.shape, t.shape);
    if (orders.length === 0) continue;
    const sourceIds = (await backend.fileChunkIds(c.fileId)).slice(c.firstChunk, c.firstChunk + c.chunkCount);
    if (sourceIds.length !== c.chunkCount || sourceIds.some((id) => targetIds.has(id))) continue;
    const depth = 1 + Math.max(...(await backend.chunkInfo([...new Set(sourceIds)])).map((i) => i.depth));
    if (depth > MAX_DELTA_DEPTH) continue;
    // A chunk that is already another chunk's base keeps its payload: rewriting it would deepen its dependents.
    if ((await backend.chunksWithDependents(t.ids)).size > 0) return undefined;
    const source = Buffer.concat(await reader.read(sourceIds));
    if (source.length !== c.length) continue;
    for (const perm of orders) {
      const p: Permutation = { elementBytes: w, dims: c.shape, perm };
      if (!matches(source, p, t, chunkSize, writer)) continue;
      let saved = 0;
      const rewritten = new Set<number>();
      for (let k = 0; k < t.ids.length; k++) {
        const id = t.ids[k]!;
        if (rewritten.has(id)) continue;
        rewritten.add(id);
        const payload = encodePermutePayload(p, (k * chunkSize) / w);
        await backend.rewriteChunk(id, { codec: Codec.PERMUTE, data: payload, storedSize: payload.length, depth, bases: sourceIds });
        saved += writer.fresh.get(id)!.storedSize - payload.length;
        writer.rewrote(id, payload.length);
      }
      return { chunks: rewritten.size, saved };
    }
  }
  return undefined;
}

/** Whether every chunk of the permuted source hashes to the new tensor's chunk at the same place (the first tried first). */
function matches(source: Buffer, p: Permutation, t: Target, chunkSize: number, writer: ChunkWriter): boolean {
  const w = p.elementBytes;
  if (chunkSize % w !== 0) return false;
  const buf = Buffer.allocUnsafeSlow(chunkSize);
  for (let k = 0; k < t.ids.length; k++) {
    const len = Math.min(chunkSize, t.seg.length - k * chunkSize);
    const piece = buf.subarray(0, len);
    permuteInto(piece, source, p, (k * chunkSize) / w);
    if (!chunkHash(piece).equals(writer.fresh.get(t.ids[k]!)!.hash)) return false;
  }
  return true;
}
