/**
 * Number formatting for the benchmark tables. Throughput is in MB/s with
 * MB = 1e6 bytes (the unit disk and network vendors quote); sizes of data are
 * printed in MB too so that a size and a rate read the same way. Chunk sizes
 * are powers of two, so they are printed in KiB/MiB as they are passed.
 */

export const MB = 1e6;

/** Median of the samples (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The q-quantile (0 to 1) of samples sorted in ascending order: the sample at floor(q × n), the last for q = 1. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function mbps(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / MB / seconds : Infinity;
}

/** "80.85 MB": two decimals is the precision the release notes need. */
export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(bytes >= 100 * MB ? 1 : 2)} MB`;
}

export function rate(mbPerS: number): string {
  if (!Number.isFinite(mbPerS)) return 'n/a';
  return mbPerS >= 100 ? mbPerS.toFixed(0) : mbPerS.toFixed(1);
}

export function secs(s: number): string {
  return s >= 10 ? s.toFixed(1) : s.toFixed(2);
}

export function pct(part: number, whole: number): string {
  return whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** Thousands separators, for exact byte and chunk counts. */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 65536 -> "64 KiB", 1048576 -> "1 MiB". */
export function binSize(n: number): string {
  for (const [unit, f] of [['GiB', 1 << 30], ['MiB', 1 << 20], ['KiB', 1 << 10]] as const) {
    if (n >= f) return `${Number((n / f).toFixed(2))} ${unit}`;
  }
  return `${n} B`;
}
