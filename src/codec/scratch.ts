/**
 * Reusable, 8-byte-aligned scratch memory.
 *
 * Encoding and decoding are synchronous and never re-entrant, so one buffer per
 * purpose (a "slot") can be reused for every chunk: no allocation and no GC
 * pressure in the hot path. Each slot's buffer owns its ArrayBuffer from offset
 * 0, so Uint16/32 views over it are always legal.
 *
 * A slot's contents are only valid until the next call that uses the same slot;
 * the module that owns a slot documents what it holds.
 */
import os from 'node:os';

// The plane and XOR loops read and write elements through Uint16/Uint32 views,
// which use host byte order, while tensor bytes are little-endian. All
// platforms Node supports in practice (x86-64, arm64) are little-endian; fail
// loudly rather than produce wrong bytes elsewhere.
if (os.endianness() !== 'LE') throw new Error('tessera codec requires a little-endian host');

export enum Slot {
  /** encode: the (aligned copy of the) raw chunk */
  Raw,
  /** encode: the base prediction residual (XOR or DELTA) */
  Residual,
  /** encode: the cast prediction residual */
  CastResidual,
  /** encode: byte planes of the input being compressed */
  Planes,
  /** encode: payload being assembled */
  Assembly,
  /** encode: best payload so far */
  Best,
  /** encode: the half-precision prediction cast from castSource; decode: castSource joined from its pieces */
  Cast,
  /** both: aligned copy of the base chunk */
  Base,
  /** decode: decompressed planes */
  DecodePlanes,
  /** decode: output, when the caller's buffer is unaligned */
  DecodeOut,
}

const slots: Uint8Array[] = [];

/** A view of `size` bytes of the slot's buffer (contents unspecified). */
export function scratch(slot: Slot, size: number): Uint8Array {
  let b = slots[slot];
  if (b === undefined || b.length < size) {
    // Grow geometrically so slowly increasing chunk sizes don't reallocate every time.
    b = new Uint8Array(new ArrayBuffer(Math.max(size, Math.ceil((b?.length ?? 0) * 1.5), 64)));
    slots[slot] = b;
  }
  return b.subarray(0, size);
}

/**
 * Drops all scratch memory (it grows to ~10x the largest chunk seen and is
 * otherwise kept for the life of the process / worker).
 */
export function releaseScratch(): void {
  slots.length = 0;
}

/** True when typed views of any element width up to 8 may be created over `b`. */
export function isAligned(b: Uint8Array): boolean {
  return (b.byteOffset & 7) === 0;
}

/** `b` itself when aligned, otherwise a copy in the slot's scratch buffer. */
export function alignedCopy(b: Uint8Array, slot: Slot): Uint8Array {
  if (isAligned(b)) return b;
  const s = scratch(slot, b.length);
  s.set(b);
  return s;
}
