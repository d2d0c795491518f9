/**
 * A reader of PostgreSQL's binary COPY format (`COPY … TO STDOUT (FORMAT
 * binary)`), for bulk chunk reads: payloads arrive as raw bytes, where a
 * text-mode query would send bytea as hex (twice the bytes, and a decode).
 * pg@8's own `binary: true` mode is no way round that: it turns every field
 * into a UTF-8 string first, which corrupts bytea.
 *
 * Format: an 11-byte signature, int32 flags, int32 header-extension length
 * and the extension; then tuples, each an int16 field count and per field an
 * int32 length (-1 for NULL) and that many bytes; then an int16 -1 trailer.
 * Integers are big-endian.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * One tuple's fields: raw bytes, null for SQL NULL. The input may come in
 * pieces (the CopyData messages, one per row as PostgreSQL sends them):
 * a field inside one piece is a view of it, and only one that spans pieces
 * is copied, so a bulk read copies its payloads once (out of pg's buffer),
 * not again into one concatenated buffer.
 */
export function parseCopyBinary(input: Buffer | readonly Buffer[]): (Buffer | null)[][] {
  const c = new Cursor(Buffer.isBuffer(input) ? [input] : input);
  if (c.remaining() < 19 || !c.take(11).equals(SIGNATURE)) throw new Error('not PostgreSQL binary COPY data');
  c.take(4); // flags
  const ext = c.take(4).readUInt32BE(0);
  if (ext > c.remaining()) throw new Error('binary COPY data is truncated');
  c.take(ext);
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    if (c.remaining() < 2) throw new Error('binary COPY data ends without its trailer');
    const n = c.take(2).readInt16BE(0);
    if (n === -1) return rows;
    const row: (Buffer | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (c.remaining() < 4) throw new Error('binary COPY data is truncated');
      const len = c.take(4).readInt32BE(0);
      if (len === -1) {
        row[i] = null;
        continue;
      }
      if (len < -1 || len > c.remaining()) throw new Error('binary COPY data is truncated');
      row[i] = c.take(len);
    }
    rows.push(row);
  }
}

/** Reads through a list of buffers as if they were one. */
class Cursor {
  private i = 0;
  private pos = 0;
  private left: number;

  constructor(private readonly parts: readonly Buffer[]) {
    this.left = parts.reduce((n, p) => n + p.length, 0);
  }

  remaining(): number {
    return this.left;
  }

  /** The next n bytes (n <= remaining()): a view when they lie in one piece, else a copy. */
  take(n: number): Buffer {
    while (this.i < this.parts.length && this.pos === this.parts[this.i]!.length) {
      this.i++;
      this.pos = 0;
    }
    this.left -= n;
    const p = this.parts[this.i];
    if (p && this.pos + n <= p.length) {
      const view = p.subarray(this.pos, this.pos + n);
      this.pos += n;
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    for (let got = 0; got < n;) {
      const q = this.parts[this.i]!;
      const k = Math.min(n - got, q.length - this.pos);
      q.copy(out, got, this.pos, this.pos + k);
      got += k;
      this.pos += k;
      if (this.pos === q.length) {
        this.i++;
        this.pos = 0;
      }
    }
    return out;
  }
}

/** A binary int8 (bigint) field as a JS number (ids and sizes fit in 2^53). */
export function int8(b: Buffer | null): number {
  if (!b || b.length !== 8) throw new Error('expected a bigint field');
  const v = b.readBigInt64BE(0);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`bigint ${v} exceeds 2^53`);
  return Number(v);
}

/** A binary int4 (integer) field. */
export function int4(b: Buffer | null): number {
  if (!b || b.length !== 4) throw new Error('expected an integer field');
  return b.readInt32BE(0);
}
