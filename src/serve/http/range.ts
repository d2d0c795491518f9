/** A byte range [start, end) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Optional whitespace (RFC 9110 section 5.6.3): spaces and tabs only. */
const trimOws = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * A `Range` header against a file of `size` bytes (RFC 9110 section 14):
 * the one byte range to send; 'unsatisfiable' (416) when it points past the
 * end; undefined to send the whole file: no header, another unit, a syntax
 * that is not the grammar, a last position before the first, or several
 * ranges (a server may ignore Range; Tessera sends no multipart answers).
 *
 * - The unit is case-insensitive; the range set is a list, so spaces and
 *   tabs around commas and empty elements are allowed (section 5.6.1).
 * - Positions are compared exactly (BigInt): a number past 2^53 is not
 *   rounded into another range.
 * - An empty file has no byte to point at: every range is 'unsatisfiable'
 *   (416, whose Content-Range gives the length 0). RFC 9110 counts a
 *   non-zero suffix range as satisfiable there, but no Content-Range can
 *   describe the empty part it would select; the 416 tells the client the
 *   length, which is what a suffix range asks.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const text = trimOws(header);
  const eq = text.indexOf('=');
  if (eq < 0 || text.slice(0, eq).toLowerCase() !== 'bytes') return undefined;
  const specs = text.slice(eq + 1).split(',').map(trimOws).filter((s) => s !== '');
  if (specs.length !== 1) return undefined;
  const m = /^([0-9]*)-([0-9]*)$/.exec(specs[0]!);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const total = BigInt(size);
  if (m[1] === '') {
    const suffix = BigInt(m[2]!);
    if (suffix === 0n || total === 0n) return 'unsatisfiable';
    return { start: Number(suffix < total ? total - suffix : 0n), end: size };
  }
  const first = BigInt(m[1]!);
  const last = m[2] === '' ? undefined : BigInt(m[2]!);
  if (last !== undefined && last < first) return undefined;
  if (first >= total) return 'unsatisfiable';
  return { start: Number(first), end: Number(last === undefined || last >= total ? total : last + 1n) };
}
