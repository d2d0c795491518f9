import { COLORS } from './charts.js';
import { h } from './dom.js';
import { bytes, percent } from '../../src/wire/format.js';
import type { Savings } from '../../src/wire/store-json.js';

/** The four places a logical byte can go, in the order the bars stack them. */
export const PARTS = [
  {
    key: 'deduplicated', field: 'deduplicatedBytes', label: 'Deduplicated', short: 'Deduplicated', color: COLORS.deduplicated,
    explain: 'bytes already in the store (from another model, or repeated within one): kept once and referenced again',
  },
  {
    key: 'compression', field: 'compressionSavedBytes', label: 'Saved by compression', short: 'Compression', color: COLORS.compression,
    explain: 'lossless compression of the weights: every bit comes back on download',
  },
  {
    key: 'delta', field: 'deltaSavedBytes', label: 'Saved by deltas', short: 'Deltas', color: COLORS.delta,
    explain: 'a fine-tune stored as its difference from its base model',
  },
  {
    key: 'stored', field: 'storedBytes', label: 'Stored', short: 'Stored', color: COLORS.stored,
    explain: 'what is left: the bytes the database actually holds',
  },
] as const satisfies readonly { key: string; field: keyof Savings; label: string; short: string; color: string; explain: string }[];

export type PartKey = (typeof PARTS)[number]['key'];

export const savedBytes = (s: Savings): number => s.logicalBytes - s.storedBytes;

/** A thin bar split into the four parts, with a tooltip per part: for table rows and the upload report. */
export function savingsBar(s: Savings, testid?: string): HTMLElement {
  const bar = h('div', { class: 'mini-bar', 'data-testid': testid, role: 'img', 'aria-label': savingsSentence(s) });
  for (const p of PARTS) {
    const v = s[p.field];
    if (v <= 0 || s.logicalBytes <= 0) continue;
    bar.append(h('span', { style: `width:${(100 * v) / s.logicalBytes}%;background:${p.color}`, title: `${p.label}: ${bytes(v)} (${percent(v, s.logicalBytes)})` }));
  }
  return bar;
}

/** "stored 1.2 MiB of 1.6 MiB: 0.3% deduplicated, 17% compression …" in plain words. */
export function savingsSentence(s: Savings): string {
  const parts = PARTS.filter((p) => p.key !== 'stored' && s[p.field] > 0).map((p) => `${p.label.toLowerCase()} ${bytes(s[p.field])}`);
  return `${bytes(s.storedBytes)} stored of ${bytes(s.logicalBytes)}: saved ${bytes(savedBytes(s))} (${percent(savedBytes(s), s.logicalBytes)})`
    + (parts.length ? ` — ${parts.join(', ')}` : '');
}

/** The four colours with their short names, to read the small bars by. */
export function partsKey(): HTMLElement {
  return h('div', { class: 'parts-key small' }, PARTS.map((p) => h('span', {}, h('i', { class: 'swatch', style: `background:${p.color}` }), p.short)));
}
