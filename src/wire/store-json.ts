/**
 * The store's JSON: what `tessera stats|ls|show --json` print and /api/*
 * answers. Declared once here for the store that writes it (src/store) and
 * the dashboard that reads it (web/), so a change on one side that the other
 * does not follow fails to compile.
 */
import type { LossyInfo } from './lossy.js';
import type { TensorSharing } from './sharing-json.js';

/**
 * Where the logical bytes went: every byte is either deduplicated (already
 * stored), saved by compression, saved by a delta against a base, or stored.
 * The four add up to the logical bytes.
 */
export interface Savings {
  logicalBytes: number;
  deduplicatedBytes: number;
  compressionSavedBytes: number;
  deltaSavedBytes: number;
  storedBytes: number;
}

/** A model's row in the store (the backends' ModelRow), as `show --json` gives it in `model`. */
export interface ModelRecord {
  id: number;
  name: string;
  version: number;
  format: string;
  baseModelId: number | null;
  createdAt: string;
  /** Sum of the sizes of the model's files. */
  logicalBytes: number;
  /** Raw bytes of chunks this model's import stored for the first time. */
  newRawBytes: number;
  /** Payload bytes of those chunks. */
  newStoredBytes: number;
  /** Raw and payload bytes of the new chunks that were stored as deltas against a base. */
  deltaRawBytes: number;
  deltaStoredBytes: number;
  /** JSON: what was kept with the model at import (its example request: see example.ts). */
  metadataJson: string | null;
  /**
   * Why the model must not be served or exported (`tessera repair` found
   * chunks it could not restore), or null when it is whole.
   */
  unavailable: string | null;
}

/** A model as `tessera ls --json` and GET /api/store/models list it. */
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
  /** What a lossy version (`tessera approx`) records about itself; null for a lossless model. */
  lossy: LossyInfo | null;
}

/** A file of a model, as `show --json` lists it. */
export interface ModelFile {
  path: string;
  size: number;
  /** Hex. */
  sha256: string;
  format: string;
  segments: number;
  tensors: number;
}

/** `tessera show --json`, GET /api/store/models/{name}[/versions/{v}]. */
export interface ModelDetails {
  model: ModelRecord;
  ref: string;
  /** The model deltas were taken against at import. */
  base: string | null;
  savings: Savings;
  files: ModelFile[];
  tensors: TensorSharing[];
  /** Raw bytes of the model's distinct chunks. */
  distinctBytes: number;
  /** Of those, bytes no other model references. */
  uniqueBytes: number;
  sharedWith: { model: string; bytes: number; chunks: number }[];
  /** What a lossy version records about itself (also in model.metadataJson); null for a lossless model. */
  lossy: LossyInfo | null;
}

/** A model in `tessera stats --json`: savings as counted when it was imported. */
export interface ModelStats extends Savings {
  /** name:version */
  model: string;
  name: string;
  version: number;
  format: string;
  createdAt: string;
  unavailable: string | null;
  base: string | null;
  files: number;
  /** What a lossy version records about itself; null for a lossless model. */
  lossy: LossyInfo | null;
}

/** The store's totals, from the chunks it holds now (the backends' StoreTotals). */
export interface StoreTotals {
  models: number;
  files: number;
  logicalBytes: number;
  chunks: number;
  /** Sum of raw sizes of distinct chunks. */
  uniqueRawBytes: number;
  /** Sum of payload bytes kept. */
  storedBytes: number;
  /** Raw and payload bytes of chunks stored as deltas (they have bases). */
  deltaRawBytes: number;
  deltaStoredBytes: number;
  /** Database size on disk, all of its files. */
  dbBytes: number;
}

/** GET /api/stats: the store's totals and models; not where it lives (a path of the server's machine is no client's business). */
export interface StoreStats extends StoreTotals, Savings {
  /** 'sqlite' or 'postgres'. */
  backend: string;
  /**
   * Every model's row in import order, or, in a store of more than
   * STATS_MODELS models (unless every one was asked for), the latest
   * STATS_MODELS imports: `perModelComplete` says which.
   */
  perModel: ModelStats[];
  perModelComplete: boolean;
}

/** The most models one page of a listing holds (`ls --limit`, the HTTP listings' `limit`). */
export const MAX_PAGE = 10_000;

/** Rows `stats` gives per model unless asked for every one (a page of the dashboard's timeline). */
export const STATS_MODELS = 1000;

/** One page of a model listing: `ls --limit`, GET /api/store/models, /api/stats/models. */
export interface ModelPage<T> {
  models: T[];
  /** Models matching the query in all. */
  total: number;
  /** The cursor of the next page (the last model's name:version, or in import order its id), null on the last page. */
  next: string | null;
}

/** `tessera stats --json`: the same with the store's location (the CLI's user owns the machine). */
export interface LocatedStoreStats extends StoreStats {
  /** The SQLite file, or the PostgreSQL URL without its password. */
  location: string;
}
