import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';

export async function action(flags: { json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const r = await store.gc();
    if (flags.json) return printJson(r);
    console.log(`freed ${r.chunks} chunks, ${bytes(r.storedBytes)} of payload; database ${bytes(r.dbBytesBefore)} -> ${bytes(r.dbBytesAfter)}`);
  });
}
