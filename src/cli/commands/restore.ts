import type { Command } from 'commander';
import { printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { storeLocation } from '../config.js';

export async function action(flags: { from: string; verify: boolean; json?: boolean }, cmd: Command): Promise<void> {
  const { Store } = await import('../../store/store.js');
  const to = storeLocation(cmd.optsWithGlobals<GlobalOptions>().store);
  const t0 = performance.now();
  const r = await Store.restore(flags.from, to, { verify: flags.verify });
  const seconds = (performance.now() - t0) / 1000;
  if (flags.json) return printJson({ ...r, seconds });
  if (r.verified) console.log(`verified the backup ${flags.from}: ${r.verified.chunksHashed} chunks decoded and ${r.verified.filesHashed} files rebuilt, each matching its SHA-256`);
  console.log(`restored ${r.models} model(s) into ${r.location} in ${seconds.toFixed(2)} s (${r.method === 'pages' ? 'the backup\'s pages' : 'every model copied and verified'})`);
}
