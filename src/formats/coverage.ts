import { FormatError } from './errors.js';
import type { Segment, TensorSegment } from './segment.js';

/**
 * Asserts the invariant every reader promises: segments sorted, contiguous,
 * non-empty, covering [0, size) exactly. O(n) with no allocation, so readers
 * call it on every read. A failure is a reader bug, not bad input, hence a
 * plain Error rather than a FormatError.
 */
export function validateCoverage(segs: readonly Segment[], size: number, name = '<file>'): void {
  let pos = 0;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.offset !== pos || !Number.isSafeInteger(s.length) || s.length <= 0) {
      throw new Error(`${name}: internal error: segment ${i} (${s.kind}, offset ${s.offset}, length ${s.length}) does not continue at offset ${pos}`);
    }
    pos += s.length;
  }
  if (pos !== size) throw new Error(`${name}: internal error: segments cover ${pos} bytes of ${size}`);
}

/**
 * Lays tensors over [0, size): sorts them by offset, rejects any that run
 * past `size` or overlap another, drops empty ones (a zero-length segment
 * would be a chunk boundary with nothing in it), and fills everything else
 * with literal segments. Adjacent literal bytes (a header followed by
 * padding) become one literal segment: a boundary between them would only cut
 * content-defined chunking short without helping deduplication.
 */
export function layoutSegments(file: string, size: number, tensors: readonly TensorSegment[]): Segment[] {
  const sorted = tensors.filter((t) => t.length > 0).sort((a, b) => a.offset - b.offset);
  const out: Segment[] = [];
  let pos = 0;
  let prev: TensorSegment | undefined;
  for (const t of sorted) {
    if (t.offset < 0 || t.offset + t.length > size) {
      throw new FormatError(file, `tensor '${t.name}' (bytes ${t.offset}..${t.offset + t.length}) lies outside the file (${size} bytes)`);
    }
    if (t.offset < pos) {
      throw new FormatError(file, `tensor '${t.name}' (bytes ${t.offset}..${t.offset + t.length}) overlaps tensor '${prev!.name}' (bytes ${prev!.offset}..${prev!.offset + prev!.length})`);
    }
    if (t.offset > pos) out.push({ kind: 'literal', offset: pos, length: t.offset - pos });
    out.push(t);
    pos = t.offset + t.length;
    prev = t;
  }
  if (pos < size) out.push({ kind: 'literal', offset: pos, length: size - pos });
  validateCoverage(out, size, file);
  return out;
}

/**
 * Product of dimensions, or undefined when it exceeds 2^53 - 1. Float
 * multiplication is exact while the true product stays below 2^53 and rounds
 * to at least 2^53 once it does not, so the check is sound.
 */
export function elementCount(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n;
}
