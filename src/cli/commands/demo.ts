import { basename, relative } from 'node:path';
import type { Command } from 'commander';
import { withStore } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, percent } from '../../wire/format.js';
import { table } from '../format.js';
import { demoModels } from '../demo-models.js';
import { importJobs } from './import.js';
import type { Store } from '../../store/store.js';
import { modelSavings } from '../../store/inspect/accounting.js';
import { checkSource } from '../../store/sources.js';

/** Imports the demo models (a no-op for those already stored) and prints what was saved. */
export async function importDemo(store: Store): Promise<void> {
  console.log(`importing the demo models into ${store.location}`);
  const models = demoModels();
  const jobs = models.map((m) => {
    const { bytes, checked } = checkSource(m.path);
    return { path: m.path, name: m.name, version: m.version, example: m.example, bytes, checked };
  });
  const rows = (await importJobs(store, jobs, {})).map(({ result: r, seconds }, i) => {
    const s = modelSavings(r.model);
    return [`${r.model.name}:${r.model.version}`, models[i]!.what, bytes(r.logicalBytes),
      r.created ? bytes(r.newStoredBytes) : 'already stored', r.created ? percent(s.deduplicatedBytes, r.logicalBytes) : '',
      `${seconds.toFixed(2)} s`];
  });
  console.log(table(['model', 'what', '>size', '>new bytes stored', '>deduplicated', '>time'], rows));
  const t = await store.stats();
  console.log(`store: ${t.models} models, ${bytes(t.logicalBytes)} logical, ${bytes(t.storedBytes)} stored (${percent(t.storedBytes, t.logicalBytes)}): `
    + `${bytes(t.deduplicatedBytes)} deduplicated, ${bytes(t.compressionSavedBytes)} saved by compression, ${bytes(t.deltaSavedBytes)} by deltas; database file ${bytes(t.dbBytes)}`);
}

/** How the user ran this CLI: `tessera` when installed on PATH (a link named so), else `node <script>` as typed. */
function invocation(): string {
  const script = process.argv[1] ?? 'bin/tessera.js';
  return basename(script) === 'tessera' ? 'tessera' : `node ${relative(process.cwd(), script) || script}`;
}

export async function action(_flags: object, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    await importDemo(store);
    const cli = invocation();
    console.log(`next: \`${cli} ls\`, \`${cli} show silero-vad-v6\`, \`${cli} stats\``);
  });
}
