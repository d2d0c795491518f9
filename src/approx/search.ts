/**
 * The greedy replacement search (approx.md, "Search"): try every candidate
 * at once; if that crosses the bound, take them in priority order, a batch at a time; evaluate the model with everything
 * accepted so far plus the batch; keep the batch when the drop stays within
 * the bound, else back it off and try half of it. A single candidate that
 * crosses the bound is skipped. Batches grow after a success, so a model
 * that tolerates every replacement costs a few evaluations, not one each;
 * a run of `patience` rejected evaluations ends the search.
 */

export interface SearchOptions {
  /** The largest drop accepted. */
  maxDrop: number;
  /** Evaluations allowed (each one a model session and a run over the search rows). */
  maxEvaluations: number;
  /**
   * Consecutive evaluations over the bound (of any batch size) after which
   * the search stops: later candidates rank lower, and a model that rejects
   * batch after batch would otherwise spend an evaluation on each.
   */
  patience: number;
  /** The first batch's size (default: an eighth of the candidates). */
  firstBatch?: number;
}

export interface SearchResult {
  /** Accepted batches of candidate indexes (into the priority order), in the order they were accepted. */
  batches: number[][];
  /** The drop measured with every accepted batch in place (0 when none was). */
  drop: number;
  evaluations: number;
  /** Why the search ended. */
  ended: 'all tried' | 'evaluation budget' | 'patience';
}

/**
 * `evaluate(set)` measures the drop with the candidates `set` (indexes into
 * 0..n-1, in priority order) replaced; it is called at most maxEvaluations times.
 */
export async function greedySearch(n: number, evaluate: (set: number[]) => Promise<number>, opts: SearchOptions): Promise<SearchResult> {
  const batches: number[][] = [];
  const accepted: number[] = [];
  const maxBatch = Math.max(1, Math.ceil(n / 2));
  let size = Math.max(1, Math.min(maxBatch, opts.firstBatch ?? Math.ceil(n / 8)));
  let drop = 0;
  let evaluations = 0;
  // Everything at once first: a model that tolerates every replacement (a fine-tune close to its
  // base) costs one evaluation; one that does not is usually far over the bound, which early
  // rejection sees within the first rows.
  if (n > 1 && opts.maxEvaluations > 0) {
    const all = Array.from({ length: n }, (_, k) => k);
    const d = await evaluate(all);
    evaluations++;
    if (d <= opts.maxDrop) return { batches: [all], drop: d, evaluations, ended: 'all tried' };
  }
  let failures = 0;
  let i = 0;
  while (i < n) {
    if (evaluations >= opts.maxEvaluations) return { batches, drop, evaluations, ended: 'evaluation budget' };
    if (failures >= opts.patience) return { batches, drop, evaluations, ended: 'patience' };
    const batch: number[] = [];
    for (let k = i; k < Math.min(n, i + size); k++) batch.push(k);
    const d = await evaluate([...accepted, ...batch]);
    evaluations++;
    if (d <= opts.maxDrop) {
      batches.push(batch);
      accepted.push(...batch);
      drop = d;
      i += batch.length;
      failures = 0;
      size = Math.min(maxBatch, size * 2);
    } else {
      failures++;
      if (batch.length === 1) i++;
      else size = Math.ceil(batch.length / 2);
    }
  }
  return { batches, drop, evaluations, ended: 'all tried' };
}
