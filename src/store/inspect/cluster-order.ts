/**
 * An order of items in which similar ones sit together: average-linkage
 * agglomerative clustering, reading the leaves of the tree left to right.
 * Used to lay out the sharing heatmap so a family of models (a base, its
 * fine-tunes, its exports to other formats) forms one block.
 *
 * `similarity[i][j]` is symmetric, higher is closer. Ties break on `labels`,
 * so the same store always gives the same order. O(n³) over n items, meant
 * for the few hundred models a page can show.
 */
export function clusterOrder(similarity: number[][], labels: string[]): number[] {
  const n = labels.length;
  if (n === 0) return [];
  // Each cluster: its leaves in order, and its first label (for tie-breaks).
  let clusters = [...labels.keys()].map((i) => ({ leaves: [i], key: labels[i]! }));
  clusters.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const avg = (a: number[], b: number[]): number => {
    let s = 0;
    for (const i of a) for (const j of b) s += similarity[i]![j]!;
    return s / (a.length * b.length);
  };
  while (clusters.length > 1) {
    let best = { a: 0, b: 1, s: -Infinity };
    for (let a = 0; a < clusters.length; a++) {
      for (let b = a + 1; b < clusters.length; b++) {
        const s = avg(clusters[a]!.leaves, clusters[b]!.leaves);
        if (s > best.s) best = { a, b, s };
      }
    }
    const A = clusters[best.a]!;
    const B = clusters[best.b]!;
    // Join the ends that are most alike, so neighbours across the seam are close too.
    const ends = (x: number[]): [number, number] => [x[0]!, x[x.length - 1]!];
    const [a0, a1] = ends(A.leaves);
    const [b0, b1] = ends(B.leaves);
    const options: [number[], number][] = [
      [[...A.leaves, ...B.leaves], similarity[a1]![b0]!],
      [[...A.leaves, ...[...B.leaves].reverse()], similarity[a1]![b1]!],
      [[...[...A.leaves].reverse(), ...B.leaves], similarity[a0]![b0]!],
    ];
    let leaves = options[0]![0];
    let bestSeam = options[0]![1];
    for (const [l, s] of options.slice(1)) if (s > bestSeam) [leaves, bestSeam] = [l, s];
    clusters = clusters.filter((_, i) => i !== best.a && i !== best.b);
    clusters.splice(best.a, 0, { leaves, key: A.key < B.key ? A.key : B.key });
  }
  return clusters[0]!.leaves;
}
