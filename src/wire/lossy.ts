/**
 * What a lossy version (made by `tessera approx`, src/approx) records about
 * itself, kept in the model's metadata JSON under `lossy`. Every view of a
 * model (ls, show, the store API, OIP metadata, the dashboard, export) reads
 * it with lossyOf, so a lossy version is marked wherever the model appears.
 * Browser-safe: the dashboard imports it too.
 */

/** How the evaluation scored a model: accuracy against labels, agreement with the original's top-1, or mean relative output error. */
export type LossyMetric = 'accuracy' | 'agreement' | 'relative-error';

/** One figure on each split of the evaluation data: rows that chose the blocks, and rows held out to check the bound. */
export interface SplitFigures {
  search: number;
  heldOut: number;
}

export interface LossyInfo {
  /** The lossless version it was made from (name:version); never changed by approx. */
  from: string;
  metric: LossyMetric;
  /** The bound on the drop, as a fraction (0.01: one point of accuracy, or +1% relative error). */
  maxDrop: number;
  /** The metric of the version it came from, and of this one. */
  before: SplitFigures;
  after: SplitFigures;
  /** How much worse this version scores (before − after; after − before for relative error). */
  drop: SplitFigures;
  /** Evaluation rows in each split. */
  rows: SplitFigures;
  blocks: {
    /** Blocks replaced by a stored near-identical block. */
    replaced: number;
    /** Blocks that had a candidate within the error check. */
    candidates: number;
    /** Float blocks of the model. */
    total: number;
    /** Bytes per block (the store's tensor chunk size). */
    blockBytes: number;
  };
  /** Raw bytes of the replaced blocks. */
  replacedRawBytes: number;
  /** Stored bytes of the version it came from that only its replaced blocks needed. */
  savedStoredBytes: number;
  /** Stored bytes that only the version it came from needs (what it costs beyond the rest of the store). */
  losslessUniqueStoredBytes: number;
  /** Models evaluated during the search (each one an onnxruntime session). */
  evaluations: number;
  /** Wall time of the search, in seconds. */
  seconds: number;
}

/** The lossy record in a model's metadata JSON, or undefined for a lossless model (or unreadable metadata). */
export function lossyOf(metadataJson: string | null): LossyInfo | undefined {
  if (!metadataJson) return undefined;
  try {
    const lossy = (JSON.parse(metadataJson) as { lossy?: unknown }).lossy;
    return lossy && typeof lossy === 'object' && typeof (lossy as LossyInfo).from === 'string' ? (lossy as LossyInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** A figure of `metric` for people: accuracy and agreement in percent, relative error as a fraction. */
export function formatMetric(metric: LossyMetric, value: number): string {
  return metric === 'relative-error' ? value.toFixed(4) : `${(value * 100).toFixed(2)}%`;
}

/** A drop for people: points of accuracy/agreement, or the added relative error. */
export function formatDrop(metric: LossyMetric, value: number): string {
  return metric === 'relative-error' ? `+${value.toFixed(4)}` : `${(value * 100).toFixed(2)} pt`;
}

/** One line saying what a lossy version is, for `ls`, `show` and `export`. */
export function lossySummary(info: LossyInfo): string {
  return `lossy version of ${info.from}: ${info.metric} ${formatMetric(info.metric, info.before.heldOut)} → ${formatMetric(info.metric, info.after.heldOut)} on held-out rows `
    + `(drop ${formatDrop(info.metric, info.drop.heldOut)}, bound ${formatDrop(info.metric, info.maxDrop)}), ${info.blocks.replaced} of ${info.blocks.total} blocks replaced`;
}
