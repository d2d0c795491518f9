import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes, listSome, percent } from '../../wire/format.js';
import { table } from '../format.js';

export async function action(flags: { json?: boolean; top: string }, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const m = await store.sharing();
    if (flags.json) return printJson(m);
    const pairs: { a: number; b: number; bytes: number }[] = [];
    m.models.forEach((_, a) => m.models.forEach((__, b) => {
      if (a < b && m.bytes[a]![b]! > 0) pairs.push({ a, b, bytes: m.bytes[a]![b]! });
    }));
    if (pairs.length === 0) return console.log(`no two of the ${m.models.length} models share any bytes`);
    pairs.sort((x, y) => y.bytes - x.bytes);
    const top = Math.max(1, Number(flags.top) || 20);
    console.log(table(['model', 'shares with', '>bytes', '>% of the smaller', 'tensors (of the first)'], pairs.slice(0, top).map((p) => {
      const t = m.tensors[p.a]![p.b]!;
      const smaller = Math.min(m.models[p.a]!.distinctBytes, m.models[p.b]!.distinctBytes);
      return [m.models[p.a]!.ref, m.models[p.b]!.ref, bytes(p.bytes), percent(p.bytes, smaller),
        listSome(t.names, t.count)];
    })));
    if (pairs.length > top) console.log(`(${pairs.length - top} more pairs; --top N or --json for all)`);
    console.log(`\nfamilies (models in cluster order): ${m.order.map((i) => m.models[i]!.ref).join(' ')}`);
  });
}
