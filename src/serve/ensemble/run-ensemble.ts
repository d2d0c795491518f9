/**
 * Runs an ensemble's DAG (src/formats/ensemble.md): the steps the requested
 * outputs need, each as soon as every tensor it reads exists, several at
 * once when they do not depend on each other. Tensors stay in memory between
 * steps. A step's inputs go to its runtime thread by transfer (gone from
 * here once sent) when the step is their only reader; a tensor with several
 * readers (steps, or the answer) is sent by copy as each run goes out
 * (`keep`): no copies are made ahead of the runs, and the steps reading it
 * may be sent in any order.
 */
import { TesseraError } from '../../errors.js';
import type { EnsembleDefinition, EnsembleStep } from '../../formats/ensemble.js';
import { ErrorWithHeaders } from '../http/errors.js';
import type { OutputTensor } from '../oip/infer.js';
import type { HostTensor } from '../oip/tensor-codec.js';
import type { Cancellation } from '../scheduling/scheduler.js';

/** Runs one step's model: inputs under the step model's names, outputs by the step model's names. */
export type RunStep = (step: EnsembleStep, inputs: HostTensor[], outputs: string[]) => Promise<OutputTensor[]>;

/** The error of a step, with the step named and the original's kind (its status) and headers kept. */
export function stepError(step: EnsembleStep, e: unknown): Error {
  const what = `ensemble step "${step.name}" (model ${step.model}${step.version !== undefined ? `:${step.version}` : ''})`;
  const message = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  if (e instanceof ErrorWithHeaders) return new ErrorWithHeaders(e.kind, message, e.headers);
  if (e instanceof TesseraError) return new TesseraError(e.kind, message, { cause: e });
  return new Error(message, { cause: e });
}

/** The steps `wanted` needs, in the definition's order. */
function needed(def: EnsembleDefinition, wanted: readonly string[]): EnsembleStep[] {
  const writer = new Map<string, EnsembleStep>();
  for (const s of def.steps) for (const t of Object.values(s.output_map)) writer.set(t, s);
  const need = new Set<EnsembleStep>();
  const visit = (t: string): void => {
    const s = writer.get(t);
    if (!s || need.has(s)) return;
    need.add(s);
    for (const x of Object.values(s.input_map)) visit(x);
  };
  wanted.forEach(visit);
  return def.steps.filter((s) => need.has(s));
}

export async function runEnsemble(
  def: EnsembleDefinition, inputs: readonly HostTensor[], wanted: readonly string[], runStep: RunStep, signal?: Cancellation,
): Promise<OutputTensor[]> {
  const steps = needed(def, wanted);
  const tensors = new Map<string, HostTensor>(inputs.map((t) => [t.name, t]));
  // Readers of each tensor: the steps that read it, and the answer when it is a requested output.
  const readers = new Map<string, number>();
  for (const s of steps) for (const t of Object.values(s.input_map)) readers.set(t, (readers.get(t) ?? 0) + 1);
  for (const t of wanted) readers.set(t, (readers.get(t) ?? 0) + 1);

  const waiting = new Set(steps);
  const running = new Map<EnsembleStep, Promise<void>>();
  let failed: Error | undefined;
  const start = (s: EnsembleStep): void => {
    waiting.delete(s);
    const feeds: HostTensor[] = Object.entries(s.input_map).map(([modelInput, t]) => {
      const src = tensors.get(t)!;
      return { name: modelInput, datatype: src.datatype, shape: src.shape, data: src.data, ...(readers.get(t)! > 1 ? { keep: true } : {}) };
    });
    const outs = Object.keys(s.output_map);
    running.set(s, runStep(s, feeds, outs).then((result) => {
      for (const o of result) {
        const as = s.output_map[o.name];
        if (as !== undefined) tensors.set(as, { name: as, datatype: o.datatype, shape: o.shape, data: o.data });
      }
      for (const [modelOutput, as] of Object.entries(s.output_map)) {
        if (!tensors.has(as)) throw new Error(`the model gave no output "${modelOutput}"`);
      }
    }).catch((e: unknown) => {
      failed ??= stepError(s, e);
    }).finally(() => running.delete(s)));
  };

  while (waiting.size > 0 || running.size > 0) {
    if (failed) break;
    if (signal?.aborted) throw new TesseraError('busy', 'ensemble cancelled: the client disconnected');
    for (const s of [...waiting]) if (Object.values(s.input_map).every((t) => tensors.has(t))) start(s);
    if (running.size === 0) break; // nothing can start (checked at import: does not happen)
    await Promise.race(running.values());
  }
  if (failed) {
    // The steps still running finish on their own; their answers are dropped.
    await Promise.allSettled(running.values());
    throw failed;
  }
  return wanted.map((name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`ensemble output "${name}" was not produced`);
    return { name, datatype: t.datatype, shape: t.shape, data: t.data };
  });
}
