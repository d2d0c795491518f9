import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';
import { table } from '../format.js';
import { listEntries } from '../../store/store.js';
import { lossyOf } from '../../wire/lossy.js';
import { lossyMark } from '../lossy-text.js';

export async function action(flags: { json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const models = await store.list();
    if (flags.json) {
      return printJson(listEntries(models));
    }
    if (models.length === 0) return console.log('the store is empty');
    const rows = models.map((m) => ({ m, lossy: lossyOf(m.metadataJson) }));
    // The lossy column only when a lossy version is listed: beside the name, where it cannot be missed.
    const anyLossy = rows.some((r) => r.lossy);
    console.log(table(['model', ...(anyLossy ? ['lossy'] : []), 'format', '>files', '>size', '>new bytes stored', 'imported'],
      rows.map(({ m, lossy }) => [`${m.name}:${m.version}${m.unavailable !== null ? ' (UNAVAILABLE: run tessera repair)' : ''}`,
        ...(anyLossy ? [lossy ? lossyMark(lossy) : ''] : []), m.format, m.files, bytes(m.logicalBytes), bytes(m.newStoredBytes), m.createdAt])));
  });
}
