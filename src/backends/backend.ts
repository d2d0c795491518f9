/**
 * The storage interface. The Store (src/store) holds the logic of import,
 * export, GC and accounting; a Backend only runs SQL. One implementation
 * (sql-backend.ts) serves every database through its driver
 * (src/backends/<kind>/), so one test suite runs against each of them.
 * Methods are async because the shared backend (PostgreSQL) talks over the
 * network; the embedded one (SQLite) answers at once.
 */
import type { ModelRecord, StoreTotals as WireStoreTotals } from '../wire/store-json.js';
import type { SegmentKindCode } from '../store/format.js';
import type { CommitGroup } from './driver.js';

/** A model's row; its shape is JSON too (`show --json`'s `model`), so it is declared in src/wire. */
export type ModelRow = ModelRecord;

export type NewModel = Omit<ModelRow, 'id' | 'unavailable'>;

/** Where chunk_hashes and chunks disagree (Backend.hashIndexFaults). */
export interface HashIndexFaults {
  /** Hash rows whose chunk is gone (an import of those bytes would reference it), and some of their chunk ids. */
  dangling: number;
  danglingIds: number[];
  /** Chunks no hash row names (their bytes would be stored again), and some of their ids. */
  unnamed: number;
  unnamedIds: number[];
}

export interface FileRow {
  id: number;
  modelId: number;
  path: string;
  size: number;
  sha256: Buffer;
  format: string;
}

export type NewFile = Omit<FileRow, 'id'>;

export interface SegmentRow {
  ordinal: number;
  kind: SegmentKindCode;
  tensorName: string | null;
  dtype: string | null;
  shape: number[] | null;
  fileOffset: number;
  length: number;
  /** Ordinal (in the file's chunk list) of the segment's first chunk. */
  firstChunk: number;
  chunkCount: number;
}

export interface NewChunk {
  hash: Buffer;
  rawSize: number;
  storedSize: number;
  codec: number;
  /** Chunks this one decodes against, in order (a delta's base, a cast source's pieces). */
  bases: number[];
  /** Length of the longest chain of bases below this chunk (0 for a self-contained chunk). */
  depth: number;
  data: Buffer;
}

export interface StoredChunk {
  id: number;
  hash: Buffer;
  rawSize: number;
  codec: number;
  bases: number[];
  data: Buffer;
}

export interface ChunkInfo {
  id: number;
  rawSize: number;
  storedSize: number;
  codec: number;
  depth: number;
  bases: number[];
}

/** A tensor segment of a stored model, with where its chunks are. */
export interface TensorRow {
  modelId: number;
  fileId: number;
  name: string;
  dtype: string;
  shape: number[];
  length: number;
  firstChunk: number;
  chunkCount: number;
}

/** The store's totals; they are JSON too (`stats --json` spreads them), so declared in src/wire. */
export type StoreTotals = WireStoreTotals;

export interface SharingRow {
  modelId: number;
  /** Raw bytes of distinct chunks both models reference. */
  bytes: number;
  chunks: number;
}

/** One page of models (Backend.listModelPage). */
export interface ModelPageQuery {
  /** At most this many. */
  limit: number;
  /** Name order (byte order, then version): the models after this one. */
  after?: { name: string; version: number };
  /** Import order, newest first, instead: the models imported before this id. */
  newestFirst?: boolean;
  beforeId?: number;
  /** Only names holding this text, regardless of letter case. */
  search?: string;
  /** Only models of this format. */
  format?: string;
}

export interface GcResult {
  chunks: number;
  storedBytes: number;
  dbBytesBefore: number;
  dbBytesAfter: number;
}

export interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the store lives, for messages. */
  readonly location: string;
  close(): Promise<void>;
  /**
   * `e` as a one-line error naming the store when it is an outside failure
   * (disk full, the store locked by another process, the server gone: see
   * errors.ts), else `e` itself.
   */
  explainError(e: unknown): unknown;

  /**
   * Runs fn in one transaction: all of its writes commit together, or none.
   * Inside it, a write that returns nothing (insertSegments, insertFileChunks,
   * the accounting updates, deleteModel, …) may resolve before it has run
   * (PostgreSQL pipelines it): later calls still see its effect, and its
   * failure fails the transaction, at a later call or at the commit.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs fn, reads only, against one consistent state of the store that gc leaves alone (TxLock 'snapshot'). */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  /** See Driver.copyDatabase: undefined where the database cannot be copied as a file. */
  readonly copyDatabase?: (path: string) => Promise<void>;
  /** Calls `onChange` when another process commits a change to a model (its name) or to anything (undefined): see Driver.watchChanges. */
  watchChanges(onChange: (name: string | undefined) => void): () => Promise<void>;
  /** Runs fn, a run of transactions, with their commits grouped (see Driver.commitGroup). */
  commitGroup<T>(group: CommitGroup, fn: () => Promise<T>): Promise<T>;

  // models and files
  findModel(name: string, version?: number): Promise<ModelRow | undefined>;
  getModel(id: number): Promise<ModelRow | undefined>;
  listModels(): Promise<ModelRow[]>;
  /**
   * What PostgreSQL's autovacuum does when it is on: dead rows made reusable
   * and the planner's statistics refreshed (VACUUM (ANALYZE) of the store's
   * tables; outside a transaction). A no-op on SQLite.
   */
  analyze(): Promise<void>;
  /**
   * A short text that changes when a model is added, removed or marked
   * (count, highest id, sum of ids, how many are unavailable): one scan of
   * the small models table, instead of reading every model and file.
   */
  modelsFingerprint(): Promise<string>;
  /** Every version of one name, by version (through the UNIQUE (name, version) index). */
  modelVersions(name: string): Promise<ModelRow[]>;
  /** A page of models, through an index (keyset: a page deep in the store costs what the first costs). */
  listModelPage(q: ModelPageQuery): Promise<ModelRow[]>;
  /** How many files each of these models has (models without files are absent). */
  fileCounts(modelIds: number[]): Promise<Map<number, number>>;
  /** How many models match a page query's filters (search, format). */
  countModelsMatching(q: Pick<ModelPageQuery, 'search' | 'format'>): Promise<number>;
  insertModel(m: NewModel): Promise<number>;
  updateModelAccounting(id: number, acc: Pick<ModelRow, 'newRawBytes' | 'newStoredBytes' | 'deltaRawBytes' | 'deltaStoredBytes' | 'baseModelId'>): Promise<void>;
  /** Adds the given amounts to a model's import-time accounting and records its (new) delta base. */
  adjustModelAccounting(id: number, d: { newStoredBytes: number; deltaRawBytes: number; deltaStoredBytes: number; baseModelId: number }): Promise<void>;
  deleteModel(id: number): Promise<void>;
  insertFile(f: NewFile): Promise<number>;
  listFiles(modelId: number): Promise<FileRow[]>;
  /** The files of these models, by model id, then path in byte order (a query per few hundred models). */
  filesOfModels(modelIds: number[]): Promise<FileRow[]>;
  /** Every file of every model, by model id, then path in byte order (each model's files as listFiles gives them). */
  listAllFiles(): Promise<FileRow[]>;
  /** Of these file sizes, those some stored file has (an index walk: the files_content index's first column). */
  storedFileSizes(sizes: number[]): Promise<Set<number>>;
  /**
   * For each content (size and SHA-256) some file of an available model holds,
   * the newest such file's id, keyed by contentKey(); through files_content.
   */
  filesWithContent(contents: { size: number; sha256: Buffer }[]): Promise<Map<string, number>>;
  insertSegments(fileId: number, rows: SegmentRow[]): Promise<void>;
  listSegments(fileId: number): Promise<SegmentRow[]>;
  /** listSegments of many files, in a query per few hundred files. */
  listSegmentsOf(fileIds: number[]): Promise<Map<number, SegmentRow[]>>;
  /** Gives file `to` the segments and chunk list of file `from` (the same bytes), copied inside the database. */
  copyFileRows(from: number, to: number): Promise<void>;
  /** Tensor segments of one model. */
  modelTensors(modelId: number): Promise<TensorRow[]>;
  /**
   * Up to `limit` stored tensors with this name, shape and dtype, newest file
   * first: an index walk, so it costs the same in a store of any size.
   */
  tensorsLike(name: string, shape: number[], dtype: string, limit: number): Promise<TensorRow[]>;
  /** Stored model names equal to `name` regardless of letter case (names are ASCII), through an index. */
  modelNamesFolded(name: string): Promise<string[]>;

  // chunks
  /** Ids of the chunks with these hashes, undefined where not stored. */
  lookupChunks(hashes: Buffer[]): Promise<(number | undefined)[]>;
  /** Inserts chunks that are not stored yet; returns their ids in order. */
  insertChunks(rows: NewChunk[]): Promise<number[]>;
  insertFileChunks(fileId: number, firstOrdinal: number, chunkIds: number[]): Promise<void>;
  /** Whether any chunk decodes against this one. */
  hasDependents(id: number): Promise<boolean>;
  /** Of these chunks, those some chunk decodes against (one query per few hundred ids). */
  chunksWithDependents(ids: number[]): Promise<Set<number>>;
  /** Puts back a chunk row that went missing, under its old id (repair). */
  restoreChunk(id: number, row: NewChunk): Promise<void>;
  /**
   * Where the hash has a table of its own (PostgreSQL's chunk_hashes):
   * hash rows naming no chunk of that hash, and chunks no hash row names,
   * counted, with a few ids of each; zeros elsewhere.
   */
  hashIndexFaults(): Promise<HashIndexFaults>;
  /** Deletes the hash rows naming no chunk, and adds the missing ones (repair). */
  fixHashIndex(): Promise<HashIndexFaults>;
  /** Marks a model unavailable (with the reason) or available again (null). */
  setModelUnavailable(id: number, reason: string | null): Promise<void>;
  /** Stores a chunk's same raw bytes in another encoding (its hash and raw size stay). */
  rewriteChunk(id: number, enc: { codec: number; data: Buffer; storedSize: number; depth: number; bases: number[] }): Promise<void>;
  /** The file's chunk ids in order. */
  fileChunkIds(fileId: number): Promise<number[]>;
  /** fileChunkIds of many files, in a query per few hundred files (an export of a model of thousands of files). */
  fileChunkIdsOf(fileIds: number[]): Promise<Map<number, number[]>>;
  /** The file's chunk ids in order, with each chunk's raw size (null where the chunk's row is missing). */
  fileChunkSizes(fileId: number): Promise<{ ids: number[]; sizes: (number | null)[] }>;
  /** Chunk payloads by id (any order of ids; result in the same order). */
  getChunks(ids: number[]): Promise<StoredChunk[]>;
  chunkInfo(ids: number[]): Promise<ChunkInfo[]>;

  // accounting and maintenance
  totals(): Promise<StoreTotals>;
  // what models share (kept by src/store/inspect/sharing-index.ts)
  /**
   * The model's distinct chunks (`own`), and per other model the distinct
   * chunks both reference, counting for each chunk only its first
   * `holdersPerChunk` file chunk rows (through an index: a chunk every model
   * holds costs what a chunk two models hold costs).
   */
  modelOverlaps(modelId: number, holdersPerChunk: number): Promise<{ own: SharingRow; others: SharingRow[] }>;
  /** Replaces a model's kept sharing rows (its own row and its top partners). */
  replaceSharing(modelId: number, rows: SharingRow[]): Promise<void>;
  /** The kept rows of these models (the own row included), each list largest first. */
  sharingLists(modelIds: number[]): Promise<Map<number, SharingRow[]>>;
  /** Per model of these: its own row's bytes, how many partners its list holds, and the fewest bytes among them (null: none). */
  sharingListStats(modelIds: number[]): Promise<Map<number, { own: number | null; others: number; weakest: number | null }>>;
  /** Adds (or updates) and drops single kept rows: `modelId`'s row about `row.modelId` / `otherId`. */
  changeSharingRows(add: { modelId: number; row: SharingRow }[], drop: { modelId: number; otherId: number }[]): Promise<void>;
  /** Models whose kept list names this one. */
  sharingReferrers(modelId: number): Promise<number[]>;
  /** The kept rows between two models with the most bytes (each pair may come in both directions). */
  topSharing(limit: number): Promise<{ modelId: number; otherId: number; bytes: number; chunks: number }[]>;
  /** Each model's family (null: not assigned yet). */
  families(modelIds: number[]): Promise<Map<number, number | null>>;
  setFamily(modelId: number, familyId: number): Promise<void>;
  /** The families with the most models. */
  largestFamilies(limit: number): Promise<{ familyId: number; members: number }[]>;
  /** The models of these families, by family, in id order. */
  familyMembers(familyIds: number[]): Promise<Map<number, number[]>>;
  /** Models by id (those that exist). */
  getModels(ids: number[]): Promise<ModelRow[]>;
  /** Of these chunks, those more than `commonRefs` file chunk rows reference (counted only that far). */
  commonChunks(chunkIds: number[], commonRefs: number): Promise<Set<number>>;
  /** Which models reference each of these chunks (distinct pairs, in no order). */
  chunkModels(chunkIds: number[]): Promise<{ chunkId: number; modelId: number }[]>;
  /** Sketches kept for these chunks under `scheme` (approximate dedup's cache; chunks without one are absent). */
  chunkSketches(chunkIds: number[], scheme: number): Promise<Map<number, Buffer>>;
  /** Keeps chunks' sketches under `scheme`, replacing any kept before under it. */
  putChunkSketches(rows: { chunkId: number; sketch: Buffer }[], scheme: number): Promise<void>;
  /** Keeps the value fingerprints of tensor segments (file, segment ordinal): the PERMUTE candidates index. */
  putTensorFingerprints(rows: { fileId: number; ordinal: number; fingerprint: Buffer }[]): Promise<void>;
  /** Stored tensors with any of these value fingerprints (index lookups), newest files first. */
  tensorsByFingerprint(fingerprints: Buffer[]): Promise<Array<TensorRow & { fingerprint: Buffer }>>;
  /** Raw bytes of this model's distinct chunks, and of those no other model references. */
  modelChunkBytes(modelId: number): Promise<{ distinctBytes: number; uniqueBytes: number; chunks: number }>;
  gc(): Promise<GcResult>;
  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * Sets a setting only when it has none, and returns the value it has now:
   * inside a transaction, two processes claiming it at once end with one
   * value (the second waits for the first and reads what it wrote).
   */
  claimSetting(key: string, value: string): Promise<string>;
  dbBytes(): Promise<number>;

  // serving configuration (src/wire/serving-config.ts)
  /** Every stored serving configuration level (of one model: `name`, through the primary key): version 0 is the model's, another a version's own. */
  listServingConfigs(name?: string): Promise<ServingConfigRow[]>;
  /** In a transaction: waits for any other transaction that locked `key` (a serving configuration's model name) until it ends. */
  lockKey(key: string): Promise<void>;
  /** Stores one level's configuration JSON, or removes it (null). */
  putServingConfig(name: string, version: number, configJson: string | null): Promise<void>;
}

/** One stored level of a model's serving configuration. */
export interface ServingConfigRow {
  name: string;
  /** 0: the model's (every version). */
  version: number;
  configJson: string;
  updatedAt: string;
}

/** A file content's key in Backend.filesWithContent's answer. */
export function contentKey(size: number, sha256: Buffer): string {
  return `${size}:${sha256.toString('hex')}`;
}
