import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { damaged } from '../../errors.js';

export async function action(flags: { from: string[]; json?: boolean }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const t0 = performance.now();
    const r = await store.repair(flags.from);
    const seconds = (performance.now() - t0) / 1000;
    if (flags.json) printJson({ ...r, seconds, clean: r.problems.length === 0 });
    else {
      console.log(`found ${r.badChunks} bad chunk(s); rewrote ${r.rewritten} and restored ${r.restored} from ${r.sourcesUsed.length} file(s) in ${seconds.toFixed(2)} s`);
      if (r.hashRowsFixed) console.log(`put ${r.hashRowsFixed} row(s) of the hash index (chunk_hashes) right`);
      for (const m of r.madeAvailable) console.log(`available again: ${m}`);
      for (const u of r.unavailable) console.log(`unavailable: ${u.model}: ${u.reason}`);
      console.log(r.problems.length === 0 ? 'the store is clean' : `${r.problems.length} problem(s) remain; the affected models will not be served or exported`);
    }
    // Exit code 0 only when the store is whole again.
    if (r.problems.length) throw damaged(`${r.unavailable.length} model(s) marked unavailable${flags.from.length ? '' : '; pass --from <original files> to re-supply their chunks'}`);
  });
}
