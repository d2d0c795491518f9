import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { damaged } from '../../errors.js';

export async function action(flags: { deep?: boolean; json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const t0 = performance.now();
    const r = await store.verify(flags.deep ?? false);
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) printJson({ ...r, seconds, clean: r.problems.length === 0 });
    else {
      for (const p of r.problems) console.log(`${p.kind}: ${p.message}${p.models.length ? ` [models: ${p.models.join(', ')}]` : ''}`);
      console.log(`checked ${r.models} models, ${r.files} files, ${r.chunks} chunks${flags.deep ? `; decoded ${r.chunksHashed} chunks and rebuilt ${r.filesHashed} files` : ''} in ${seconds.toFixed(2)} s: ${r.problems.length === 0 ? 'clean' : `${r.problems.length} problem(s)`}`);
    }
    // Exit code 0 only when clean.
    if (r.problems.length) throw damaged(`${r.problems.length} problem(s) found in the store`);
  });
}
