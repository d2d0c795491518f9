import { InvalidArgumentError } from 'commander';

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
