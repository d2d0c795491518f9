/**
 * Version order for the package-version corpus: semantic versioning
 * (semver.org, section 11), so 0.0.9 < 0.0.19 < 0.1.0-alpha < 0.1.0 < 1.10.0.
 * Folder names that are not versions sort after every version, by name.
 */

interface Parsed {
  core: [number, number, number];
  pre: (number | string)[];
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function parseSemver(s: string): Parsed | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  const pre = m[4] === undefined ? [] : m[4].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre };
}

function comparePre(a: (number | string)[], b: (number | string)[]): number {
  // A version without a pre-release is greater than one with.
  if (a.length === 0 || b.length === 0) return (a.length === 0 ? 1 : 0) - (b.length === 0 ? 1 : 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    // Numeric identifiers are lower than alphanumeric ones.
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Sort comparator: versions in semver order (build metadata ignored, then by text), then other names by text. */
export function compareVersions(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  const byText = a < b ? -1 : a > b ? 1 : 0;
  if (!pa || !pb) return pa ? -1 : pb ? 1 : byText;
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i]! - pb.core[i]!;
  return comparePre(pa.pre, pb.pre) || byText;
}
