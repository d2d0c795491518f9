import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { bytes } from '../../wire/format.js';
import { parseModelRef, formatModelRef } from '../../store/model-ref.js';
import { formatDrop, formatMetric, lossySummary } from '../../wire/lossy.js';
import type { LossyMetric } from '../../wire/lossy.js';

export interface ApproxFlags {
  eval: string;
  labels?: string;
  maxDrop: number;
  metric?: LossyMetric;
  output?: string;
  heldOut: number;
  seed: number;
  maxBlockError: number;
  maxEvaluations: number;
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export async function action(ref: string, flags: ApproxFlags, cmd: Command): Promise<void> {
  const model = parseModelRef(ref);
  // The data is read and checked before the store opens: a wrong file changes nothing and costs nothing.
  const { readEvalData, readLabels } = await import('../../approx/eval-data.js');
  const data = readEvalData(flags.eval);
  const labels = flags.labels === undefined ? undefined : readLabels(flags.labels, data.rows);
  const { approximate } = await import('../../approx/approximate.js');
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const say = flags.json || flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    const r = await approximate(store, model, data, labels, {
      maxDrop: flags.maxDrop, metric: flags.metric, output: flags.output, heldOut: flags.heldOut, seed: flags.seed,
      maxBlockError: flags.maxBlockError, maxEvaluations: flags.maxEvaluations, dryRun: flags.dryRun, onProgress: say,
    });
    const stored = r.stored ? formatModelRef(r.stored.name, r.stored.version) : null;
    if (flags.json) return printJson({ stored, created: r.created ?? false, ended: r.ended, lossy: r.info });
    const i = r.info;
    const m = (x: number): string => formatMetric(i.metric, x);
    console.log(`${i.metric}: search rows ${m(i.before.search)} -> ${m(i.after.search)} (drop ${formatDrop(i.metric, i.drop.search)}), `
      + `held-out rows ${m(i.before.heldOut)} -> ${m(i.after.heldOut)} (drop ${formatDrop(i.metric, i.drop.heldOut)}); bound ${formatDrop(i.metric, i.maxDrop)}`);
    console.log(`${i.blocks.replaced} of ${i.blocks.total} blocks replaced (${i.blocks.candidates} had a near-identical stored block), ${bytes(i.replacedRawBytes)} of weights; `
      + `frees ${bytes(i.savedStoredBytes)} of the ${bytes(i.losslessUniqueStoredBytes)} only ${i.from} needs; ${i.evaluations} evaluations in ${i.seconds.toFixed(2)} s (${r.ended})`);
    if (stored && !r.created) console.log(`${stored} already holds these bytes: nothing stored`);
    else if (stored) console.log(`stored ${stored}: ${lossySummary(i)}; ${i.from} is unchanged`);
    else console.log(flags.dryRun ? 'dry run: nothing stored' : 'no block could be replaced within the bound: nothing stored');
  });
}
