/**
 * Runs a candidate model (its ONNX bytes) on evaluation rows with
 * onnxruntime, in this process: a session per candidate, runs of at most
 * MAX_ROWS_PER_RUN rows (or one row at a time when the model's first
 * dimension is fixed), one output gathered as float values per row.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { BoundInput } from './eval-data.js';
import type { RowOutputs } from './metric.js';
import { invalid } from '../errors.js';
import { sessionOptions } from '../serve/runtime/session-options.js';

type Ort = typeof import('onnxruntime-node');

/** Rows per run: bounds the memory of one run's activations. */
export const MAX_ROWS_PER_RUN = 1024;
/** Rows per run when the caller may stop early: small enough to stop soon, big enough that a run's fixed cost stays small. */
export const EARLY_STOP_ROWS = 128;

/** The rows [from, to) of an input (views, no copy). */
function rowSlice(input: BoundInput, from: number, to: number): BoundInput {
  const rows = input.dims[0]!;
  const per = rows ? input.data.length / rows : 0;
  return { ...input, dims: [to - from, ...input.dims.slice(1)], data: input.data.subarray(from * per, to * per) as BoundInput['data'] };
}

function toFloats(data: Tensor['data']): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, (v) => Number(v));
  if (Array.isArray(data)) throw invalid('approx scores numeric outputs; this output holds strings');
  return Float32Array.from(data as ArrayLike<number>);
}

/** The runs' outputs as one array of `rows` rows. */
function gather(parts: Float32Array[], rows: number, width: number): RowOutputs {
  const w = Math.max(width, 0);
  const values = new Float32Array(rows * w);
  let at = 0;
  for (const p of parts) {
    values.set(p, at);
    at += p.length;
  }
  return { rows, width: w, values };
}

export class Evaluator {
  private constructor(private readonly ort: Ort) {}

  /** Loads onnxruntime (only the commands that evaluate pay for it). */
  static async create(): Promise<Evaluator> {
    return new Evaluator(await import('onnxruntime-node'));
  }

  /** A session of the model in `bytes`; `what` names it in errors. */
  async open(bytes: Uint8Array, what: string): Promise<InferenceSession> {
    try {
      // The server's options: among them, no external data read from disk (the model comes from the store's memory).
      return await this.ort.InferenceSession.create(bytes, sessionOptions());
    } catch (e) {
      throw invalid(`${what}: onnxruntime cannot load it (${(e as Error).message.split('\n')[0]})`);
    }
  }

  /**
   * `output` of the model for every row of `inputs`, in row order; or, when
   * `stop` says so after a run, for the rows so far only.
   */
  async outputs(session: InferenceSession, inputs: BoundInput[], output: string, rowByRow: boolean, stop?: (head: RowOutputs) => boolean): Promise<RowOutputs> {
    const rows = inputs[0]!.dims[0]!;
    const step = rowByRow ? 1 : stop ? EARLY_STOP_ROWS : MAX_ROWS_PER_RUN;
    const parts: Float32Array[] = [];
    let width = -1;
    let checked = 0;
    for (let from = 0; from < rows; from += step) {
      const to = Math.min(rows, from + step);
      const feeds: Record<string, Tensor> = {};
      for (const input of inputs) {
        const part = rowSlice(input, from, to);
        feeds[input.name] = new this.ort.Tensor(part.type as Tensor.Type, part.data as Tensor.DataType, part.dims);
      }
      let result: InferenceSession.ReturnType;
      try {
        result = await session.run(feeds, [output]);
      } catch (e) {
        throw invalid(`the evaluation data (rows ${from} to ${to - 1} of a split) does not run on the model: ${(e as Error).message.split('\n')[0]}`);
      }
      const t = result[output]!;
      const values = toFloats(t.data);
      const w = (to - from) ? values.length / (to - from) : 0;
      if (!Number.isInteger(w) || (width >= 0 && w !== width)) throw invalid(`output "${output}" has ${values.length} values for ${to - from} rows: its first dimension is not the rows`);
      width = w;
      parts.push(values);
      for (const v of Object.values(result)) v.dispose?.();
      // Checked every EARLY_STOP_ROWS rows at most: a check gathers and scores every row so far (row by row, it would cost quadratic time).
      if (stop && to < rows && to - checked >= EARLY_STOP_ROWS) {
        checked = to;
        const head = gather(parts, to, width);
        if (stop(head)) return head;
      }
    }
    return gather(parts, rows, width);
  }
}
