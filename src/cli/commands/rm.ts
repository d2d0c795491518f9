import type { Command } from 'commander';
import { withStore } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { parseModelRef } from '../../store/model-ref.js';

export async function action(ref: string, _flags: object, cmd: Command): Promise<void> {
  const mref = parseModelRef(ref);
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const m = await store.remove(mref);
    console.log(`removed ${m.name}:${m.version}; run \`tessera gc\` to free chunks no other model uses`);
  });
}
