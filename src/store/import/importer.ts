import { setImmediate as tick } from 'node:timers/promises';
import type { Backend, ModelRow, SegmentRow } from '../../backends/backend.js';
import { FileSource } from '../../io/file-source.js';
import { hashFileSync } from '../../io/hash-file-sync.js';
import { ParallelSha256 } from '../../io/parallel-hash.js';
import type { Segment } from '../../formats/segment.js';
import type { CdcParams } from '../../chunking/fastcdc.js';
import { conflict } from '../../errors.js';
import type { TesseraError } from '../../errors.js';
import { SETTING_CHUNK_SIZE } from '../format.js';
import { collectInputs } from './inputs.js';
import type { InputFile } from './inputs.js';
import { filePieces } from './pieces.js';
import { ChunkWriter } from './chunk-writer.js';
import type { ChunkAccounting } from './chunk-writer.js';
import { EncodePool } from '../../codec/index.js';
import { caseTwin, checkNewModelName, quoteName } from '../names.js';
import type { ChunkEncoder } from './encoder.js';
import { segmentKindCode } from '../format.js';

export interface ImportOptions {
  name: string;
  version?: number;
  chunkSize: number;
  cdc?: Partial<CdcParams>;
  /** Builds the encoder for this import once its files are known (it may pick a base model from them). */
  makeEncoder: (inputs: InputFile[]) => Promise<ChunkEncoder>;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Compress and hash on worker threads: default, when the import is big enough to pay for them. */
  workerThreads?: boolean;
  /** Kept with the model (e.g. an example inference request). */
  metadata?: Record<string, unknown>;
  /** Runs inside the import's transaction once the model's chunks are stored (e.g. to rebase older copies). */
  afterChunks?: (modelId: number) => Promise<void>;
  /** Name files in messages by their path inside the model (an upload: see collectInputs). */
  relativeNames?: boolean;
}

/** What an import did: the chunk accounting of ChunkWriter (chunks seen, new, delta-coded) and the model. */
export interface ImportResult extends ChunkAccounting {
  model: ModelRow;
  /** False when the files were already stored as this model (nothing written). */
  created: boolean;
  files: number;
  tensors: number;
  logicalBytes: number;
  /** The model deltas were taken against, when there was one. */
  base?: ModelRow;
}

/** Files at least this big have their SHA-256 computed on a worker thread. */
const WORKER_HASH_MIN = 8 << 20;
/** Imports at least this big compress on a worker thread. */
const WORKER_ENCODE_MIN = 16 << 20;

/** Another chunk size than the store's: the same tensors would cut into other chunks and share nothing. */
export function chunkSizeConflict(stored: string, requested: number): TesseraError {
  return conflict(`this store cuts tensors into ${stored}-byte chunks; importing with ${requested} would deduplicate nothing against it (use a new store for another chunk size)`);
}

/** Thrown inside the transaction to roll back an import that found the model already stored. */
class Unchanged extends Error {
  constructor(readonly existing: ModelRow) {
    super('unchanged');
  }
}

function segmentRow(seg: Segment, ordinal: number): SegmentRow {
  const t = seg.kind === 'tensor' ? seg : undefined;
  return {
    ordinal, kind: segmentKindCode(seg.kind), tensorName: t?.name ?? null, dtype: t?.dtype ?? null, shape: t?.shape ?? null,
    fileOffset: seg.offset, length: seg.length, firstChunk: 0, chunkCount: 0,
  };
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
  checkNewModelName(opts.name);
  // Reading and validating every file's structure happens before the
  // transaction: a malformed file is rejected with nothing written.
  const inputs = collectInputs(path, { relativeNames: opts.relativeNames });
  const logicalBytes = inputs.reduce((n, f) => n + f.size, 0);
  const formats = new Set(inputs.map((f) => f.segmentation.format));
  const format = formats.size === 1 ? [...formats][0]! : 'mixed';
  let done = 0;
  let tensors = 0;
  // Compression runs on a worker thread when there is enough to compress to pay for starting one.
  const pool = new EncodePool(opts.workerThreads ?? logicalBytes >= WORKER_ENCODE_MIN);

  try {
    const result = await backend.transaction(async () => {
      // A backend may run this function again after a deadlock with another importer (PostgreSQL): start counting afresh.
      done = 0;
      tensors = 0;
      const existing = opts.version !== undefined ? await backend.findModel(opts.name, opts.version) : undefined;
      if (existing) {
        // An explicit version that already exists: fine when it is the same files.
        const hashes = inputs.map((f) => ({ relPath: f.relPath, size: f.size, sha256: hashFileSync(f.absPath) }));
        if (await sameFiles(backend, existing, hashes)) throw new Unchanged(existing);
        throw conflict(`${opts.name}:${opts.version} already exists with different files; choose another version or omit --version`);
      }
      // The store's chunk size is fixed by its first import, in that import's transaction: a failed
      // import fixes nothing, and of two first imports at once with other sizes one is refused.
      const stored = await backend.claimSetting(SETTING_CHUNK_SIZE, String(opts.chunkSize));
      if (Number(stored) !== opts.chunkSize) throw chunkSizeConflict(stored, opts.chunkSize);
      const latest = await backend.findModel(opts.name);
      if (!latest) {
        const twin = caseTwin(opts.name, await backend.caseVariants(opts.name));
        if (twin !== undefined) throw conflict(`model name ${quoteName(opts.name)} differs from the stored ${quoteName(twin)} only in letter case; use "${twin}" or another name`);
      }
      const encoder = await opts.makeEncoder(inputs);
      const version = opts.version ?? (latest ? latest.version + 1 : 1);
      const modelId = await backend.insertModel({
        name: opts.name, version, format, baseModelId: null, createdAt: new Date().toISOString(), logicalBytes,
        newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0,
        metadataJson: opts.metadata ? JSON.stringify(opts.metadata) : null,
      });
      const writer = new ChunkWriter(backend, encoder, pool);
      const hashed: { relPath: string; size: number; sha256: Buffer }[] = [];

      for (const input of inputs) {
        tensors += input.segmentation.segments.filter((s) => s.kind === 'tensor').length;
        const { segments, chunkIds, sha256 } = await chunkFile(input, opts.chunkSize, opts.cdc, writer, opts.workerThreads, !!opts.onProgress, (n) => {
          done += n;
          opts.onProgress?.(done, logicalBytes);
        });
        hashed.push({ relPath: input.relPath, size: input.size, sha256 });
        const fileId = await backend.insertFile({ modelId, path: input.relPath, size: input.size, sha256, format: input.segmentation.format });
        await backend.insertSegments(fileId, segments);
        await backend.insertFileChunks(fileId, 0, chunkIds);
      }
      if (latest && opts.version === undefined && (await sameFiles(backend, latest, hashed))) throw new Unchanged(latest);
      if (opts.afterChunks) await opts.afterChunks(modelId);
      const acc = writer.acc;
      await backend.updateModelAccounting(modelId, {
        newRawBytes: acc.newRawBytes, newStoredBytes: acc.newStoredBytes, deltaRawBytes: acc.deltaRawBytes,
        // The lineage records a base only when some chunk really is a delta against it.
        deltaStoredBytes: acc.deltaStoredBytes, baseModelId: acc.deltaRawBytes > 0 ? encoder.baseModelId ?? null : null,
      });
      const model = (await backend.getModel(modelId))!;
      const base = model.baseModelId !== null ? await backend.getModel(model.baseModelId) : undefined;
      return {
        model, created: true, files: inputs.length, tensors, logicalBytes, chunks: acc.chunks,
        newChunks: acc.newChunks, newRawBytes: acc.newRawBytes, newStoredBytes: acc.newStoredBytes,
        deltaRawBytes: acc.deltaRawBytes, deltaStoredBytes: acc.deltaStoredBytes, ...(base ? { base } : {}),
      };
    });
    return result;
  } catch (e) {
    if (!(e instanceof Unchanged)) throw e;
    opts.onProgress?.(logicalBytes, logicalBytes);
    return {
      model: e.existing, created: false, files: inputs.length, tensors: 0, logicalBytes, chunks: 0, newChunks: 0,
      newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0,
    };
  } finally {
    await pool.close();
  }
}

/** Cuts one file into pieces and stores them, keeping at most two batches in flight. */
async function chunkFile(
  input: InputFile, chunkSize: number, cdc: Partial<CdcParams> | undefined, writer: ChunkWriter,
  workerThreads: boolean | undefined, yieldToTimers: boolean, progress: (bytes: number) => void,
): Promise<{ segments: SegmentRow[]; chunkIds: number[]; sha256: Buffer }> {
  const segs = input.segmentation.segments;
  const rows = segs.map(segmentRow);
  const chunkIds: number[] = [];
  const src = new FileSource(input.absPath);
  // The whole file's SHA-256, from the same blocks, on a worker thread for big files.
  const fileHash = new ParallelSha256(workerThreads ?? input.size >= WORKER_HASH_MIN);
  const inFlight: { pieces: { segment: number; index: number; length: number }[]; ids: Promise<number[]> }[] = [];
  const drainOne = async (): Promise<void> => {
    const b = inFlight.shift()!;
    const ids = await b.ids;
    b.pieces.forEach((p, i) => {
      const row = rows[p.segment]!;
      if (p.index === 0) row.firstChunk = chunkIds.length;
      row.chunkCount++;
      chunkIds.push(ids[i]!);
      progress(p.length);
    });
  };
  try {
    if (src.size !== input.size) throw new Error(`${input.label}: file changed size during import`);
    for (const batch of filePieces(src, segs, chunkSize, cdc, fileHash)) {
      const { ids } = await writer.submit(batch, segs);
      inFlight.push({ pieces: batch.map((p) => ({ segment: p.segment, index: p.index, length: p.data.length })), ids });
      if (inFlight.length > 1) await drainOne();
      // Let timers (the progress bar) run between blocks.
      if (yieldToTimers) await tick();
    }
    while (inFlight.length) await drainOne();
  } catch (e) {
    await fileHash.abort();
    // Let batches still in flight settle before the transaction rolls back.
    await Promise.allSettled(inFlight.map((b) => b.ids));
    throw e;
  } finally {
    src.close();
  }
  for (const r of rows) if (r.chunkCount === 0) r.firstChunk = chunkIds.length;
  return { segments: rows, chunkIds, sha256: await fileHash.digest() };
}
