import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';

export function register(program: Command): void {
  program.command('gc')
    .description('free chunks no model references')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
        const r = await store.gc();
        if (flags.json) return printJson(r);
        console.log(`freed ${r.chunks} chunks, ${bytes(r.storedBytes)} of payload; database ${bytes(r.dbBytesBefore)} -> ${bytes(r.dbBytesAfter)}`);
      });
    });
}
