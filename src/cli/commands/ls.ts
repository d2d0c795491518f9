import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';
import { table } from '../format.js';
import type { ModelListEntry } from '../../wire/store-json.js';
import { MAX_PAGE } from '../../wire/store-json.js';
import { lossyMark } from '../lossy-text.js';
import { invalid } from '../../errors.js';

interface LsFlags { json?: boolean; all?: boolean; limit: string; after?: string; search?: string; format?: string }

export async function action(flags: LsFlags, cmd: Command): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid(`--limit: expected a whole number from 1 to ${MAX_PAGE}, got ${JSON.stringify(flags.limit)}`);
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    // --all: one page holding every model.
    const page = await store.listPage({ limit: flags.all ? Number.MAX_SAFE_INTEGER - 1 : limit, after: flags.after, search: flags.search, format: flags.format });
    const models: ModelListEntry[] = page.models;
    const footer = page.next === null ? '' : `(${models.length} of ${page.total} models${flags.search || flags.format ? ' matching' : ''}; the next page: tessera ls --after ${page.next}${flags.search ? ` --search ${JSON.stringify(flags.search)}` : ''}${flags.format ? ` --format ${flags.format}` : ''})`;
    if (flags.json) return printJson(models);
    if (models.length === 0) return console.log(flags.search || flags.format || flags.after ? 'no model matches' : 'the store is empty');
    // The lossy column only when a lossy version is listed: beside the name, where it cannot be missed.
    const anyLossy = models.some((m) => m.lossy);
    console.log(table(['model', ...(anyLossy ? ['lossy'] : []), 'format', '>files', '>size', '>new bytes stored', 'imported'],
      models.map((m) => [`${m.name}:${m.version}${m.unavailable !== null ? ' (UNAVAILABLE: run tessera repair)' : ''}`,
        ...(anyLossy ? [m.lossy ? lossyMark(m.lossy) : ''] : []), m.format, m.files, bytes(m.logicalBytes), bytes(m.newStoredBytes), m.createdAt])));
    if (footer) console.log(footer);
  });
}
