/**
 * The gear table of Tessera's FastCDC: 256 pseudo-random 32-bit values, one
 * per byte value. Chunk boundaries (and therefore every chunk id in every
 * store) depend on these numbers, so they must never change. Instead of a
 * 256-entry literal we derive them from SHA-256, which any language can
 * reproduce exactly:
 *
 *   GEAR[i] = first 4 bytes, read little-endian, of SHA-256(UTF-8 "tessera/fastcdc/gear/v1/" + decimal i)
 *
 * (e.g. GEAR[0] hashes the 25-byte string "tessera/fastcdc/gear/v1/0").
 * The values are stored as signed int32 (same bit pattern) because V8 keeps
 * int32 values unboxed in the hot loop, while uint32 values above 2^31 would
 * turn into heap numbers / doubles.
 */
import { createHash } from 'node:crypto';

/** The seed prefix of the gear table. Part of the on-disk format: never edit. */
export const GEAR_SEED = 'tessera/fastcdc/gear/v1/';

function deriveGearTable(): Int32Array {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const digest = createHash('sha256').update(GEAR_SEED + String(i), 'utf8').digest();
    table[i] = digest.readInt32LE(0);
  }
  return table;
}

/** GEAR[b] for byte value b, as int32 bit patterns. Treat as read-only. */
export const GEAR: Int32Array = deriveGearTable();
