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

/** One tuple's fields: raw bytes, null for SQL NULL. Copies nothing: fields are views of the input. */
export function parseCopyBinary(buf: Buffer): (Buffer | null)[][] {
  if (buf.length < 19 || !buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('not PostgreSQL binary COPY data');
  let pos = 15 + 4 + buf.readUInt32BE(15);
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    if (pos + 2 > buf.length) throw new Error('binary COPY data ends without its trailer');
    const n = buf.readInt16BE(pos);
    pos += 2;
    if (n === -1) return rows;
    const row: (Buffer | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (pos + 4 > buf.length) throw new Error('binary COPY data is truncated');
      const len = buf.readInt32BE(pos);
      pos += 4;
      if (len === -1) {
        row[i] = null;
        continue;
      }
      if (pos + len > buf.length) throw new Error('binary COPY data is truncated');
      row[i] = buf.subarray(pos, pos + len);
      pos += len;
    }
    rows.push(row);
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
