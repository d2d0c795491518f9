import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';
import { parseModelRef } from '../../store/model-ref.js';
import { lossyExportWarning } from '../lossy-text.js';

export async function action(ref: string, flags: { out: string; json?: boolean }, cmd: Command): Promise<void> {
  const model = parseModelRef(ref);
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const t0 = performance.now();
    const r = await store.export(model, flags.out);
    const seconds = (performance.now() - t0) / 1000;
    // On stderr, so it is seen with --json too (whose output carries `lossy`) and whatever stdout goes to.
    if (r.lossy) process.stderr.write(lossyExportWarning(r.lossy));
    if (flags.json) return printJson({ ...r, seconds });
    for (const f of r.files) console.log(`${f.dest}  ${bytes(f.bytes)}  sha256 ok${r.lossy ? ' (the lossy version\'s own)' : ''}`);
    console.log(`exported ${r.files.length} file(s), ${bytes(r.bytes)} in ${seconds.toFixed(2)} s`);
  });
}
