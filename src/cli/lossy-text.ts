/**
 * How the CLI writes a lossy version (`tessera approx`): the mark `ls` puts
 * beside it, the section `show` gives it and the warning `export` prints.
 * A lossy version must never pass for the model it came from.
 */
import { bytes, percent } from '../wire/format.js';
import { formatDrop, formatMetric, lossySummary } from '../wire/lossy.js';
import type { LossyInfo } from '../wire/lossy.js';
import { table } from './format.js';

/** The `lossy` cell of `ls`: where it came from and how much it lost on the held-out rows. */
export function lossyMark(info: LossyInfo): string {
  return `LOSSY of ${info.from}: held-out drop ${formatDrop(info.metric, info.drop.heldOut)} (bound ${formatDrop(info.metric, info.maxDrop)})`;
}

/** Whether the held-out drop kept to the bound (approx keeps nothing else; an edited record could say otherwise). */
const withinBound = (info: LossyInfo): boolean => info.drop.heldOut <= info.maxDrop;

/** The "lossy version" section of `show`: the metric before and after on both splits, what was replaced and what it saved. */
export function lossySection(info: LossyInfo): string {
  const m = info.metric;
  const b = info.blocks;
  return [
    `lossy version of ${info.from} (made by tessera approx; ${info.from} is kept unchanged)`,
    table([m, '>search rows', '>held-out rows'], [
      [`before (${info.from})`, formatMetric(m, info.before.search), formatMetric(m, info.before.heldOut)],
      ['after (this version)', formatMetric(m, info.after.search), formatMetric(m, info.after.heldOut)],
      ['drop', formatDrop(m, info.drop.search), formatDrop(m, info.drop.heldOut)],
      ['rows', info.rows.search, info.rows.heldOut],
    ]),
    `  bound: drop at most ${formatDrop(m, info.maxDrop)} on the held-out rows: ${withinBound(info) ? 'kept' : 'EXCEEDED'}`,
    `  blocks replaced: ${b.replaced} of ${b.total} float blocks (${percent(b.replaced, b.total)}; ${b.candidates} had a candidate), blocks of ${bytes(b.blockBytes)}`,
    `  raw bytes replaced: ${bytes(info.replacedRawBytes)}`,
    `  stored bytes saved: ${bytes(info.savedStoredBytes)} of the ${bytes(info.losslessUniqueStoredBytes)} only ${info.from} needs (${percent(info.savedStoredBytes, info.losslessUniqueStoredBytes)})`,
    `  search: ${info.evaluations} evaluations in ${info.seconds.toFixed(1)} s`,
  ].join('\n');
}

/** What `export` of a lossy version says (on stderr): what the bytes are, and what they were checked against. */
export function lossyExportWarning(info: LossyInfo): string {
  return `warning: exported a ${lossySummary(info)}\n`
    + `warning: these bytes are not the original model's (${info.from}); each file was checked against the SHA-256 recorded for this lossy version when it was stored, not against ${info.from}'s\n`;
}
