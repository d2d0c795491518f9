import { recordSharing } from '../inspect/sharing-index.js';
import { setImmediate as tick } from 'node:timers/promises';
import type { Backend, ModelRow, SegmentRow } from '../../backends/backend.js';
import { FileSource } from '../../io/file-source.js';
import { hashFileSync } from '../../io/hash-file-sync.js';
import { Sha256Sink } from '../../io/parallel-hash.js';
import { BlockRing } from '../../io/block-ring.js';
import type { CdcParams } from '../../chunking/fastcdc.js';
import { conflict } from '../../errors.js';
import type { TesseraError } from '../../errors.js';
import { SETTING_CHUNK_SIZE, segmentRowOf } from '../format.js';
import { collectInputs } from './inputs.js';
import type { InputFile } from './inputs.js';
import { PieceCutter, READ_BLOCK } from './pieces.js';
import { ChunkWriter } from './chunk-writer.js';
import { storedCopies } from './file-dedup.js';
import type { StoredCopy } from './file-dedup.js';
import type { ChunkAccounting } from './chunk-writer.js';
import { inThreadWork } from './chunk-work.js';
import type { ChunkWork } from './chunk-work.js';
import { caseTwin, checkNewModelName, modelWriteLock, quoteName } from '../names.js';
import type { ChunkEncoder } from './encoder.js';

/** The model an import is making, as its encoder learns of it. */
export interface ImportingModel {
  /** The latest stored version of the same name, before this import. */
  previous: ModelRow | undefined;
  /** The new model's id, set once its row is inserted (before any chunk is encoded): no base for itself. */
  id?: number;
}

export interface ImportOptions {
  name: string;
  version?: number;
  chunkSize: number;
  cdc?: Partial<CdcParams>;
  /** Builds the encoder for this import once its files are known (it may pick a base model from the files it will encode: those no stored file holds). */
  makeEncoder: (inputs: InputFile[], work: ChunkWork, model: ImportingModel) => Promise<ChunkEncoder>;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Hash and compress on worker threads: default, when the import is big enough to pay for them. */
  workerThreads?: boolean;
  /** The worker threads (started on first call, kept by the caller for later imports). */
  threads?: () => Promise<ChunkWork>;
  /** Kept with the model (e.g. an example inference request). */
  metadata?: Record<string, unknown>;
  /**
   * Runs inside the import's transaction once the model's chunks are stored
   * (e.g. to rebase older copies, or store new tensors as permutations of
   * stored ones), with the rows just written for each file and the writer
   * that stored the chunks.
   */
  afterChunks?: (modelId: number, files: ImportedFile[], writer: ChunkWriter) => Promise<void>;
  /** Name files in messages by their path inside the model (an upload: see collectInputs). */
  relativeNames?: boolean;
  /** The files as collectInputs read them already (a batch checks every source first): not read again. */
  inputs?: readonly InputFile[];
}

/** A file of the model being imported, with the rows written for it (what afterChunks needs, without reading them back). */
export interface ImportedFile {
  input: InputFile;
  fileId: number;
  segments: SegmentRow[];
  chunkIds: number[];
  /** SHA-256 of the file's bytes, taken as they were read. */
  sha256: Buffer;
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

/** Imports at least this big hash and encode on worker threads (starting them takes ~50 ms of CPU). */
const WORKER_MIN = 16 << 20;
/** Files at least this big are hashed on the digest thread (below, two messages cost more than hashing). */
const FILE_HASH_THREAD_MIN = 256 << 10;
/** Blocks at least this big are read off this thread (below, the round trip costs more than the copy). */
const ASYNC_READ_MIN = 1 << 20;
/** Blocks in flight: each READ_BLOCK bytes (or the largest file's size, if smaller). */
const RING_SLOTS = 6;
/**
 * A finished import's ring, for the next import of the process: fresh shared
 * memory costs ~8 ms per small import in zeroing and page faults (a batch of
 * package versions pays it per version). Its slots stay allocated, up to
 * RING_SLOTS × READ_BLOCK (48 MiB) after a big import.
 */
let spareRing: BlockRing | undefined;

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
  const inputs = opts.inputs ? [...opts.inputs] : collectInputs(path, { relativeNames: opts.relativeNames });
  const logicalBytes = inputs.reduce((n, f) => n + f.size, 0);
  const formats = new Set(inputs.map((f) => f.segmentation.format));
  const format = formats.size === 1 ? [...formats][0]! : 'mixed';
  let done = 0;
  let tensors = 0;
  // Hashing and compression run on worker threads when there is enough work to pay for starting them.
  const work = opts.threads && (opts.workerThreads ?? logicalBytes >= WORKER_MIN) ? await opts.threads() : inThreadWork;
  // The last import's ring when it is free (imports one after another: a batch, a server's uploads).
  const ring = spareRing ?? new BlockRing(RING_SLOTS, Math.min(READ_BLOCK, Math.max(1, ...inputs.map((f) => f.size))));
  spareRing = undefined;

  try {
    const result = await backend.transaction(async () => {
      // A backend may run this function again after a deadlock with another importer (PostgreSQL): start counting afresh.
      done = 0;
      tensors = 0;
      await backend.lockKey(modelWriteLock(opts.name));
      const existing = opts.version !== undefined ? await backend.findModel(opts.name, opts.version) : undefined;
      if (existing) {
        // An explicit version that already exists: fine when it is the same files.
        const hashes = inputs.map((f) => ({ relPath: f.relPath, size: f.size, sha256: f.stored?.sha256 ?? hashFileSync(f.absPath) }));
        if (await sameFiles(backend, existing, hashes)) throw new Unchanged(existing);
        throw conflict(`${opts.name}:${opts.version} already exists with different files; choose another version or omit --version`);
      }
      // The store's chunk size is fixed by its first import, in that import's transaction: a failed
      // import fixes nothing, and of two first imports at once with other sizes one is refused.
      const stored = await backend.claimSetting(SETTING_CHUNK_SIZE, String(opts.chunkSize));
      if (Number(stored) !== opts.chunkSize) throw chunkSizeConflict(stored, opts.chunkSize);
      const latest = await backend.findModel(opts.name);
      if (!latest) {
        const twin = caseTwin(opts.name, await backend.modelNamesFolded(opts.name));
        if (twin !== undefined) throw conflict(`model name ${quoteName(opts.name)} differs from the stored ${quoteName(twin)} only in letter case; use "${twin}" or another name`);
      }
      const importing: ImportingModel = { previous: latest };
      // Files a stored model holds already, byte for byte: they take that file's rows (file-dedup.ts),
      // and only the others are cut, encoded, and looked at to pick a base.
      const copies = await storedCopies(backend, inputs, work);
      // Every file stored already: when they are the latest version's files, at its paths, there is nothing to import.
      if (latest && opts.version === undefined && copies.size === inputs.length) {
        const hashed = inputs.map((f) => ({ relPath: f.relPath, size: f.size, sha256: copies.get(f)!.sha256 }));
        if (await sameFiles(backend, latest, hashed)) throw new Unchanged(latest);
      }
      const encoder = await opts.makeEncoder(copies.size ? inputs.filter((f) => !copies.has(f)) : inputs, work, importing);
      const version = opts.version ?? (latest ? latest.version + 1 : 1);
      const modelId = await backend.insertModel({
        name: opts.name, version, format, baseModelId: null, createdAt: new Date().toISOString(), logicalBytes,
        newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0,
        metadataJson: opts.metadata ? JSON.stringify(opts.metadata) : null,
      });
      importing.id = modelId;
      const writer = new ChunkWriter(backend, encoder, work);
      const imported: ImportedFile[] = [];

      // Files overlap: the next file is read while the last batches of the one
      // before are hashed, encoded and stored (a package of many small files
      // would otherwise wait a round trip per file). Their rows go in in order.
      let filed: Promise<void> = Promise.resolve();
      let failed = false;
      try {
        for (const input of inputs) {
          if (failed) break;
          tensors += input.segmentation.segments.filter((s) => s.kind === 'tensor').length;
          const progress = (n: number): void => {
            done += n;
            opts.onProgress?.(done, logicalBytes);
          };
          const copy = copies.get(input);
          const file = input.stored ? storedRows(backend, input, progress)
            : copy ? copiedRows(input, copy, writer, progress)
              : await chunkFile(input, opts.chunkSize, opts.cdc, writer, ring, work, !!opts.onProgress, progress);
          filed = filed.then(async () => {
            const { segments, chunkIds, sha256 } = await file.rows;
            const fileId = await backend.insertFile({ modelId, path: input.relPath, size: input.size, sha256, format: input.segmentation.format });
            // A stored file's rows are copied inside the database (no row passes through here).
            const from = input.stored?.fileId ?? copy?.fileId;
            if (from !== undefined) {
              await backend.copyFileRows(from, fileId);
            } else {
              await backend.insertSegments(fileId, segments);
              await backend.insertFileChunks(fileId, 0, chunkIds);
            }
            imported.push({ input, fileId, segments, chunkIds, sha256 });
          });
          filed.catch(() => (failed = true));
        }
      } catch (e) {
        // Let files still in flight settle before the transaction rolls back.
        await filed.catch(() => {});
        throw e;
      }
      await filed;
      const hashed = imported.map((f) => ({ relPath: f.input.relPath, size: f.input.size, sha256: f.sha256 }));
      if (latest && opts.version === undefined && (await sameFiles(backend, latest, hashed))) throw new Unchanged(latest);
      if (opts.afterChunks) await opts.afterChunks(modelId, imported, writer);
      const acc = writer.acc;
      await backend.updateModelAccounting(modelId, {
        newRawBytes: acc.newRawBytes, newStoredBytes: acc.newStoredBytes, deltaRawBytes: acc.deltaRawBytes,
        // The lineage records a base only when some chunk really is a delta against it.
        deltaStoredBytes: acc.deltaStoredBytes, baseModelId: acc.deltaRawBytes > 0 ? encoder.baseModelId ?? null : null,
      });
      // What it shares with the stored models, kept for the readers (sharing-index.ts).
      await recordSharing(backend, modelId, latest?.id);
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
    // Every batch has settled by now; a block the digest thread still hashes is waited for at acquire.
    spareRing = ring;
  }
}

/** A stored file's rows for a new model's file of the same bytes: its segments and chunk list as they are, nothing read or written but rows. */
function storedRows(backend: Backend, input: InputFile, progress: (bytes: number) => void): { rows: Promise<{ segments: SegmentRow[]; chunkIds: number[]; sha256: Buffer }> } {
  const { fileId, sha256, segments } = input.stored!;
  const rows = backend.fileChunkIds(fileId).then((chunkIds) => {
    progress(input.size);
    return { segments, chunkIds, sha256 };
  });
  rows.catch(() => {});
  return { rows };
}

/** The rows of a stored file with the same bytes (storedCopies), counted as chunks seen, none new. */
function copiedRows(input: InputFile, copy: StoredCopy, writer: ChunkWriter, progress: (bytes: number) => void): { rows: Promise<{ segments: SegmentRow[]; chunkIds: number[]; sha256: Buffer }> } {
  writer.acc.chunks += copy.chunkIds.length;
  progress(input.size);
  return { rows: Promise.resolve({ segments: copy.segments, chunkIds: copy.chunkIds, sha256: copy.sha256 }) };
}

/**
 * Cuts one file into pieces and starts storing them; resolves once every
 * block is read and submitted, to `rows`: a promise of the file's rows (segments,
 * chunk ids, SHA-256) that settles when its last batch is stored. Blocks are
 * read into the ring in turn; each block's batch holds its slot until it is
 * stored, so the blocks in flight (being hashed, encoded, inserted) are
 * bounded by the ring, across files too.
 */
async function chunkFile(
  input: InputFile, chunkSize: number, cdc: Partial<CdcParams> | undefined, writer: ChunkWriter, ring: BlockRing,
  work: ChunkWork, yieldToTimers: boolean, progress: (bytes: number) => void,
): Promise<{ rows: Promise<{ segments: SegmentRow[]; chunkIds: number[]; sha256: Buffer }> }> {
  const segs = input.segmentation.segments;
  const rows = segs.map(segmentRowOf);
  const chunkIds: number[] = [];
  const src = new FileSource(input.absPath);
  // The whole file's SHA-256, from the same blocks: on the digest thread when there is one.
  const stream = input.size >= FILE_HASH_THREAD_MIN ? work.fileHasher?.stream(ring) : undefined;
  const local = stream ? undefined : new Sha256Sink();
  const cutter = new PieceCutter(segs, chunkSize, cdc);
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
  const fail = async (e: unknown): Promise<never> => {
    stream?.drop();
    // Let batches still in flight settle before the transaction rolls back.
    await Promise.allSettled(inFlight.map((b) => b.ids));
    throw e;
  };
  try {
    if (src.size !== input.size) throw new Error(`${input.label}: file changed size during import`);
    for (let off = 0; off < src.size; off += READ_BLOCK) {
      const block = await ring.acquire(Math.min(READ_BLOCK, src.size - off));
      // Big blocks are read in libuv's pool while this thread writes to the database; small ones at once.
      if (block.buf.length >= ASYNC_READ_MIN) await src.readIntoAsync(block.buf, off);
      else src.readInto(block.buf, off);
      if (stream) stream.update(block);
      else local!.take(block.buf);
      const batch = cutter.cut(block.buf, off);
      if (batch.length) {
        const ids = writer.submit(batch, segs);
        ids.catch(() => {});
        ring.holdUntil(block.slot, ids);
        inFlight.push({ pieces: batch.map((p) => ({ segment: p.segment, index: p.index, length: p.data.length })), ids });
      }
      if (inFlight.length >= ring.slots) await drainOne();
      // Let timers (the progress bar) run between blocks.
      if (yieldToTimers) await tick();
    }
  } catch (e) {
    return fail(e);
  } finally {
    src.close();
  }
  const rest = (async () => {
    try {
      while (inFlight.length) await drainOne();
    } catch (e) {
      return fail(e);
    }
    for (const r of rows) if (r.chunkCount === 0) r.firstChunk = chunkIds.length;
    return { segments: rows, chunkIds, sha256: await (stream ?? local!).digest() };
  })();
  rest.catch(() => {});
  // Wrapped: an async function returning a promise would wait for it.
  return { rows: rest };
}
