/**
 * Sizes, percentages and short lists in words: the CLI prints them and the
 * dashboard shows them, so a number reads the same in both.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** "a, b, c and 3 more": the first `shown` of `total` items. */
export function listSome(items: string[], total = items.length, shown = 3): string {
  const head = items.slice(0, shown);
  const rest = total - head.length;
  return rest > 0 ? `${head.join(', ')} and ${rest} more` : head.join(', ');
}
