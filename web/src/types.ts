/**
 * The JSON the dashboard reads: the same shapes the CLI prints with --json
 * (src/store/store.ts, src/store/sharing.ts) and the Open Inference Protocol's
 * own. Declared here rather than imported so the page's bundle stays free of
 * server code; the browser tests check the two agree on real data.
 */

/** Where a model's (or the store's) logical bytes went; the four parts add up to logicalBytes. */
export interface Savings {
  logicalBytes: number;
  deduplicatedBytes: number;
  compressionSavedBytes: number;
  deltaSavedBytes: number;
  storedBytes: number;
}

/** GET /api/stats, per model: savings as counted when it was imported. */
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

/** GET /api/stats (`tessera stats --json`). */
export interface StoreStats extends Savings {
  models: number;
  files: number;
  chunks: number;
  uniqueRawBytes: number;
  deltaRawBytes: number;
  deltaStoredBytes: number;
  dbBytes: number;
  backend: string;
  location: string;
  perModel: ModelStats[];
}

/** A model's row in the store, as `tessera show --json` gives it. */
export interface ModelRow {
  id: number;
  name: string;
  version: number;
  format: string;
  baseModelId: number | null;
  createdAt: string;
  logicalBytes: number;
  newRawBytes: number;
  newStoredBytes: number;
  deltaRawBytes: number;
  deltaStoredBytes: number;
  metadataJson: string | null;
  /** Why `tessera repair` marked it unservable, or null. */
  unavailable: string | null;
}

export interface TensorInfo {
  file: string;
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  chunks: number;
  /** Raw bytes of the tensor's chunks no other model references. */
  uniqueBytes?: number;
  /** Other models holding some of the tensor's chunks. */
  sharedWith?: { model: string; bytes: number }[];
}

export interface ModelFile {
  path: string;
  size: number;
  sha256: string;
  format: string;
  segments: number;
  tensors: number;
}

/** GET /api/models/{name}/versions/{v} (`tessera show --json`). */
export interface ModelDetails {
  model: ModelRow;
  ref: string;
  base: string | null;
  savings: Savings;
  files: ModelFile[];
  tensors: TensorInfo[];
  distinctBytes: number;
  uniqueBytes: number;
  sharedWith: { model: string; bytes: number; chunks: number }[];
}

export interface SharingModel {
  ref: string;
  name: string;
  version: number;
  format: string;
  logicalBytes: number;
  distinctBytes: number;
  base: string | null;
}

/** GET /api/sharing: bytes[i][j] shared raw bytes (diagonal: the model's distinct bytes), order clusters families. */
export interface SharingMatrix {
  models: SharingModel[];
  order: number[];
  bytes: number[][];
  tensors: { names: string[]; count: number }[][];
}

/** PUT /v2/models/{name}/files/{path}. */
export interface UploadResult {
  name: string;
  version: string;
  created: boolean;
  path: string;
  bytes: number;
  sha256: string;
  note?: string;
  savings?: Savings;
}

export interface OipTensorMeta {
  name: string;
  datatype: string;
  shape: number[];
}

/** GET /v2/models/{name}/versions/{v}. */
export interface OipMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: OipTensorMeta[];
  outputs: OipTensorMeta[];
}

export interface OipOutput extends OipTensorMeta {
  data: (number | string | boolean)[];
}

/** POST /v2/models/{name}/versions/{v}/infer, JSON response. */
export interface OipInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: OipOutput[];
}
