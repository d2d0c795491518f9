import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';
import { table } from '../format.js';
import { listEntries } from '../../store/store.js';

export async function action(flags: { json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const models = await store.list();
    if (flags.json) {
      return printJson(listEntries(models));
    }
    if (models.length === 0) return console.log('the store is empty');
    console.log(table(['model', 'format', '>files', '>size', '>new bytes stored', 'imported'],
      models.map((m) => [`${m.name}:${m.version}${m.unavailable !== null ? ' (UNAVAILABLE: run tessera repair)' : ''}`, m.format, m.files, bytes(m.logicalBytes), bytes(m.newStoredBytes), m.createdAt])));
  });
}
