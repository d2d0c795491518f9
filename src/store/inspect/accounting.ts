import type { ModelRow, StoreTotals } from '../../backends/backend.js';
import type { Savings } from '../../wire/store-json.js';

/** Savings (where the logical bytes went) are JSON the dashboard reads too: declared in src/wire. */
export type { Savings };

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
