import type { ModelRow, StoreTotals } from '../backends/backend.js';

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

/** A model's savings, as counted when it was imported (chunks it was first to store). */
export function modelSavings(m: ModelRow): Savings {
  return {
    logicalBytes: m.logicalBytes,
    deduplicatedBytes: m.logicalBytes - m.newRawBytes,
    compressionSavedBytes: m.newRawBytes - m.deltaRawBytes - (m.newStoredBytes - m.deltaStoredBytes),
    deltaSavedBytes: m.deltaRawBytes - m.deltaStoredBytes,
    storedBytes: m.newStoredBytes,
  };
}

/** The store's savings, from the chunks it holds now. */
export function storeSavings(t: StoreTotals): Savings {
  return {
    logicalBytes: t.logicalBytes,
    deduplicatedBytes: t.logicalBytes - t.uniqueRawBytes,
    compressionSavedBytes: t.uniqueRawBytes - t.deltaRawBytes - (t.storedBytes - t.deltaStoredBytes),
    deltaSavedBytes: t.deltaRawBytes - t.deltaStoredBytes,
    storedBytes: t.storedBytes,
  };
}
