/**
 * How a model's outputs on the evaluation rows are scored (approx.md,
 * "Metric"): accuracy against labels, agreement with the original model's
 * top-1 answer, or the mean relative error of the outputs against the
 * original's (regression outputs). A drop is always "how much worse".
 */
import type { LossyMetric } from '../wire/lossy.js';

/** A model output for every evaluation row: `width` values per row. */
export interface RowOutputs {
  rows: number;
  width: number;
  values: Float32Array;
}

/** The index of each row's largest value (the first on ties). */
export function topOne(out: RowOutputs): Int32Array {
  const top = new Int32Array(out.rows);
  for (let r = 0; r < out.rows; r++) {
    const at = r * out.width;
    let best = 0;
    for (let j = 1; j < out.width; j++) if (out.values[at + j]! > out.values[at + best]!) best = j;
    top[r] = best;
  }
  return top;
}

/** Fraction of rows where `a` and `b` agree. */
export function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}

/** Mean over rows of ‖out − ref‖ / ‖ref‖ (a row whose reference is all zeros counts ‖out‖). */
export function relativeError(out: RowOutputs, ref: RowOutputs): number {
  let sum = 0;
  for (let r = 0; r < out.rows; r++) {
    let e = 0;
    let n = 0;
    for (let j = r * out.width; j < (r + 1) * out.width; j++) {
      const d = out.values[j]! - ref.values[j]!;
      e += d * d;
      n += ref.values[j]! * ref.values[j]!;
    }
    sum += n > 0 ? Math.sqrt(e / n) : Math.sqrt(e);
  }
  return out.rows ? sum / out.rows : 0;
}

/** Scores outputs of one split against what the metric compares them with. */
export interface Scorer {
  readonly metric: LossyMetric;
  score(out: RowOutputs): number;
  /**
   * The best score the whole split can still reach, given the outputs of
   * its first `head.rows` rows: the rest all right (accuracy, agreement) or
   * all exact (relative error). A candidate whose best is already over the
   * bound is rejected without running the other rows.
   */
  best(head: RowOutputs, rows: number): number;
}

/**
 * The scorer for one split: `labels` given → accuracy; else the original's
 * outputs `ref` on the same rows → agreement (width > 1) or relative error.
 */
export function scorer(metric: LossyMetric, ref: RowOutputs, labels?: Int32Array): Scorer {
  if (metric === 'relative-error') {
    return { metric, score: (out) => relativeError(out, ref), best: (head, rows) => (relativeError(head, ref) * head.rows) / rows };
  }
  if (metric === 'accuracy' && !labels) throw new Error('accuracy needs labels');
  const want = metric === 'accuracy' ? labels! : topOne(ref);
  return {
    metric,
    score: (out) => agreement(topOne(out), want),
    best: (head, rows) => (agreement(topOne(head), want.subarray(0, head.rows)) * head.rows + rows - head.rows) / rows,
  };
}

/** How much worse `after` is than `before` under `metric`. */
export function dropOf(metric: LossyMetric, before: number, after: number): number {
  return metric === 'relative-error' ? after - before : before - after;
}
