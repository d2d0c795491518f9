/**
 * Dynamic batching's tensor work: which requests may share a run, joining
 * their inputs along dimension 0, and cutting the outputs back apart.
 * Requests share a run only when every input has the same name, datatype
 * and inner dimensions, and they ask for the same outputs: the joined run is
 * then the same computation row by row (what the tests check bit for bit).
 */
import type { ModelSignature } from '../oip/signature.js';
import type { OutputTensor } from '../oip/infer.js';
import type { HostTensor, TensorData } from '../oip/tensor-codec.js';

/** Why a model cannot be batched along dimension 0, or undefined when it can. */
export function unbatchable(sig: ModelSignature): string | undefined {
  for (const [kind, specs] of [['input', sig.inputs], ['output', sig.outputs]] as const) {
    const fixed = specs.find((s) => s.shape.length === 0 || s.shape[0] !== -1);
    if (fixed) return `${kind} "${fixed.name}" has no dynamic first dimension (shape [${fixed.shape.join(',')}])`;
  }
  return undefined;
}

/** Rows a request brings: its inputs' first dimension (all equal), or undefined when they disagree. */
export function rowsOf(inputs: readonly HostTensor[]): number | undefined {
  const rows = inputs[0]?.shape[0];
  if (rows === undefined || inputs.some((t) => t.shape.length === 0 || t.shape[0] !== rows)) return undefined;
  return rows;
}

/** Requests with the same key may share a run: input names, datatypes and inner dimensions, and the outputs asked for. */
export function batchKey(inputs: readonly HostTensor[], outputs: readonly string[]): string {
  const ins = inputs.length > 1 ? [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : inputs;
  // Names go in JSON-quoted (any character); dimensions and datatypes cannot hold the separators.
  let key = '';
  for (const t of ins) key += `${JSON.stringify(t.name)}:${t.datatype}[${t.shape.slice(1).join(',')}];`;
  return `${key}>${JSON.stringify(outputs)}`;
}

type Ctor = new (n: number) => Exclude<TensorData, string[]>;

function join(parts: readonly TensorData[]): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new (first.constructor as Ctor)(total);
  let at = 0;
  for (const p of parts as Exclude<TensorData, string[]>[]) {
    (out as Uint8Array).set(p as Uint8Array, at);
    at += p.length;
  }
  return out;
}

/** The requests' inputs joined along dimension 0, in the first request's input order. */
export function joinInputs(requests: readonly (readonly HostTensor[])[]): HostTensor[] {
  const first = requests[0]!;
  if (requests.length === 1) return [...first];
  return first.map((t) => {
    const parts = requests.map((r) => r.find((x) => x.name === t.name)!);
    const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: join(parts.map((p) => p.data)) };
  });
}

function slice(data: TensorData, from: number, to: number): TensorData {
  // A copy, not a view: each answer owns its memory (and a view would keep the whole batch's alive).
  return Array.isArray(data) ? data.slice(from, to) : (data.slice(from, to) as TensorData);
}

/**
 * The batch's outputs cut into each request's rows, or why they cannot be
 * (an output whose first dimension is not the batch's rows: the model does
 * not keep rows apart, and each request must run alone).
 */
export function splitOutputs(outputs: readonly OutputTensor[], rows: readonly number[]): OutputTensor[][] | string {
  const total = rows.reduce((a, b) => a + b, 0);
  for (const o of outputs) {
    if (o.shape[0] !== total) return `output "${o.name}" has ${o.shape[0] ?? 'no'} rows for a batch of ${total}`;
  }
  if (rows.length === 1) return [[...outputs]];
  const out: OutputTensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const inner = o.shape.slice(1).reduce((a, b) => a * b, 1);
    let row = 0;
    rows.forEach((n, i) => {
      out[i]!.push({ name: o.name, datatype: o.datatype, shape: [n, ...o.shape.slice(1)], data: slice(o.data, row * inner, (row + n) * inner) });
      row += n;
    });
  }
  return out;
}
