import type { Command } from 'commander';
import { withStore } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, percent, table } from '../format.js';
import { demoModels } from '../demo-models.js';
import { runImport } from './import.js';

export function register(program: Command): void {
  program.command('demo')
    .description('import the demo models (shipped in npm packages) and show what was saved')
    .action(async (_flags: object, cmd: Command) => {
      await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
        console.log(`store: ${store.backend.location}`);
        const rows: (string | number)[][] = [];
        for (const m of demoModels()) {
          const { result: r, seconds } = await runImport(store, m.path, { name: m.name });
          rows.push([`${r.model.name}:${r.model.version}`, m.what, bytes(r.logicalBytes),
            r.created ? bytes(r.newStoredBytes) : 'already stored', r.created ? percent(r.logicalBytes - r.newRawBytes, r.logicalBytes) : '',
            `${seconds.toFixed(2)} s`]);
        }
        console.log(table(['model', 'what', '>size', '>new bytes stored', '>deduplicated', '>time'], rows));
        const t = await store.totals();
        console.log(`\nstore: ${t.models} models, ${bytes(t.logicalBytes)} logical, ${bytes(t.storedBytes)} stored (${percent(t.storedBytes, t.logicalBytes)}), saved ${bytes(t.logicalBytes - t.storedBytes)}; database file ${bytes(t.dbBytes)}`);
        console.log('next: `node bin/tessera.js ls`, `node bin/tessera.js show silero-vad-v6`, `node bin/tessera.js stats`');
      });
    });
}
