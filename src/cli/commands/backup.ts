import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';

export async function action(flags: { to: string; force?: boolean; verify: boolean; json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const t0 = performance.now();
    const r = await store.backup(flags.to, { force: flags.force, verify: flags.verify });
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) return printJson({ ...r, seconds });
    const how = r.method === 'pages' ? 'SQLite online backup, one consistent copy' : 'every model copied from one consistent snapshot';
    console.log(`backed up ${r.models} model(s) of ${store.location} to ${r.location} (${bytes(r.bytes)}) in ${seconds.toFixed(2)} s: ${how}`);
    if (r.verified) console.log(`verified the copy: ${r.verified.chunksHashed} chunks decoded and ${r.verified.filesHashed} files rebuilt, each matching its SHA-256`);
  });
}
