/**
 * Arithmetic delta: each element's bit pattern, read as a little-endian
 * integer of the element width, minus the base element's, modulo 2^(8*width),
 * then zigzag-mapped (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...).
 *
 * Why in addition to XOR: for a weight that moved a little, the integer
 * difference of the two float bit patterns is the distance in ULPs, so its
 * magnitude (leading zeros) only depends on how far the value moved. XOR also
 * turns on every bit that a carry crossed (0x3c7fffff vs 0x3c800000 XORs to
 * 0x00ffffff, differs by 1), which costs bits in the middle planes. Measured on
 * the trained-digits fine-tunes: 1.5-2.5 points of raw size smaller than XOR
 * with the same byte planes (codecs.md).
 *
 * Elements are those wholly inside min(raw, base); bytes after them (a partial
 * element, or the part of raw the base doesn't cover) are kept as they are.
 */
import type { PlaneWidth } from './byteplanes.js';

/** Number of elements the delta covers. */
export function deltaElements(rawLen: number, baseLen: number, width: PlaneWidth): number {
  return Math.floor(Math.min(rawLen, baseLen) / width);
}

/**
 * dst = zigzag(raw - base) per element for the first `n` elements, raw for the
 * bytes after. All three aligned (scratch.ts); dst has raw.length bytes.
 * Returns whether dst has any nonzero byte.
 */
export function deltaEncode(dst: Uint8Array, raw: Uint8Array, base: Uint8Array, n: number, width: PlaneWidth): boolean {
  let acc = 0;
  switch (width) {
    case 4: {
      const a = new Int32Array(raw.buffer, raw.byteOffset, n);
      const b = new Int32Array(base.buffer, base.byteOffset, n);
      const d = new Int32Array(dst.buffer, dst.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const x = (a[i]! - b[i]!) | 0;
        acc |= x;
        d[i] = (x << 1) ^ (x >> 31);
      }
      break;
    }
    case 2: {
      // Two 16-bit lanes per 32-bit word (SWAR), half the loop iterations of
      // a Uint16Array loop. Lane-wise a - b: borrows are kept out of the top
      // bit of each lane and that bit is fixed up by XOR.
      const words = n >>> 1;
      const a = new Int32Array(raw.buffer, raw.byteOffset, words);
      const b = new Int32Array(base.buffer, base.byteOffset, words);
      const d = new Int32Array(dst.buffer, dst.byteOffset, words);
      for (let i = 0; i < words; i++) {
        const x = a[i]!, y = b[i]!;
        const diff = ((x | 0x80008000) - (y & 0x7fff7fff)) ^ ((x ^ ~y) & 0x80008000);
        acc |= diff;
        // zigzag per lane: (v << 1) ^ (v >> 15), the sign spread over 16 bits
        d[i] = ((diff << 1) & 0xfffefffe) ^ Math.imul((diff >>> 15) & 0x00010001, 0xffff);
      }
      if (n & 1) {
        const i = n - 1;
        const x = (((raw[2 * i]! | (raw[2 * i + 1]! << 8)) - (base[2 * i]! | (base[2 * i + 1]! << 8))) << 16) >> 16;
        acc |= x;
        const z = (x << 1) ^ (x >> 15);
        dst[2 * i] = z;
        dst[2 * i + 1] = z >>> 8;
      }
      break;
    }
    case 8: {
      // 64-bit arithmetic on (lo, hi) word pairs; BigInt would be ~50x slower.
      const a = new Int32Array(raw.buffer, raw.byteOffset, 2 * n);
      const b = new Int32Array(base.buffer, base.byteOffset, 2 * n);
      const d = new Int32Array(dst.buffer, dst.byteOffset, 2 * n);
      for (let i = 0; i < 2 * n; i += 2) {
        const alo = a[i]! >>> 0, blo = b[i]! >>> 0;
        const lo = (alo - blo) >>> 0;
        const hi = (a[i + 1]! - b[i + 1]! - (alo < blo ? 1 : 0)) | 0;
        const sign = hi >> 31;
        acc |= lo | hi;
        d[i] = (lo << 1) ^ sign;
        d[i + 1] = ((hi << 1) | (lo >>> 31)) ^ sign;
      }
      break;
    }
  }
  const rest = raw.subarray(n * width);
  dst.set(rest, n * width);
  return acc !== 0 || rest.some((x) => x !== 0);
}

/** In place: buf = base + unzigzag(buf) for the first `n` elements. Both aligned. */
export function deltaDecodeInPlace(buf: Uint8Array, base: Uint8Array, n: number, width: PlaneWidth): void {
  switch (width) {
    case 4: {
      const d = new Int32Array(buf.buffer, buf.byteOffset, n);
      const b = new Int32Array(base.buffer, base.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const z = d[i]!;
        d[i] = (b[i]! + ((z >>> 1) ^ -(z & 1))) | 0;
      }
      return;
    }
    case 2: {
      // SWAR as in deltaEncode: unzigzag per lane, then a lane-wise add that
      // keeps carries out of the top bit of each lane.
      const words = n >>> 1;
      const d = new Int32Array(buf.buffer, buf.byteOffset, words);
      const b = new Int32Array(base.buffer, base.byteOffset, words);
      for (let i = 0; i < words; i++) {
        const z = d[i]!;
        const v = ((z >>> 1) & 0x7fff7fff) ^ Math.imul(z & 0x00010001, 0xffff);
        const y = b[i]!;
        d[i] = ((y & 0x7fff7fff) + (v & 0x7fff7fff)) ^ ((y ^ v) & 0x80008000);
      }
      if (n & 1) {
        const i = n - 1;
        const z = buf[2 * i]! | (buf[2 * i + 1]! << 8);
        const r = (base[2 * i]! | (base[2 * i + 1]! << 8)) + ((z >>> 1) ^ -(z & 1));
        buf[2 * i] = r;
        buf[2 * i + 1] = r >>> 8;
      }
      return;
    }
    case 8: {
      const d = new Int32Array(buf.buffer, buf.byteOffset, 2 * n);
      const b = new Int32Array(base.buffer, base.byteOffset, 2 * n);
      for (let i = 0; i < 2 * n; i += 2) {
        const zlo = d[i]!, zhi = d[i + 1]!;
        const sign = -(zlo & 1);
        const lo = (((zlo >>> 1) | (zhi << 31)) ^ sign) >>> 0;
        const hi = ((zhi >>> 1) ^ sign) | 0;
        const blo = b[i]! >>> 0;
        const rlo = (blo + lo) >>> 0;
        d[i] = rlo;
        d[i + 1] = (b[i + 1]! + hi + (rlo < blo ? 1 : 0)) | 0;
      }
      return;
    }
  }
}
