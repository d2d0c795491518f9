/**
 * An order-independent fingerprint of a float chunk's values, so that a
 * tensor's fingerprint is the lane-wise sum of its chunks' and does not
 * change when its axes are permuted: how an import finds a stored tensor
 * that holds the same values in another layout (PERMUTE, codecs.md). Four
 * u32 lanes, little-endian, each summed mod 2^32 over the elements x (their
 * bit patterns as u32 or u16): 1, x, x·x, and (x XOR x >>> 15)·0x2c1b3c6d.
 * Equal fingerprints only nominate a candidate: the importer checks every
 * byte (by chunk hash) before it stores anything as a permutation.
 */
import { nativePlanes } from './native.js';
import { alignedCopy, Slot } from './scratch.js';

export const FINGERPRINT_BYTES = 16;

const WIDTH: Readonly<Record<string, 2 | 4>> = { F32: 4, F16: 2, BF16: 2 };

/** Bytes per value of a dtype that gets fingerprints (F32, F16, BF16), else undefined. */
export function fingerprintWidth(dtype: string | null | undefined): 2 | 4 | undefined {
  return dtype === null || dtype === undefined ? undefined : WIDTH[dtype];
}

/** The fingerprint of a chunk of F32/F16/BF16 values, or undefined for other dtypes (and partial elements). */
export function valueFingerprint(raw: Uint8Array, dtype: string | undefined): Buffer | undefined {
  const w = fingerprintWidth(dtype);
  if (w === undefined || raw.length === 0 || raw.length % w !== 0) return undefined;
  const n = raw.length / w;
  let s1: number;
  let s2: number;
  let s3: number;
  if (nativePlanes) {
    // native/fingerprint.c: the same sums, vectorised (any alignment).
    nativePlanes.fingerprint(raw, w, lanesOut);
    [s1, s2, s3] = lanesOut;
  } else {
    // An unaligned chunk is copied into the encoder's raw scratch (the encoder makes the same copy after this).
    const bytes = raw.byteOffset % w === 0 ? raw : alignedCopy(raw, Slot.Raw);
    [s1, s2, s3] = w === 4 ? sums32(new Uint32Array(bytes.buffer, bytes.byteOffset, n)) : sums16(new Uint16Array(bytes.buffer, bytes.byteOffset, n));
  }
  const out = Buffer.alloc(FINGERPRINT_BYTES);
  out.writeUInt32LE(n >>> 0, 0);
  out.writeUInt32LE(s1! >>> 0, 4);
  out.writeUInt32LE(s2! >>> 0, 8);
  out.writeUInt32LE(s3! >>> 0, 12);
  return out;
}

const lanesOut = new Uint32Array(3);

/** The JS loops, one per array type (a loop over a union of array types runs several times slower): about 1 ns a value. */
function sums32(v: Uint32Array): [number, number, number] {
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    s1 = (s1 + x) | 0;
    s2 = (s2 + Math.imul(x, x)) | 0;
    s3 = (s3 + Math.imul(x ^ (x >>> 15), 0x2c1b3c6d)) | 0;
  }
  return [s1, s2, s3];
}

function sums16(v: Uint16Array): [number, number, number] {
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    s1 = (s1 + x) | 0;
    s2 = (s2 + Math.imul(x, x)) | 0;
    s3 = (s3 + Math.imul(x ^ (x >>> 15), 0x2c1b3c6d)) | 0;
  }
  return [s1, s2, s3];
}

/** Adds fingerprint `b` into `acc`, lane by lane, mod 2^32. */
export function addFingerprint(acc: Buffer, b: Uint8Array): void {
  for (let i = 0; i < FINGERPRINT_BYTES; i += 4) {
    const x = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    acc.writeUInt32LE((acc.readUInt32LE(i) + x) >>> 0, i);
  }
}
