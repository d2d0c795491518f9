import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, percent } from '../../wire/format.js';
import { table } from '../format.js';
import { parseModelRef } from '../../store/model-ref.js';
import { SAVINGS_HEADERS, savingsRow } from './stats.js';
import { lossySection } from '../lossy-text.js';

export async function action(ref: string, flags: { json?: boolean }, cmd: Command): Promise<void> {
  const mref = parseModelRef(ref);
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const d = await store.show(mref);
    if (flags.json) return printJson(d);
    const m = d.model;
    console.log(`${d.ref}  (${m.format}, imported ${m.createdAt}${d.base ? `, delta base ${d.base}` : ''})`);
    if (m.unavailable !== null) console.log(`  UNAVAILABLE: ${m.unavailable}`);
    if (d.lossy) console.log(`  LOSSY version of ${d.lossy.from}: its bytes are not ${d.lossy.from}'s (see "lossy version" below)`);
    console.log(`  logical ${bytes(m.logicalBytes)}; distinct chunk bytes ${bytes(d.distinctBytes)}; unique to this model ${bytes(d.uniqueBytes)} (${percent(d.uniqueBytes, m.logicalBytes)})`);
    if (d.lossy) console.log(`\n${lossySection(d.lossy)}`);
    console.log('\nsavings at import');
    console.log(table(SAVINGS_HEADERS, [savingsRow(d.ref, d.savings, d.base)]));
    console.log('\nfiles');
    console.log(table(['path', 'format', '>size', '>tensors', 'sha256'], d.files.map((f) => [f.path, f.format, bytes(f.size), f.tensors, f.sha256])));
    console.log('\nshared with');
    if (d.sharedWith.length === 0) console.log('  (no other model)');
    else console.log(table(['model', '>bytes', '>chunks', '>% of this model'], d.sharedWith.map((s) => [s.model, bytes(s.bytes), s.chunks, percent(s.bytes, m.logicalBytes)])));
    console.log('\ntensors');
    console.log(table(['file', 'tensor', 'dtype', 'shape', '>bytes', '>chunks'], d.tensors.map((t) => [t.file, t.name, t.dtype, `[${t.shape.join(',')}]`, bytes(t.bytes), t.chunks])));
  });
}
