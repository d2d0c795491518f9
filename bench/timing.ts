import { performance } from 'node:perf_hooks';
import { median } from './units.js';

/** Seconds an async step takes, by the monotonic clock. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/** Repeated timings of one step: the median is what is reported, min and max show the spread. */
export interface Timing {
  runs: number[];
  median: number;
  min: number;
  max: number;
}

export function timing(runs: number[]): Timing {
  return { runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}
