import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, percent } from '../../wire/format.js';
import { table } from '../format.js';
import type { Savings } from '../../store/inspect/accounting.js';

/** One table row of where a model's (or the store's) bytes went. */
export function savingsRow(label: string, s: Savings, base: string | null): (string | number)[] {
  return [label, base ?? '', bytes(s.logicalBytes), bytes(s.deduplicatedBytes), bytes(s.compressionSavedBytes),
    bytes(s.deltaSavedBytes), bytes(s.storedBytes), percent(s.storedBytes, s.logicalBytes)];
}

export const SAVINGS_HEADERS = ['model', 'delta base', '>logical', '>deduplicated', '>compression saved', '>delta saved', '>stored', '>stored %'];

/** Per-model rows the text output prints of a store that has more than STATS_MODELS models (unless --all). */
const TEXT_ROWS = 20;

export async function action(flags: { json?: boolean; all?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const s = await store.stats({ all: flags.all });
    if (flags.json) return printJson(s);
    console.log(`store ${s.location} (${s.backend}): ${s.models} models, ${s.files} files, ${s.chunks} chunks, database ${bytes(s.dbBytes)} on disk`);
    const rows = s.perModelComplete ? s.perModel : s.perModel.slice(-TEXT_ROWS);
    console.log(table(SAVINGS_HEADERS, [...rows.map((m) => savingsRow(m.model, m, m.base)), savingsRow('(whole store, now)', s, null)]));
    if (!s.perModelComplete) console.log(`(the latest ${rows.length} of ${s.models} imports; --all for every model's row)`);
    console.log(`\nstored ${bytes(s.storedBytes)} of ${bytes(s.logicalBytes)} (${percent(s.storedBytes, s.logicalBytes)}); database file ${percent(s.dbBytes, s.logicalBytes)} of logical`);
  });
}
