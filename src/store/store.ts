import { existsSync, statSync } from 'node:fs';
import type { Backend, FileRow, GcResult, ModelRow, SegmentRow, StoreTotals } from '../backends/backend.js';
import { openBackend } from '../backends/open.js';
import type { BackendConfig } from '../backends/config.js';
import { ChunkReader } from './chunk-reader.js';
import type { ChunkDecoder } from './decoder.js';
import { codecDecoder } from './codec-decoder.js';
import { DeltaEncoder } from './delta-encoder.js';
import { findBase } from './base-finder.js';
import { LazyEncoder } from './encoder.js';
import { rebaseHalfCopies } from './rebase.js';
import { verifyStore } from './verify.js';
import { repairStore } from './repair.js';
import type { ExampleRequest } from './example-request.js';
import { sharingMatrix, tensorSharing } from './sharing.js';
import type { SharingMatrix, TensorSharing } from './sharing.js';
import type { RepairReport } from './repair.js';
import type { VerifyReport } from './verify.js';
import { UserError } from './errors.js';
import { exportFile, fileBlocks, outputPath } from './exporter.js';
import { importModel } from './importer.js';
import type { ImportResult } from './importer.js';
import type { ModelRef } from './model-ref.js';
import { formatModelRef } from './model-ref.js';
import type { CdcParams } from '../chunking/fastcdc.js';
import { modelSavings, storeSavings } from './accounting.js';
import type { Savings } from './accounting.js';

/**
 * Default tensor chunk size. Chosen by measurement on real models (see the
 * README's table): smaller pieces find little more sharing in practice and
 * cost more rows and hashing calls per byte.
 */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MIN_CHUNK_SIZE = 4 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

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
}

export interface ModelSummary extends ModelRow {
  files: number;
}

/** A model as `tessera ls --json` and GET /api/models list it. */
export interface ModelListEntry {
  name: string;
  version: number;
  format: string;
  files: number;
  logicalBytes: number;
  newStoredBytes: number;
  createdAt: string;
  /** The model its deltas were taken against (name:version), if any. */
  base: string | null;
  unavailable: string | null;
}

export function listEntries(models: ModelSummary[]): ModelListEntry[] {
  const refs = new Map(models.map((m) => [m.id, formatModelRef(m.name, m.version)]));
  return models.map((m) => ({
    name: m.name, version: m.version, format: m.format, files: m.files, logicalBytes: m.logicalBytes,
    newStoredBytes: m.newStoredBytes, createdAt: m.createdAt, base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null,
    unavailable: m.unavailable,
  }));
}

/** A model's tensor as `show` lists it (with what it shares). */
export type TensorInfo = TensorSharing;

export interface ModelDetails {
  model: ModelRow;
  ref: string;
  /** The model deltas were taken against at import. */
  base: string | null;
  savings: Savings;
  files: { path: string; size: number; sha256: string; format: string; segments: number; tensors: number }[];
  tensors: TensorInfo[];
  /** Raw bytes of the model's distinct chunks. */
  distinctBytes: number;
  /** Of those, bytes no other model references. */
  uniqueBytes: number;
  sharedWith: { model: string; bytes: number; chunks: number }[];
}

export interface ModelStats extends Savings {
  model: string;
  name: string;
  version: number;
  format: string;
  createdAt: string;
  unavailable: string | null;
  base: string | null;
  files: number;
}

export interface StoreStats extends StoreTotals, Savings {
  backend: string;
  location: string;
  perModel: ModelStats[];
}

export interface ExportResult {
  files: { path: string; dest: string; bytes: number }[];
  bytes: number;
}

/** The model store: import, export, inspect, remove, collect garbage. */
export class Store {
  /** One reader for the store's life: its cache of decoded base chunks serves every import and export. */
  private readonly chunkReader: ChunkReader;


  private constructor(readonly backend: Backend, decoder: ChunkDecoder) {
    this.chunkReader = new ChunkReader(backend, decoder);
  }

  /** Opens the store at `location` (an SQLite file or a postgres:// URL); unset settings take their defaults. */
  static async open(location: string, config?: Partial<BackendConfig>): Promise<Store> {
    return new Store(await openBackend(location, config), codecDecoder);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  /**
   * The store-wide tensor chunk size, fixed when the first model is imported:
   * the same tensor cut at another size gives other chunks, so a store that
   * mixed sizes would stop deduplicating. Asking for another size is refused.
   */
  async chunkSize(requested?: number): Promise<number> {
    const stored = await this.backend.getSetting('chunk_size');
    if (requested !== undefined) {
      if (!Number.isInteger(requested) || requested < MIN_CHUNK_SIZE || requested > MAX_CHUNK_SIZE) {
        throw new UserError(`chunk size ${requested} is out of range (${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes)`);
      }
      if (stored !== undefined && Number(stored) !== requested) {
        throw new UserError(`this store cuts tensors into ${stored}-byte chunks; importing with ${requested} would deduplicate nothing against it (use a new store for another chunk size)`);
      }
      return requested;
    }
    return stored ? Number(stored) : DEFAULT_CHUNK_SIZE;
  }

  async import(path: string, opts: StoreImportOptions): Promise<ImportResult> {
    if (!existsSync(path)) throw new UserError(`${path}: no such file or directory`);
    const chunkSize = await this.chunkSize(opts.chunkSize);
    if ((await this.backend.getSetting('chunk_size')) === undefined) {
      await this.backend.setSetting('chunk_size', String(chunkSize));
    }
    const explicit = opts.base ? await this.resolve(opts.base) : undefined;
    const reader = this.reader();
    return importModel(this.backend, path, {
      ...opts, chunkSize, metadata: opts.example ? { example: opts.example } : undefined,
      // The base is looked for only when a chunk needs encoding: a re-import pays nothing for it.
      makeEncoder: async (inputs) => new LazyEncoder(async () => {
        const base = opts.base === null ? undefined : explicit ?? (await findBase(this.backend, reader, chunkSize, inputs))?.model;
        return DeltaEncoder.create(this.backend, reader, chunkSize, base?.id ?? null);
      }),
      afterChunks: async (modelId) => {
        if (opts.base !== null) await rebaseHalfCopies(this.backend, reader, modelId, chunkSize);
      },
    });
  }

  async resolve(ref: ModelRef): Promise<ModelRow> {
    const m = await this.backend.findModel(ref.name, ref.version);
    if (!m) {
      throw new UserError(ref.version === undefined ? `no model named "${ref.name}" in the store` : `no model ${ref.name}:${ref.version} in the store`);
    }
    return m;
  }

  async list(): Promise<ModelSummary[]> {
    const models = await this.backend.listModels();
    const out: ModelSummary[] = [];
    for (const m of models) out.push({ ...m, files: (await this.backend.listFiles(m.id)).length });
    return out;
  }

  async files(model: ModelRow): Promise<FileRow[]> {
    return this.backend.listFiles(model.id);
  }

  async segments(file: FileRow): Promise<SegmentRow[]> {
    return this.backend.listSegments(file.id);
  }

  async show(ref: ModelRef): Promise<ModelDetails> {
    const model = await this.resolve(ref);
    const files = await this.backend.listFiles(model.id);
    const tensors: TensorInfo[] = [];
    const fileInfo: ModelDetails['files'] = [];
    for (const { file: f, segments, tensors: ts } of await tensorSharing(this.backend, model, files)) {
      tensors.push(...ts);
      fileInfo.push({ path: f.path, size: f.size, sha256: f.sha256.toString('hex'), format: f.format, segments: segments.length, tensors: ts.length });
    }
    const bytes = await this.backend.modelChunkBytes(model.id);
    const sharedWith: ModelDetails['sharedWith'] = [];
    for (const s of await this.backend.sharing(model.id)) {
      const other = await this.backend.getModel(s.modelId);
      if (other) sharedWith.push({ model: formatModelRef(other.name, other.version), bytes: s.bytes, chunks: s.chunks });
    }
    return {
      model, ref: formatModelRef(model.name, model.version), base: await this.refOf(model.baseModelId),
      savings: modelSavings(model), files: fileInfo, tensors,
      distinctBytes: bytes.distinctBytes, uniqueBytes: bytes.uniqueBytes, sharedWith,
    };
  }

  /** What every pair of models shares, ordered so families cluster (the dashboard's heatmap, `tessera sharing`). */
  sharing(): Promise<SharingMatrix> {
    return sharingMatrix(this.backend);
  }

  reader(): ChunkReader {
    return this.chunkReader;
  }

  /** A stored file's bytes, in order, in blocks of about 8 MiB (not yet checked against its digest). */
  fileBytes(file: FileRow): AsyncGenerator<Buffer> {
    return fileBlocks(this.backend, this.reader(), file);
  }

  /**
   * Writes a model out: a one-file model to `out` (or into `out` when it is
   * an existing directory), a several-file model into the directory `out`.
   * Every file's SHA-256 is checked before it is put in place.
   */
  async export(ref: ModelRef, out: string): Promise<ExportResult> {
    const model = await this.resolve(ref);
    assertAvailable(model);
    const files = await this.backend.listFiles(model.id);
    const outIsDir = existsSync(out) && statSync(out).isDirectory();
    const reader = this.reader();
    const result: ExportResult = { files: [], bytes: 0 };
    for (const f of files) {
      const dest = files.length === 1 && !outIsDir ? out : outputPath(out, f.path);
      const bytes = await exportFile(this.backend, reader, f, dest);
      result.files.push({ path: f.path, dest, bytes });
      result.bytes += bytes;
    }
    return result;
  }

  async remove(ref: ModelRef): Promise<ModelRow> {
    const model = await this.resolve(ref);
    await this.backend.transaction(() => this.backend.deleteModel(model.id));
    return model;
  }

  /** Structural checks; with `deep`, every chunk decoded and every file rebuilt against its digest. */
  verify(deep = false): Promise<VerifyReport> {
    return verifyStore(this.backend, this.chunkReader, deep);
  }

  /**
   * Re-supplies missing or corrupt chunks from `sources` (the original model
   * files or directories of them); marks every model still affected
   * unavailable, and clears the mark of models found whole.
   */
  async repair(sources: string[]): Promise<RepairReport> {
    for (const s of sources) if (!existsSync(s)) throw new UserError(`${s}: no such file or directory`);
    return repairStore(this.backend, this.chunkReader, await this.chunkSize(), sources);
  }

  async gc(): Promise<GcResult> {
    this.chunkReader.clear();
    return this.backend.gc();
  }

  totals(): Promise<StoreTotals> {
    return this.backend.totals();
  }

  /** Totals and savings for the store and for each model. */
  async stats(): Promise<StoreStats> {
    const totals = await this.backend.totals();
    const models = await this.backend.listModels();
    const refs = new Map(models.map((m) => [m.id, formatModelRef(m.name, m.version)]));
    const perModel: ModelStats[] = [];
    for (const m of models) {
      perModel.push({
        model: refs.get(m.id)!, name: m.name, version: m.version, format: m.format, createdAt: m.createdAt, unavailable: m.unavailable, base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null,
        files: (await this.backend.listFiles(m.id)).length, ...modelSavings(m),
      });
    }
    return { ...totals, ...storeSavings(totals), backend: this.backend.kind, location: this.backend.location, perModel };
  }

  private async refOf(id: number | null): Promise<string | null> {
    if (id === null) return null;
    const m = await this.backend.getModel(id);
    return m ? formatModelRef(m.name, m.version) : null;
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
  if (why !== undefined) throw new UserError(why);
}
