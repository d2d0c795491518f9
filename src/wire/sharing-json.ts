/**
 * What models share, as JSON: `tessera sharing --json` (GET /api/sharing, the
 * dashboard's heatmap) and the tensors of `tessera show --json`.
 */

export interface SharingModel {
  ref: string;
  name: string;
  version: number;
  format: string;
  logicalBytes: number;
  /** Raw bytes of the model's distinct chunks (the matrix's diagonal). */
  distinctBytes: number;
  base: string | null;
  /** In a family matrix: the models of the family this one (its first) stands for. */
  members?: number;
}

/** Tensor names of one model that share chunks with another (the first few: src/store/inspect/sharing.ts's NAMES_PER_PAIR), and how many there are. */
export interface SharedTensors {
  names: string[];
  count: number;
}

/**
 * What every pair of models shares: `bytes[i][j]` is the raw bytes of the
 * distinct chunks both reference (the diagonal: the model's own distinct
 * bytes), `tensors[i][j]` the tensors of model i holding them. `order` lists
 * model indices so families sit together.
 */
export interface SharingMatrix {
  /**
   * `models`: every model of the store; `families`: the store holds more
   * than the heatmap shows, so each entry is a family (models that joined
   * one another at import: versions, delta bases, models sharing half their
   * bytes), the largest first, a cell the most two of their members share.
   */
  grouping: 'models' | 'families';
  /** Models in the store. */
  totalModels: number;
  models: SharingModel[];
  order: number[];
  bytes: number[][];
  tensors: SharedTensors[][];
}

/** A tensor of one model, and what of it other models hold too. */
export interface TensorSharing {
  file: string;
  name: string;
  dtype: string;
  shape: number[];
  bytes: number;
  chunks: number;
  /** Raw bytes of the tensor's distinct chunks that no other model references. */
  uniqueBytes: number;
  /** Other models holding some of the tensor's chunks, and how many bytes of them. */
  sharedWith: { model: string; bytes: number }[];
}

/** One pair of `tessera sharing`'s top list. */
export interface SharedPair {
  a: string;
  b: string;
  /** Raw bytes of the distinct chunks both reference. */
  bytes: number;
  chunks: number;
  /** The smaller of the two models' distinct raw bytes. */
  smallerBytes: number;
  /** Tensors of `a` over those chunks. */
  tensors: SharedTensors;
}
