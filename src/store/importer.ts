import { createHash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import type { Backend, ModelRow, NewChunk, SegmentRow } from '../backends/backend.js';
import { SEG_LITERAL, SEG_TENSOR } from '../backends/backend.js';
import { FileSource } from '../io/file-source.js';
import { hashFileSync } from '../io/hash-file-sync.js';
import { ParallelSha256 } from '../io/parallel-hash.js';
import type { Segment } from '../formats/segment.js';
import type { CdcParams } from '../chunking/fastcdc.js';
import { UserError } from './errors.js';
import { collectInputs } from './inputs.js';
import type { InputFile } from './inputs.js';
import { filePieces } from './pieces.js';
import type { Piece } from './pieces.js';
import { validateModelName } from './model-ref.js';
import type { ChunkEncoder } from './encoder.js';

export interface ImportOptions {
  name: string;
  version?: number;
  chunkSize: number;
  cdc?: Partial<CdcParams>;
  /** Builds the encoder for this import once its files are known (it may pick a base model from them). */
  makeEncoder: (inputs: InputFile[]) => Promise<ChunkEncoder>;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ImportResult {
  model: ModelRow;
  /** False when the files were already stored as this model (nothing written). */
  created: boolean;
  files: number;
  tensors: number;
  logicalBytes: number;
  chunks: number;
  newChunks: number;
  /** Raw bytes of chunks stored for the first time. */
  newRawBytes: number;
  /** Payload bytes written for them. */
  newStoredBytes: number;
  /** Of the new chunks, raw and payload bytes of those stored as deltas. */
  deltaRawBytes: number;
  deltaStoredBytes: number;
  /** The model deltas were taken against, when there was one. */
  base?: ModelRow;
}

/** Files at least this big have their SHA-256 computed on a worker thread. */
const WORKER_HASH_MIN = 8 << 20;

/** Thrown inside the transaction to roll back an import that found the model already stored. */
class Unchanged extends Error {
  constructor(readonly existing: ModelRow) {
    super('unchanged');
  }
}

function segmentRow(seg: Segment, ordinal: number): SegmentRow {
  return seg.kind === 'tensor'
    ? { ordinal, kind: SEG_TENSOR, tensorName: seg.name, dtype: seg.dtype, shape: seg.shape, fileOffset: seg.offset,
        length: seg.length, firstChunk: 0, chunkCount: 0 }
    : { ordinal, kind: SEG_LITERAL, tensorName: null, dtype: null, shape: null, fileOffset: seg.offset,
        length: seg.length, firstChunk: 0, chunkCount: 0 };
}

async function sameFiles(backend: Backend, model: ModelRow, files: { relPath: string; size: number; sha256: Buffer }[]): Promise<boolean> {
  const stored = await backend.listFiles(model.id);
  if (stored.length !== files.length) return false;
  const byPath = new Map(stored.map((f) => [f.path, f]));
  return files.every((f) => {
    const s = byPath.get(f.relPath);
    return s !== undefined && s.size === f.size && s.sha256.equals(f.sha256);
  });
}

/**
 * Imports a file or directory as one model version, in one transaction: a
 * failure at any point leaves the store as it was. Chunks already stored (by
 * any model, or earlier in this import) are referenced, not written again.
 */
export async function importModel(backend: Backend, path: string, opts: ImportOptions): Promise<ImportResult> {
  validateModelName(opts.name);
  // Reading and validating every file's structure happens before the
  // transaction: a malformed file is rejected with nothing written.
  const inputs = collectInputs(path);
  const logicalBytes = inputs.reduce((n, f) => n + f.size, 0);
  const formats = new Set(inputs.map((f) => f.segmentation.format));
  const format = formats.size === 1 ? [...formats][0]! : 'mixed';
  let done = 0;
  const acc = { chunks: 0, newChunks: 0, newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, tensors: 0 };

  try {
    return await backend.transaction(async () => {
      const existing = opts.version !== undefined ? await backend.findModel(opts.name, opts.version) : undefined;
      if (existing) {
        // An explicit version that already exists: fine when it is the same files.
        const hashes = inputs.map((f) => ({ relPath: f.relPath, size: f.size, sha256: hashFileSync(f.absPath) }));
        if (await sameFiles(backend, existing, hashes)) throw new Unchanged(existing);
        throw new UserError(`${opts.name}:${opts.version} already exists with different files; choose another version or omit --version`);
      }
      const latest = await backend.findModel(opts.name);
      const encoder = await opts.makeEncoder(inputs);
      const version = opts.version ?? (await backend.nextVersion(opts.name));
      const modelId = await backend.insertModel({
        name: opts.name, version, format, baseModelId: null, createdAt: new Date().toISOString(), logicalBytes,
        newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null,
      });
      // Chunks first stored by this import, by hash, so a repeat within the import is referenced too.
      const local = new Map<string, number>();
      const hashed: { relPath: string; size: number; sha256: Buffer }[] = [];

      for (const input of inputs) {
        const { segments, chunkIds, sha256 } = await chunkFile(backend, input, opts.chunkSize, opts.cdc, encoder, !!opts.onProgress, local, acc, (n) => {
          done += n;
          opts.onProgress?.(done, logicalBytes);
        });
        hashed.push({ relPath: input.relPath, size: input.size, sha256 });
        const fileId = await backend.insertFile({ modelId, path: input.relPath, size: input.size, sha256, format: input.segmentation.format });
        await backend.insertSegments(fileId, segments);
        await backend.insertFileChunks(fileId, 0, chunkIds);
      }
      if (latest && opts.version === undefined && (await sameFiles(backend, latest, hashed))) throw new Unchanged(latest);
      await backend.updateModelAccounting(modelId, {
        newRawBytes: acc.newRawBytes, newStoredBytes: acc.newStoredBytes, deltaRawBytes: acc.deltaRawBytes,
        // The lineage records a base only when some chunk really is a delta against it.
        deltaStoredBytes: acc.deltaStoredBytes, baseModelId: acc.deltaRawBytes > 0 ? encoder.baseModelId ?? null : null,
      });
      const model = (await backend.getModel(modelId))!;
      const base = model.baseModelId !== null ? await backend.getModel(model.baseModelId) : undefined;
      return {
        model, created: true, files: inputs.length, tensors: acc.tensors, logicalBytes, chunks: acc.chunks,
        newChunks: acc.newChunks, newRawBytes: acc.newRawBytes, newStoredBytes: acc.newStoredBytes,
        deltaRawBytes: acc.deltaRawBytes, deltaStoredBytes: acc.deltaStoredBytes, ...(base ? { base } : {}),
      };
    });
  } catch (e) {
    if (!(e instanceof Unchanged)) throw e;
    opts.onProgress?.(logicalBytes, logicalBytes);
    return {
      model: e.existing, created: false, files: inputs.length, tensors: 0, logicalBytes, chunks: 0, newChunks: 0,
      newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0,
    };
  }
}

interface Accounting {
  chunks: number; newChunks: number; newRawBytes: number; newStoredBytes: number;
  deltaRawBytes: number; deltaStoredBytes: number; tensors: number;
}

async function chunkFile(
  backend: Backend, input: InputFile, chunkSize: number, cdc: Partial<CdcParams> | undefined, encoder: ChunkEncoder,
  yieldToTimers: boolean, local: Map<string, number>, acc: Accounting, progress: (bytes: number) => void,
): Promise<{ segments: SegmentRow[]; chunkIds: number[]; sha256: Buffer }> {
  const segs = input.segmentation.segments;
  const rows = segs.map(segmentRow);
  acc.tensors += segs.filter((s) => s.kind === 'tensor').length;
  const chunkIds: number[] = [];
  const src = new FileSource(input.absPath);
  // The whole file's SHA-256, from the same blocks, on a worker thread for big files.
  const fileHash = new ParallelSha256(input.size >= WORKER_HASH_MIN);
  try {
    if (src.size !== input.size) throw new Error(`${input.absPath}: file changed size during import`);
    for (const batch of filePieces(src, segs, chunkSize, cdc, fileHash)) {
      const ids = await storePieces(backend, batch, segs, encoder, local, acc);
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        const row = rows[p.segment]!;
        if (p.index === 0) row.firstChunk = chunkIds.length;
        row.chunkCount++;
        chunkIds.push(ids[i]!);
        progress(p.data.length);
      }
      // Let timers (the progress bar) run between blocks.
      if (yieldToTimers) await tick();
    }
  } catch (e) {
    await fileHash.abort();
    throw e;
  } finally {
    src.close();
  }
  for (const r of rows) if (r.chunkCount === 0) r.firstChunk = chunkIds.length;
  return { segments: rows, chunkIds, sha256: await fileHash.digest() };
}

async function storePieces(
  backend: Backend, batch: Piece[], segs: Segment[], encoder: ChunkEncoder, local: Map<string, number>, acc: Accounting,
): Promise<number[]> {
  const hashes = batch.map((p) => createHash('sha256').update(p.data).digest());
  const keys = hashes.map((h) => h.toString('base64'));
  const ids: (number | undefined)[] = keys.map((k) => local.get(k));
  const unknown = ids.flatMap((id, i) => (id === undefined ? [i] : []));
  if (unknown.length) {
    const found = await backend.lookupChunks(unknown.map((i) => hashes[i]!));
    unknown.forEach((i, j) => (ids[i] = found[j]));
  }
  const fresh: NewChunk[] = [];
  const freshAt: number[] = [];
  const freshKeys = new Set<string>();
  for (let i = 0; i < batch.length; i++) {
    if (ids[i] !== undefined || freshKeys.has(keys[i]!)) continue;
    freshKeys.add(keys[i]!);
    const p = batch[i]!;
    const seg = segs[p.segment]!;
    const enc = await encoder.encode(p.data, seg.kind === 'tensor' ? { tensor: seg, index: p.index } : undefined);
    fresh.push({
      hash: hashes[i]!, rawSize: p.data.length, storedSize: enc.payload.length, codec: enc.codec, bases: enc.bases,
      depth: enc.depth, data: enc.payload,
    });
    freshAt.push(i);
    acc.newRawBytes += p.data.length;
    acc.newStoredBytes += enc.payload.length;
    if (enc.bases.length) {
      acc.deltaRawBytes += p.data.length;
      acc.deltaStoredBytes += enc.payload.length;
    }
  }
  if (fresh.length) {
    const newIds = await backend.insertChunks(fresh);
    freshAt.forEach((i, j) => {
      ids[i] = newIds[j];
      local.set(keys[i]!, newIds[j]!);
    });
    acc.newChunks += fresh.length;
  }
  // Repeats of a chunk first seen in this batch.
  for (let i = 0; i < batch.length; i++) if (ids[i] === undefined) ids[i] = local.get(keys[i]!);
  acc.chunks += batch.length;
  return ids as number[];
}
