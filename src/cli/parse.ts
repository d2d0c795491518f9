import { InvalidArgumentError } from 'commander';
import type { VersionPolicy } from '../wire/serving-config.js';

export function parsePositiveInt(v: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return Number(v);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1 << 20, mb: 1e6, mib: 1 << 20, g: 1 << 30, gb: 1e9, gib: 1 << 30 };

/** "65536", "64KiB", "64k", "4GiB", "1.5GB". */
export function parseSize(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`expected a size such as 65536, 64KiB or 4GiB, got "${v}"`);
  return Math.round(Number(m[1]) * unit);
}

export function parsePort(v: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${v}"`);
  return Number(v);
}

/** A repeatable option's values. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseNonNegativeInt(v: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(v)) throw new InvalidArgumentError(`expected 0 or a positive integer, got "${v}"`);
  return Number(v);
}

/** "8,16" (empty: none). */
export function parseBatchList(v: string): number[] {
  if (v.trim() === '') return [];
  return v.split(',').map((x) => {
    if (!/^\s*[1-9][0-9]{0,8}\s*$/.test(x)) throw new InvalidArgumentError(`expected batch sizes such as 8,16, got "${v}"`);
    return Number(x);
  });
}

/** "0", "500us", "2ms", "0.5s": microseconds. */
export function parseDelay(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(us|µs|ms|s)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a delay such as 500us, 2ms or 0.1s, got "${v}"`);
  const scale = m[2] === 's' ? 1e6 : m[2] === 'ms' ? 1e3 : m[2] === undefined && Number(m[1]) !== 0 ? Number.NaN : 1;
  if (Number.isNaN(scale)) throw new InvalidArgumentError(`give the delay's unit (us, ms or s), got "${v}"`);
  return Math.round(Number(m[1]) * scale);
}

/** "all", "latest:2", "specific:1,3". */
export function parsePolicy(v: string): VersionPolicy {
  const t = v.trim();
  if (t === 'all') return { all: true };
  const latest = /^latest(?::([1-9][0-9]{0,3}))?$/.exec(t);
  if (latest) return { latest: Number(latest[1] ?? 1) };
  const specific = /^specific:([1-9][0-9]{0,8}(?:,[1-9][0-9]{0,8})*)$/.exec(t);
  if (specific) return { specific: specific[1]!.split(',').map(Number) };
  throw new InvalidArgumentError(`expected all, latest[:N] or specific:V1,V2…, got "${v}"`);
}


/** "1%", "0.5%", "0.01": a fraction below 1 (a bare number of 1 or more is refused: "1" could mean 1% or 100%). */
export function parseFraction(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(%)?$/.exec(v.trim());
  const x = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  if (!m || !(x < 1)) throw new InvalidArgumentError(`expected a percentage such as 1% or a fraction below 1 such as 0.01, got "${v}"`);
  return x;
}
