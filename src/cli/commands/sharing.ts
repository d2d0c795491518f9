import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, listSome, percent } from '../../wire/format.js';
import { table } from '../format.js';
import { invalid } from '../../errors.js';

/** Pairs `--top` lists at most: each is read from the two models' chunk lists. */
const MAX_TOP = 1000;

export async function action(flags: { json?: boolean; top: string; rebuild?: boolean }, cmd: Command): Promise<void> {
  const top = Number(flags.top);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw invalid(`--top: expected a whole number from 1 to ${MAX_TOP}, got ${JSON.stringify(flags.top)}`);
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    if (flags.rebuild) await store.rebuildSharing();
    if (flags.json) return printJson(await store.sharing());
    const pairs = await store.sharedPairs(top);
    if (pairs.length === 0) return console.log('no two models share any bytes');
    console.log(table(['model', 'shares with', '>bytes', '>% of the smaller', 'tensors (of the first)'], pairs.map((p) => [
      p.a, p.b, bytes(p.bytes), percent(p.bytes, p.smallerBytes), listSome(p.tensors.names, p.tensors.count)])));
    if (pairs.length === top) console.log(`(the ${top} pairs that share the most; --top N for more)`);
    const m = await store.sharing();
    const what = m.grouping === 'families' ? `the ${m.models.length} largest families of the ${m.totalModels} models (first model, members)` : 'families (models in cluster order)';
    console.log(`\n${what}: ${m.order.map((i) => (m.models[i]!.members ? `${m.models[i]!.ref} (${m.models[i]!.members})` : m.models[i]!.ref)).join(' ')}`);
  });
}
