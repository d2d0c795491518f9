import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Backend, FileRow, GcResult, ModelRow, SegmentRow, ServingConfigRow, StoreTotals } from '../backends/backend.js';
import { openBackend } from '../backends/open.js';

export { isPostgresUrl } from '../backends/open.js';
/** The stored rows the store hands out (a model, its files, a file's segments). */
export type { FileRow, ModelRow, SegmentRow, ServingConfigRow } from '../backends/backend.js';
import { changeServingConfig, readServingConfig, servingConfigLock } from './serving-configs.js';
import type { ServingConfigChange, ServingConfigView } from './serving-configs.js';
export type { ServingConfigChange, ServingConfigView };
import type { BackendConfig } from '../backends/config.js';
import { ChunkReader } from './read/chunk-reader.js';
import type { ReadStats } from './read/chunk-reader.js';
import { ChunkCache, DEFAULT_CHUNK_CACHE_BYTES } from './read/chunk-cache.js';
import { FileReader } from './read/file-reader.js';
import type { FileLayout, StoreReaders } from './read/file-reader.js';
import type { ChunkDecoder } from './read/decoder.js';
import { codecDecoder } from './read/codec-decoder.js';
import type { CheckedSource } from './sources.js';
import type { ImportThreads } from './import/import-threads.js';
import { HashThread } from '../io/parallel-hash.js';
import type { MigrateOptions, MigrateResult } from './maintain/migrate.js';
import type { BackupOptions, BackupResult, RestoreResult } from './maintain/backup.js';
import type { ExampleRequest } from '../wire/example.js';
import { lossyOf } from '../wire/lossy.js';
import type { LossyInfo } from '../wire/lossy.js';
import type { SharedPair, SharingMatrix, TensorSharing } from '../wire/sharing-json.js';
import type { RepairReport } from './maintain/repair.js';
import type { VerifyReport } from './maintain/verify.js';
import { invalid, notFound, unavailable } from '../errors.js';
import type { ImportResult } from './import/importer.js';
import type { InputFile } from './import/inputs.js';
import { checkNewFilePath, modelWriteLock } from './names.js';
import type { ModelRef } from './model-ref.js';
import { formatModelRef, parseVersionCursor, refsById } from './model-ref.js';
import { removeWithSharing } from './inspect/sharing-index.js';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, SETTING_CHUNK_SIZE, segmentOfRow } from './format.js';
import type { CdcParams } from '../chunking/fastcdc.js';
import { modelSavings, storeSavings } from './inspect/accounting.js';
import { chunkCosts, chunkSketches, fileBlocks, relatedBlocks } from './inspect/blocks.js';
import type { FileBlock, StoredBlock } from './inspect/blocks.js';
export type { FileBlock, StoredBlock };
import type { LocatedStoreStats, ModelDetails, ModelListEntry, ModelPage, ModelStats, StoreStats } from '../wire/store-json.js';
import { STATS_MODELS } from '../wire/store-json.js';

/** The store's JSON (stats, ls, show) is declared in src/wire, shared with the dashboard. */
export type { LocatedStoreStats, ModelDetails, ModelListEntry, ModelStats, StoreStats };

/*
 * The import pipeline (readers, chunker, encoders), the maintenance passes and
 * the exporter are loaded by the methods that use them (`await import(...)`):
 * a command that only reads the catalog (`tessera ls`, `show`, `stats`) does
 * not pay for loading them at start-up.
 */

/**
 * How long a batch's imports may wait to become durable together
 * (Store.importBatch): a crash loses at most this much of a batch's work;
 * 40 commits of small models cost 0.24 s one by one (trained-digits).
 */
const BATCH_COMMIT_MS = 1000;

export interface StoreImportOptions {
  name: string;
  version?: number;
  chunkSize?: number;
  cdc?: Partial<CdcParams>;
  /**
   * The model to take deltas against: a model reference, `null` for none, or
   * undefined to pick the stored model closest to the new one.
   */
  base?: ModelRef | null;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Compress and hash on worker threads (default: when the import is big enough to pay for them). */
  workerThreads?: boolean;
  /** An example inference request kept with the model (the dashboard's "try it" starts from it). */
  example?: ExampleRequest;
  /** Name files in messages by their path inside the model, not by where they are on disk (an upload). */
  relativeNames?: boolean;
  /** `path` as checkSource read it: its files are not read and parsed again. */
  checked?: CheckedSource;
  /**
   * Stored files that are files of the new version too, at `relPath`: their
   * rows are copied (a Hub commit's unchanged files), their bytes not read.
   * `path` then holds only the other files, and may hold none.
   */
  reuse?: { relPath: string; file: FileRow }[];
  /** The new version is lossy (`tessera approx`): what it is kept in its metadata, shown wherever the model is. */
  lossy?: LossyInfo;
}

/** Models the catalog reads per query (Store.catalog). */
const CATALOG_PAGE = 2000;

export interface ModelSummary extends ModelRow {
  files: number;
}

/** A model's `stats` row. */
function modelStats(m: ModelSummary, refs: Map<number, string>): ModelStats {
  return {
    model: formatModelRef(m.name, m.version), name: m.name, version: m.version, format: m.format, createdAt: m.createdAt, unavailable: m.unavailable,
    base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null, files: m.files, ...modelSavings(m), lossy: lossyOf(m.metadataJson) ?? null,
  };
}

/** The cursor after a page's last model: its name:version, or in import order its id; null when no page follows. */
function nextCursor(p: { rows: ModelSummary[]; more: boolean }, newestFirst?: boolean): string | null {
  const last = p.rows[p.rows.length - 1];
  if (!p.more || !last) return null;
  return newestFirst ? String(last.id) : formatModelRef(last.name, last.version);
}

/** `ls --json` entries; `refs`: name:version by id of the models' bases, when they are not all among `models` (a page). */
export function listEntries(models: ModelSummary[], refs: Map<number, string> = refsById(models)): ModelListEntry[] {
  return models.map((m) => ({
    name: m.name, version: m.version, format: m.format, files: m.files, logicalBytes: m.logicalBytes,
    newStoredBytes: m.newStoredBytes, createdAt: m.createdAt, base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null,
    unavailable: m.unavailable, lossy: lossyOf(m.metadataJson) ?? null,
  }));
}

/** A model's tensor as `show` lists it (with what it shares). */
export type TensorInfo = TensorSharing;

export interface ExportResult {
  files: { path: string; dest: string; bytes: number }[];
  bytes: number;
  /** The model is a lossy version: its bytes are its own (checked against its own digests), not its lossless version's. */
  lossy: LossyInfo | null;
}

/** A model version and its files, as the server's catalog keeps them. */
export interface CatalogEntry {
  model: ModelRow;
  files: FileRow[];
}

/** How to open a store: the backend's settings (busy timeout, pool size…) and the cache size; unset ones take their defaults. */
export interface StoreOptions extends Partial<BackendConfig> {
  /** Bytes of decoded chunks kept (default 128 MiB; the server sets --chunk-cache). */
  chunkCacheBytes?: number;
  /**
   * Import threads the caller started early (the CLI, while it checks a big
   * import's sources): the store uses them and stops them on close, or at
   * once if it fails to open.
   */
  importThreads?: ImportThreads;
}

/** The decoded-chunk cache's counters (the server's metrics). */
export interface CacheStats {
  hits: number;
  misses: number;
  hitBytes: number;
  bytes: number;
  entries: number;
  capacity: number;
}

/**
 * The model store: import, export, read, inspect, remove, collect garbage.
 * It is the one door to stored data: the CLI and the server use its methods
 * and never the database behind it (src/backends), so every read of a stored
 * file goes through one reader and one decoded-chunk cache.
 */
export class Store {
  private readonly cache: ChunkCache;
  private readonly chunks: ChunkReader;
  private readonly files_: FileReader;
  /** Worker threads for big imports: started by the first, kept for the next, stopped by close(). */
  private importThreads?: ImportThreads;
  /** The thread that hashes exported files, started by the first big one, stopped by close(). */
  private readHasher?: HashThread;
  /** The store's chunk size setting, once it has one. */
  private claimedChunkSize: string | undefined;

  private constructor(private readonly db: Backend, decoder: ChunkDecoder, opts: StoreOptions) {
    this.cache = new ChunkCache(opts.chunkCacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES);
    this.chunks = new ChunkReader(db, decoder, this.cache);
    this.files_ = new FileReader(db, this.chunks);
    this.importThreads = opts.importThreads;
  }

  /** Opens the store at `location` (an SQLite file or a postgres:// URL). */
  static async open(location: string, opts: StoreOptions = {}): Promise<Store> {
    let db: Backend;
    try {
      db = await openBackend(location, opts);
    } catch (e) {
      await opts.importThreads?.close();
      throw e;
    }
    return new Store(db, codecDecoder, opts);
  }

  /** 'sqlite' or 'postgres'. */
  get kind(): Backend['kind'] {
    return this.db.kind;
  }

  /** Where the store lives, for messages (a PostgreSQL URL without its password). */
  get location(): string {
    return this.db.location;
  }

  /**
   * `e` as a one-line error naming the store when it is an outside failure
   * (disk full, the store locked by another process, the server gone), else `e`.
   */
  explainError(e: unknown): unknown {
    return this.db.explainError(e);
  }

  async close(): Promise<void> {
    await this.importThreads?.close();
    this.importThreads = undefined;
    await this.readHasher?.close();
    this.readHasher = undefined;
    await this.db.close();
  }

  /**
   * The store-wide tensor chunk size, fixed when the first model is imported:
   * the same tensor cut at another size gives other chunks, so a store that
   * mixed sizes would stop deduplicating. Asking for another size is refused.
   */
  async chunkSize(requested?: number): Promise<number> {
    // Once claimed it never changes (claimSetting never overwrites it): asked of the store until then only.
    const stored = (this.claimedChunkSize ??= await this.db.getSetting(SETTING_CHUNK_SIZE));
    if (requested !== undefined) {
      if (!Number.isInteger(requested) || requested < MIN_CHUNK_SIZE || requested > MAX_CHUNK_SIZE) {
        throw invalid(`chunk size ${requested} is out of range (${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes)`);
      }
      if (stored !== undefined && Number(stored) !== requested) throw (await import('./import/importer.js')).chunkSizeConflict(stored, requested);
      return requested;
    }
    return stored ? Number(stored) : DEFAULT_CHUNK_SIZE;
  }

  /**
   * Runs fn, imports one after another (a CLI batch), with their commits
   * grouped about once a second (Driver.commitGroup): each import still
   * stands whole or not at all; `committed` says when all finished so far
   * are durable.
   */
  importBatch<T>(committed: () => void, fn: () => Promise<T>): Promise<T> {
    return this.db.commitGroup({ windowMs: BATCH_COMMIT_MS, committed }, fn);
  }

  async import(path: string, opts: StoreImportOptions): Promise<ImportResult> {
    const [{ importModel }, { DeltaEncoder }, { findBase }, { LazyEncoder, largestF32, memoize }, { rebaseHalfCopies }, { storePermutations }, { storeShardSlices }] = await Promise.all([
      import('./import/importer.js'), import('./import/delta-encoder.js'), import('./import/base-finder.js'), import('./import/encoder.js'), import('./import/rebase.js'),
      import('./import/permute-finder.js'), import('./import/slice-finder.js'),
    ]);
    if (!existsSync(path)) throw notFound(`${path}: no such file or directory`);
    // Checked here to fail early; the first import claims the size inside its transaction (importer.ts).
    const chunkSize = await this.chunkSize(opts.chunkSize);
    const explicit = opts.base ? await this.resolve(opts.base) : undefined;
    const { db, chunks } = this;
    // Base selection, the delta encoder and the half-copy rebase all read stored models' tensors: once each per import.
    const tensorsOf = memoize((id: number) => db.modelTensors(id));
    return importModel(db, path, {
      ...opts, chunkSize, metadata: opts.example || opts.lossy ? { example: opts.example, lossy: opts.lossy } : undefined,
      inputs: opts.reuse ? await this.inputsWithReuse(path, opts.reuse, opts.relativeNames) : opts.checked?.path === path ? opts.checked.inputs : undefined,
      // Loaded by the first import that uses them: a small import does not even load the pool.
      threads: async () => (this.importThreads ??= new (await import('./import/import-threads.js')).ImportThreads()),
      // Once started (by a big import), the threads serve small imports too: they cost nothing more.
      workerThreads: opts.workerThreads ?? (this.importThreads ? true : undefined),
      // The base is looked for only when a chunk needs encoding: a re-import pays nothing for it.
      makeEncoder: async (inputs, work, model) => new LazyEncoder(async () => {
        // The previous version of the same name is always a candidate: usually the closest model there is.
        const base = opts.base === null ? undefined
          : explicit ?? (await findBase(db, chunks, chunkSize, inputs, { preferred: model.previous?.id, exclude: model.id }, tensorsOf, work))?.model;
        return DeltaEncoder.create(db, chunks, chunkSize, base?.id ?? null, tensorsOf);
      }),
      afterChunks: async (modelId, files, writer) => {
        if (opts.base !== null) await rebaseHalfCopies(db, chunks, modelId, chunkSize, largestF32(files.map((f) => f.input)), tensorsOf);
        // Same values in another axis order: stored as a permutation of the stored tensor (issue 20).
        await storePermutations(db, chunks, modelId, chunkSize, writer, files);
        // TF.js weights cut by a shard boundary: the cut grid cell kept whole, its pieces slices of it.
        await storeShardSlices(db, chunks, chunkSize, writer, files);
      },
    });
  }

  /** The files under `path` (if any) and the reused stored files, as one model's inputs in path order. */
  private async inputsWithReuse(path: string, reuse: { relPath: string; file: FileRow }[], relativeNames?: boolean): Promise<InputFile[]> {
    const { collectInputs } = await import('./import/inputs.js');
    const provided = new Set(reuse.map((r) => checkNewFilePath(r.relPath)));
    const onDisk = readdirSync(path).length > 0 ? collectInputs(path, { relativeNames, provided }) : [];
    const taken = new Set(onDisk.map((f) => f.relPath));
    const reused = await Promise.all(reuse.map(async ({ relPath, file }): Promise<InputFile> => {
      checkNewFilePath(relPath);
      if (taken.has(relPath)) throw invalid(`${relPath}: both a new file and a stored one`);
      // The rows are read once: the segmentation (base selection, counts) and the new file's rows (the importer) both come from them.
      const rows = await this.db.listSegments(file.id);
      const segmentation = { format: file.format, segments: rows.map(segmentOfRow) };
      return { absPath: '', relPath, label: relPath, size: file.size, segmentation, stored: { fileId: file.id, sha256: file.sha256, segments: rows } };
    }));
    return [...onDisk, ...reused].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  }

  /** The model a reference names (its latest version without one), or undefined. */
  find(ref: ModelRef): Promise<ModelRow | undefined> {
    return this.db.findModel(ref.name, ref.version);
  }

  /** The model a reference names; not found is an error that says what is missing. */
  async resolve(ref: ModelRef): Promise<ModelRow> {
    const m = await this.find(ref);
    if (!m) {
      throw notFound(ref.version === undefined ? `no model named "${ref.name}" in the store` : `no model ${ref.name}:${ref.version} in the store`);
    }
    return m;
  }

  /**
   * Every model version with its files, in name order (the server's
   * catalog), read CATALOG_PAGE models at a time with a turn of the event
   * loop between pages: SQLite's queries block the thread, and a server
   * reading 100,000 models (a second or two) still answers health checks.
   */
  async catalog(): Promise<CatalogEntry[]> {
    const out: CatalogEntry[] = [];
    let after: { name: string; version: number } | undefined;
    for (;;) {
      const page = await this.db.listModelPage({ limit: CATALOG_PAGE, after });
      const files = new Map<number, FileRow[]>();
      for (const f of await this.db.filesOfModels(page.map((m) => m.id))) (files.get(f.modelId) ?? files.set(f.modelId, []).get(f.modelId)!).push(f);
      for (const model of page) out.push({ model, files: files.get(model.id) ?? [] });
      if (page.length < CATALOG_PAGE) return out;
      const last = page[page.length - 1]!;
      after = { name: last.name, version: last.version };
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** What autovacuum does, now (PostgreSQL: VACUUM (ANALYZE) of the store's tables; this machine's server runs with autovacuum off). */
  analyze(): Promise<void> {
    return this.db.analyze();
  }

  /** Changes when a model is added, removed or marked (Backend.modelsFingerprint): whether the catalog must be read again. */
  modelsFingerprint(): Promise<string> {
    return this.db.modelsFingerprint();
  }

  /** Every version of one model with its files (the server's catalog entry of a name), by index. */
  async catalogOf(name: string): Promise<CatalogEntry[]> {
    const models = await this.db.modelVersions(name);
    return Promise.all(models.map(async (model) => ({ model, files: await this.db.listFiles(model.id) })));
  }

  /** Calls `onChange` when another process changes a model (its name) or may have changed anything (undefined). */
  watchChanges(onChange: (name: string | undefined) => void): () => Promise<void> {
    return this.db.watchChanges(onChange);
  }

  async list(): Promise<ModelSummary[]> {
    return (await this.catalog()).map(({ model, files }) => ({ ...model, files: files.length }));
  }

  files(model: ModelRow): Promise<FileRow[]> {
    return this.db.listFiles(model.id);
  }

  segments(file: FileRow): Promise<SegmentRow[]> {
    return this.db.listSegments(file.id);
  }

  async show(ref: ModelRef): Promise<ModelDetails> {
    const model = await this.resolve(ref);
    const files = await this.db.listFiles(model.id);
    const { tensorSharing } = await import('./inspect/sharing.js');
    const { ensureSharingIndex } = await import('./inspect/sharing-index.js');
    await ensureSharingIndex(this.db);
    const kept = (await this.db.sharingLists([model.id])).get(model.id)!.filter((s) => s.modelId !== model.id);
    // Names of the models this one's tensors and list mention, and its base: not the whole store's.
    const refs = await this.refsOf([model.baseModelId ?? model.id, ...kept.map((s) => s.modelId)]);
    const tensors: TensorInfo[] = [];
    const fileInfo: ModelDetails['files'] = [];
    for (const { file: f, segments, tensors: ts } of await tensorSharing(this.db, model, files)) {
      tensors.push(...ts);
      fileInfo.push({ path: f.path, size: f.size, sha256: f.sha256.toString('hex'), format: f.format, segments: segments.length, tensors: ts.length });
    }
    const bytes = await this.db.modelChunkBytes(model.id);
    const sharedWith: ModelDetails['sharedWith'] = [];
    for (const s of kept) {
      const other = refs.get(s.modelId);
      if (other) sharedWith.push({ model: other, bytes: s.bytes, chunks: s.chunks });
    }
    return {
      model, ref: formatModelRef(model.name, model.version), base: model.baseModelId === null ? null : refs.get(model.baseModelId) ?? null,
      savings: modelSavings(model), files: fileInfo, tensors,
      distinctBytes: bytes.distinctBytes, uniqueBytes: bytes.uniqueBytes, sharedWith, lossy: lossyOf(model.metadataJson) ?? null,
    };
  }

  /** name:version of these models (ids no longer stored are absent). */
  async refsOf(ids: number[]): Promise<Map<number, string>> {
    return refsById(await this.db.getModels(ids));
  }

  /** The `limit` pairs of models sharing the most bytes (`tessera sharing`), from the kept index. */
  async sharedPairs(limit: number): Promise<SharedPair[]> {
    const { topSharedPairs } = await import('./inspect/sharing.js');
    return topSharedPairs(this.db, limit);
  }

  /** Recomputes what every model shares (`tessera sharing --rebuild`). */
  async rebuildSharing(): Promise<void> {
    const { ensureSharingIndex } = await import('./inspect/sharing-index.js');
    await ensureSharingIndex(this.db, true);
  }

  /** What every pair of models shares, ordered so families cluster (the dashboard's heatmap, `tessera sharing`). */
  async sharing(): Promise<SharingMatrix> {
    const { sharingMatrix } = await import('./inspect/sharing.js');
    return sharingMatrix(this.db);
  }

  /** Which chunks make up a stored file and where each starts. */
  fileLayout(file: FileRow): Promise<FileLayout> {
    return this.files_.layout(file);
  }

  /**
   * A stored file's bytes [start, end) in order, in blocks. Reading the whole
   * file checks it against the SHA-256 recorded at import: on a mismatch the
   * read fails before its last block, so no one gets a complete wrong file.
   */
  readFile(file: FileRow, range: { start?: number; end?: number } = {}): AsyncGenerator<Buffer> {
    return this.files_.read(file, range);
  }

  /**
   * A stored file whole, in one buffer, SHA-256 checked (a model load). Its
   * decoded chunks stay in the cache, so models sharing them load faster.
   */
  loadFile(file: FileRow): Promise<{ bytes: Buffer; stats: ReadStats }> {
    return this.files_.readWhole(file);
  }

  /** The float blocks (tensor-aligned chunks) of a model's file, with their offsets in the file (approximate dedup). */
  async fileBlocks(file: FileRow): Promise<FileBlock[]> {
    return fileBlocks(this.db, file.modelId, file.id, await this.chunkSize());
  }

  /** The float blocks of up to `maxModels` stored models that share a tensor with `model` (its family), `model` itself excluded. */
  async relatedBlocks(model: ModelRow, maxModels: number): Promise<StoredBlock[]> {
    return relatedBlocks(this.db, await this.db.modelTensors(model.id), new Set([model.id]), await this.chunkSize(), maxModels);
  }

  /**
   * Per chunk of `model` (all its files): how often the model holds it, and
   * the stored bytes replacing it would free (0 when a model other than it and
   * its lossy versions, or a delta, needs it).
   */
  async chunkCosts(model: ModelRow): Promise<Map<number, { uses: number; freed: number }>> {
    return chunkCosts(this.db, await this.lossyFamily(model), model.id);
  }

  /** `model` and the lossy versions made from it. */
  private async lossyFamily(model: ModelRow): Promise<Set<number>> {
    const ref = formatModelRef(model.name, model.version);
    const ids = new Set([model.id]);
    for (const m of await this.db.listModels()) if (m.name === model.name && lossyOf(m.metadataJson)?.from === ref) ids.add(m.id);
    return ids;
  }

  /** Chunks' sketches under `scheme`: kept ones, the rest computed from their raw bytes by `compute` and kept (approximate dedup's cache). */
  chunkSketches(ids: number[], scheme: number, compute: (raw: Buffer, chunkId: number) => Buffer): Promise<Map<number, Buffer>> {
    return chunkSketches(this.db, this.chunks, ids, scheme, compute);
  }

  /** Chunks' raw bytes by id, through the store's reader (shared buffers: read only). */
  readChunks(ids: number[]): Promise<Buffer[]> {
    return this.chunks.read(ids);
  }

  /** The decoded-chunk cache's counters. */
  cacheStats(): CacheStats {
    const c = this.cache;
    return { hits: c.hits, misses: c.misses, hitBytes: c.hitBytes, bytes: c.bytes, entries: c.entries, capacity: c.capacity };
  }

  /** Bytes of decoded chunks kept from now on (0: none kept between reads). */
  resizeCache(bytes: number): void {
    this.cache.resize(bytes);
  }

  /** Forgets every decoded chunk and layout (a benchmark's cold read; after gc). */
  dropCaches(): void {
    this.chunks.clear();
    this.files_.clear();
  }

  /**
   * Writes a model out: a one-file model to `out` (or into `out` when it is
   * an existing directory), a several-file model into the directory `out`.
   * Every file's SHA-256 is checked before it is put in place, against the
   * digest recorded when this version was imported: a lossy version's own.
   */
  async export(ref: ModelRef, out: string): Promise<ExportResult> {
    const model = await this.resolve(ref);
    assertAvailable(model);
    const files = await this.db.listFiles(model.id);
    const { exportFiles, outputPath } = await import('./read/exporter.js');
    const outIsDir = existsSync(out) && statSync(out).isDirectory();
    const jobs = files.map((file) => ({ file, dest: files.length === 1 && !outIsDir ? out : outputPath(out, file.path) }));
    const written = await exportFiles(this.files_, jobs, (this.readHasher ??= new HashThread()));
    const result: ExportResult = { files: [], bytes: 0, lossy: lossyOf(model.metadataJson) ?? null };
    jobs.forEach(({ file, dest }, i) => {
      result.files.push({ path: file.path, dest, bytes: written[i]! });
      result.bytes += written[i]!;
    });
    return result;
  }

  /** Every stored level of every model's serving configuration (the server reads them with the catalog). */
  async servingConfigRows(): Promise<ServingConfigRow[]> {
    return this.db.listServingConfigs();
  }

  /** A model's serving configuration (ref with a version: that version's). */
  async servingConfig(ref: ModelRef): Promise<ServingConfigView> {
    return readServingConfig(this.db, ref);
  }

  /** Changes the model's (or, with a version, the version's own) serving configuration. */
  async configure(ref: ModelRef, change: ServingConfigChange): Promise<ServingConfigView> {
    return changeServingConfig(this.db, ref, change);
  }

  async remove(ref: ModelRef): Promise<ModelRow> {
    const model = await this.resolve(ref);
    await this.db.transaction(async () => {
      // After any change of this model's serving configuration in flight (its rows go with its last version).
      await this.db.lockKey(modelWriteLock(model.name));
      await this.db.lockKey(servingConfigLock(model.name));
      await removeWithSharing(this.db, model.id);
    });
    return model;
  }

  /** Structural checks; with `deep`, every chunk decoded and every file rebuilt against its digest. */
  async verify(deep = false): Promise<VerifyReport> {
    const { verifyStore } = await import('./maintain/verify.js');
    // A deep check decodes what the database holds, not what an earlier read left in memory.
    if (deep) this.dropCaches();
    return verifyStore(this.db, this.readers(), deep);
  }

  /**
   * Re-supplies missing or corrupt chunks from `sources` (the original model
   * files or directories of them); marks every model still affected
   * unavailable, and clears the mark of models found whole.
   */
  async repair(sources: string[]): Promise<RepairReport> {
    for (const s of sources) if (!existsSync(s)) throw notFound(`${s}: no such file or directory`);
    const { repairStore } = await import('./maintain/repair.js');
    return repairStore(this.db, this.readers(), await this.chunkSize(), sources);
  }

  async gc(): Promise<GcResult> {
    this.dropCaches();
    return this.db.gc();
  }

  totals(): Promise<StoreTotals> {
    return this.db.totals();
  }

  /**
   * Totals and savings for the store and for each model (in a store of
   * more than STATS_MODELS, the latest STATS_MODELS imports unless `all`),
   * and where the store is.
   */
  async stats(opts: { all?: boolean } = {}): Promise<LocatedStoreStats> {
    // The totals and the latest imports side by side (PostgreSQL: each on a connection of its own).
    const [totals, latest] = await Promise.all([
      this.db.totals(),
      opts.all ? undefined : this.db.listModelPage({ limit: STATS_MODELS + 1, newestFirst: true }),
    ]);
    const complete = latest === undefined || latest.length <= STATS_MODELS;
    const page: ModelSummary[] = latest === undefined ? await this.list() : await this.summaries(latest.slice(0, STATS_MODELS));
    const refs = await this.baseRefs(page);
    // Import order (ids), as the timeline draws them.
    const perModel: ModelStats[] = page.sort((a, b) => a.id - b.id).map((m) => modelStats(m, refs));
    return { ...totals, ...storeSavings(totals), backend: this.db.kind, location: this.db.location, perModel, perModelComplete: complete };
  }

  /** The models with their file counts (one query). */
  private async summaries(models: ModelRow[]): Promise<ModelSummary[]> {
    const counts = await this.db.fileCounts(models.map((m) => m.id));
    return models.map((m) => ({ ...m, files: counts.get(m.id) ?? 0 }));
  }

  /** name:version of these models and of their bases. */
  private async baseRefs(models: ModelRow[]): Promise<Map<number, string>> {
    const refs = refsById(models);
    const missing = models.map((m) => m.baseModelId).filter((id): id is number => id !== null && !refs.has(id));
    for (const [id, ref] of await this.refsOf(missing)) refs.set(id, ref);
    return refs;
  }

  /**
   * A page of models: in name order after `after` (name:version), or with
   * `newestFirst` in import order before the id `before`; `search` keeps
   * names holding the text (any letter case), `format` one format. Through
   * indexes: a page costs the same at the start or deep in a store of any size.
   */
  async modelPage(q: { limit: number; after?: string; before?: number; newestFirst?: boolean; search?: string; format?: string }): Promise<{ rows: ModelSummary[]; more: boolean; total: number; refs: Map<number, string> }> {
    const after = q.after === undefined ? undefined : parseVersionCursor(q.after, 'after');
    // Side by side (PostgreSQL: two connections of the pool).
    const [found, total] = await Promise.all([
      this.db.listModelPage({
        limit: q.limit + 1, search: q.search, format: q.format, newestFirst: q.newestFirst, beforeId: q.before,
        after,
      }),
      this.db.countModelsMatching({ search: q.search, format: q.format }),
    ]);
    const rows = await this.summaries(found.slice(0, q.limit));
    return { rows, more: found.length > q.limit, total, refs: await this.baseRefs(rows) };
  }

  /** modelPage as `ls --json` entries, with the next page's cursor. */
  async listPage(q: Parameters<Store['modelPage']>[0]): Promise<ModelPage<ModelListEntry>> {
    const p = await this.modelPage(q);
    return { models: listEntries(p.rows, p.refs), total: p.total, next: nextCursor(p, q.newestFirst) };
  }

  /** modelPage as `stats` rows (the dashboard's model list), with the next page's cursor. */
  async statsPage(q: Parameters<Store['modelPage']>[0]): Promise<ModelPage<ModelStats>> {
    const p = await this.modelPage(q);
    return { models: p.rows.map((m) => modelStats(m, p.refs)), total: p.total, next: nextCursor(p, q.newestFirst) };
  }

  /**
   * Copies every model of one store into another, whatever their backends
   * (see migrate.ts); resumable, every file verified in the target.
   */
  static async migrate(from: Store, to: Store, opts: MigrateOptions = {}): Promise<MigrateResult> {
    const { migrateStore } = await import('./maintain/migrate.js');
    return migrateStore(from.db, to.db, to.readers(), opts);
  }

  /** A consistent copy of this store, taken while others write, in a new SQLite file, checked (maintain/backup.ts). */
  async backup(to: string, opts: BackupOptions = {}): Promise<BackupResult> {
    const { backupStore } = await import('./maintain/backup.js');
    return backupStore(this, this.db, to, opts);
  }

  /** The backup file `from` made into a new store at `to` (maintain/backup.ts). */
  static async restore(from: string, to: string, opts: Pick<BackupOptions, 'verify'> = {}): Promise<RestoreResult> {
    const { restoreStore } = await import('./maintain/backup.js');
    return restoreStore(from, to, opts);
  }

  /** This SQLite store's pages into a new file at `path` (the online backup API). */
  async copyTo(path: string): Promise<void> {
    if (!this.db.copyDatabase) throw invalid(`${this.location} is not a SQLite file: it cannot be copied page by page`);
    await this.db.copyDatabase(path);
  }

  private readers(): StoreReaders {
    return { chunks: this.chunks, files: this.files_ };
  }
}

/**
 * Why a model's bytes must not be handed out (`tessera repair` marked it
 * unavailable: some chunk is missing or fails its hash), or undefined. The
 * CLI and the server give the same words.
 */
export function unavailableMessage(model: ModelRow): string | undefined {
  if (model.unavailable === null) return undefined;
  return `${formatModelRef(model.name, model.version)} is marked unavailable by tessera repair (${model.unavailable}); run \`tessera repair --from <its original files>\` to restore it`;
}

/** Refuses a model that `tessera repair` marked unavailable. */
export function assertAvailable(model: ModelRow): void {
  const why = unavailableMessage(model);
  if (why !== undefined) throw unavailable(why);
}
