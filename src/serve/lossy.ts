/**
 * How the server marks a lossy version (`tessera approx`) wherever it hands
 * one out: parameters in its OIP metadata, a header on its file downloads
 * (the Hub's too) and a tag in its Hub model info. A lossless model gets
 * none of them, so its answers are as they always were.
 */
import type { CatalogVersion } from './catalog.js';
import { lossyOf } from '../wire/lossy.js';
import type { LossyInfo } from '../wire/lossy.js';

/** The response header on every file download of a lossy version: the lossless version (name:version) it was made from. */
export const LOSSY_HEADER = 'X-Tessera-Lossy';

/** The Hub tag of a lossy revision (GET /api/models?filter=lossy finds them). */
export const LOSSY_TAG = 'lossy';

/** Parsed once per catalog row: a catalog reload makes new rows, so a stale answer cannot outlive its row. */
const parsed = new WeakMap<CatalogVersion['model'], LossyInfo | null>();

/** The lossy record of a served version, or undefined for a lossless one. */
export function lossyOfVersion(v: CatalogVersion): LossyInfo | undefined {
  let info = parsed.get(v.model);
  if (info === undefined) parsed.set(v.model, (info = lossyOf(v.model.metadataJson) ?? null));
  return info ?? undefined;
}

/**
 * The record as flat OIP metadata parameters (the protocol's parameters hold
 * strings, numbers and booleans only). Figures are fractions, as recorded:
 * a drop of 0.004 is 0.4 points of accuracy, or +0.004 relative error.
 */
export function lossyParameters(info: LossyInfo): Record<string, string | number | boolean> {
  return {
    lossy: true,
    lossy_from: info.from,
    lossy_metric: info.metric,
    lossy_before_held_out: info.before.heldOut,
    lossy_after_held_out: info.after.heldOut,
    lossy_drop_held_out: info.drop.heldOut,
    lossy_max_drop: info.maxDrop,
    lossy_blocks_replaced: info.blocks.replaced,
    lossy_blocks_total: info.blocks.total,
  };
}

/** The download headers of a version's files: the lossy mark, or none. */
export function lossyHeaders(v: CatalogVersion): Record<string, string> {
  const info = lossyOfVersion(v);
  // Model names are ASCII by the name policy; the record is only JSON, so anything else is masked rather than break the header.
  return info ? { [LOSSY_HEADER]: info.from.replace(/[^\x21-\x7e]/g, '?') } : {};
}
