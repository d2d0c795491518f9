/**
 * Byte planes: regroup a chunk of fixed-width elements by byte position, so
 * that bytes with the same statistics (the exponent byte of every float, the
 * random low mantissa bytes, ...) form one stream each and can be entropy-coded
 * (or stored) separately.
 *
 * Optional bit transform before the split, chosen per dtype:
 *   ROTL1: rotate every element (a little-endian integer of `width` bytes) left
 *   by one bit. For F32 and BF16 this moves the sign to bit 0 and puts the whole
 *   8-bit exponent into the top byte; without it the exponent's lowest bit sits
 *   in the next byte, among random mantissa bits, where zstd codes it as a full
 *   random bit instead of by its (skewed) conditional distribution. Measured on
 *   N(0,0.02): F32 83.98% -> 83.68%, BF16 67.92% -> 67.37% (codecs.md).
 *   F16 (exponent bits 14..10) and F64 (bits 62..52, the varying low bits all in
 *   byte 6) already keep their informative exponent bits within one byte.
 *
 * Layouts are exact inverses. The loops run natively (native/planes.c, on
 * any alignment, 5-10x the JS speed) when the addon is built; the JS loops
 * here are the fallback and the reference the tests hold the native ones to.
 * They work on 32-bit words (see scratch.ts about alignment) because
 * byte-at-a-time JS loops are several times slower.
 */
import { CodecError } from './errors.js';
import { nativePlanes } from './native.js';
import { scratch, Slot } from './scratch.js';
import { zstdBound, zstdCompressInto, zstdDecompressInto } from './zstd.js';

export type PlaneWidth = 2 | 4 | 8;

export enum PlaneTransform {
  None = 0,
  /** rotate each element left by 1 bit (width 2 and 4 only) */
  Rotl1 = 1,
}

export interface PlaneLayout {
  readonly width: PlaneWidth;
  readonly transform: PlaneTransform;
}

/** Header bytes before the first plane size: layout byte + plane mask byte. */
export const PLANES_FIXED_HEADER = 2;

const log2Width: Record<PlaneWidth, number> = { 2: 1, 4: 2, 8: 3 };

export function layoutByte(l: PlaneLayout): number {
  return (l.transform << 4) | log2Width[l.width];
}

export function parseLayoutByte(b: number): PlaneLayout {
  const lw = b & 0x0f;
  const t = b >> 4;
  if (lw < 1 || lw > 3) throw new CodecError(`planes: bad width code ${lw}`);
  const width = (1 << lw) as PlaneWidth;
  if (t === PlaneTransform.None) return { width, transform: t };
  if (t === PlaneTransform.Rotl1 && width !== 8) return { width, transform: t };
  throw new CodecError(`planes: bad transform ${t} for width ${width}`);
}

/** Distance between plane starts in scratch: n rounded up to whole 32-bit words. */
export function planeStride(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes plane k of the first `n` elements of `src` to
 * `planes[k*stride, k*stride + n)`. `src` and `planes` must be aligned
 * (scratch.ts), `stride` a multiple of 4 and >= n.
 */
export function splitPlanes(src: Uint8Array, n: number, layout: PlaneLayout, planes: Uint8Array, stride: number): void {
  if (nativePlanes) nativePlanes.split(src, n, layout.width, layout.transform === PlaneTransform.Rotl1, planes, stride);
  else splitPlanesJs(src, n, layout, planes, stride);
}

/**
 * Inverse of splitPlanes: reads plane k from `planes[k*stride, k*stride + n)`
 * (aligned) and writes n*width bytes to `dst` (aligned unless the native
 * loops run: see mergeNeedsAlignment).
 */
export function mergePlanes(planes: Uint8Array, stride: number, n: number, layout: PlaneLayout, dst: Uint8Array): void {
  if (nativePlanes) nativePlanes.merge(planes, stride, n, layout.width, layout.transform === PlaneTransform.Rotl1, dst);
  else mergePlanesJs(planes, stride, n, layout, dst);
}

/** Whether mergePlanes (and so decodePlanes) needs an aligned `dst`: only the JS loops do. */
export const mergeNeedsAlignment = nativePlanes === undefined;

/**
 * splitPlanes in JS.
 *
 * The loops transpose 4 elements at a time (4x4 bytes for width 4) so that every
 * load and store is a 32-bit word: about 3x faster than byte stores in V8. Int32
 * rather than Uint32 views: values above 2^31 from a Uint32Array leave V8's
 * int32 fast path.
 */
export function splitPlanesJs(src: Uint8Array, n: number, layout: PlaneLayout, planes: Uint8Array, stride: number): void {
  const rot = layout.transform === PlaneTransform.Rotl1;
  const q = n >>> 2; // whole blocks of 4 elements
  const ws = stride >>> 2; // words per plane
  const d = new Int32Array(planes.buffer, planes.byteOffset, layout.width * ws);
  switch (layout.width) {
    case 4: {
      const s = new Int32Array(src.buffer, src.byteOffset, n);
      for (let j = 0, i = 0; j < q; j++, i += 4) {
        let a = s[i]!, b = s[i + 1]!, c = s[i + 2]!, e = s[i + 3]!;
        if (rot) {
          a = (a << 1) | (a >>> 31);
          b = (b << 1) | (b >>> 31);
          c = (c << 1) | (c >>> 31);
          e = (e << 1) | (e >>> 31);
        }
        d[j] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (e << 24);
        d[ws + j] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((e & 0xff00) << 16);
        d[2 * ws + j] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((e & 0xff0000) << 8);
        d[3 * ws + j] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (e & 0xff000000);
      }
      for (let i = 4 * q; i < n; i++) {
        let v = s[i]!;
        if (rot) v = (v << 1) | (v >>> 31);
        planes[i] = v;
        planes[stride + i] = v >>> 8;
        planes[2 * stride + i] = v >>> 16;
        planes[3 * stride + i] = v >>> 24;
      }
      return;
    }
    case 2: {
      // A block of 4 elements is 2 source words and 1 word of each plane.
      const s = new Int32Array(src.buffer, src.byteOffset, n >>> 1);
      for (let j = 0; j < q; j++) {
        let a = s[2 * j]!, b = s[2 * j + 1]!;
        if (rot) {
          a = ((a << 1) & 0xfffefffe) | ((a >>> 15) & 0x00010001);
          b = ((b << 1) & 0xfffefffe) | ((b >>> 15) & 0x00010001);
        }
        d[j] = (a & 0xff) | ((a >>> 8) & 0xff00) | ((b & 0xff) << 16) | ((b & 0xff0000) << 8);
        d[ws + j] = ((a >>> 8) & 0xff) | ((a >>> 16) & 0xff00) | ((b & 0xff00) << 8) | (b & 0xff000000);
      }
      for (let i = 4 * q; i < n; i++) {
        let v = src[2 * i]! | (src[2 * i + 1]! << 8);
        if (rot) v = ((v << 1) | (v >>> 15)) & 0xffff;
        planes[i] = v;
        planes[stride + i] = v >>> 8;
      }
      return;
    }
    case 8: {
      // Low words feed planes 0-3, high words planes 4-7, each as in width 4.
      const s = new Int32Array(src.buffer, src.byteOffset, 2 * n);
      const w4 = 4 * ws;
      for (let j = 0, i = 0; j < q; j++, i += 8) {
        const a = s[i]!, b = s[i + 2]!, c = s[i + 4]!, e = s[i + 6]!;
        d[j] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (e << 24);
        d[ws + j] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((e & 0xff00) << 16);
        d[2 * ws + j] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((e & 0xff0000) << 8);
        d[3 * ws + j] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (e & 0xff000000);
        const f = s[i + 1]!, g = s[i + 3]!, h = s[i + 5]!, k = s[i + 7]!;
        d[w4 + j] = (f & 0xff) | ((g & 0xff) << 8) | ((h & 0xff) << 16) | (k << 24);
        d[w4 + ws + j] = ((f >>> 8) & 0xff) | (g & 0xff00) | ((h & 0xff00) << 8) | ((k & 0xff00) << 16);
        d[w4 + 2 * ws + j] = ((f >>> 16) & 0xff) | ((g >>> 8) & 0xff00) | (h & 0xff0000) | ((k & 0xff0000) << 8);
        d[w4 + 3 * ws + j] = (f >>> 24) | ((g >>> 16) & 0xff00) | ((h >>> 8) & 0xff0000) | (k & 0xff000000);
      }
      for (let i = 4 * q; i < n; i++) {
        for (let k = 0; k < 8; k++) planes[k * stride + i] = src[8 * i + k]!;
      }
      return;
    }
  }
}

/** mergePlanes in JS: `planes` and `dst` aligned. */
export function mergePlanesJs(planes: Uint8Array, stride: number, n: number, layout: PlaneLayout, dst: Uint8Array): void {
  const rot = layout.transform === PlaneTransform.Rotl1;
  const q = n >>> 2;
  const ws = stride >>> 2;
  const p = new Int32Array(planes.buffer, planes.byteOffset, layout.width * ws);
  switch (layout.width) {
    case 4: {
      const o = new Int32Array(dst.buffer, dst.byteOffset, n);
      for (let j = 0, i = 0; j < q; j++, i += 4) {
        const a = p[j]!, b = p[ws + j]!, c = p[2 * ws + j]!, e = p[3 * ws + j]!;
        let v0 = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (e << 24);
        let v1 = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((e & 0xff00) << 16);
        let v2 = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((e & 0xff0000) << 8);
        let v3 = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (e & 0xff000000);
        if (rot) {
          v0 = (v0 >>> 1) | (v0 << 31);
          v1 = (v1 >>> 1) | (v1 << 31);
          v2 = (v2 >>> 1) | (v2 << 31);
          v3 = (v3 >>> 1) | (v3 << 31);
        }
        o[i] = v0;
        o[i + 1] = v1;
        o[i + 2] = v2;
        o[i + 3] = v3;
      }
      for (let i = 4 * q; i < n; i++) {
        const v = planes[i]! | (planes[stride + i]! << 8) | (planes[2 * stride + i]! << 16) | (planes[3 * stride + i]! << 24);
        o[i] = rot ? (v >>> 1) | (v << 31) : v;
      }
      return;
    }
    case 2: {
      const o = new Int32Array(dst.buffer, dst.byteOffset, n >>> 1);
      for (let j = 0; j < q; j++) {
        const a = p[j]!, b = p[ws + j]!;
        let v0 = (a & 0xff) | ((b & 0xff) << 8) | ((a & 0xff00) << 8) | ((b & 0xff00) << 16);
        let v1 = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | ((a >>> 8) & 0xff0000) | (b & 0xff000000);
        if (rot) {
          v0 = ((v0 >>> 1) & 0x7fff7fff) | ((v0 & 0x00010001) << 15);
          v1 = ((v1 >>> 1) & 0x7fff7fff) | ((v1 & 0x00010001) << 15);
        }
        o[2 * j] = v0;
        o[2 * j + 1] = v1;
      }
      for (let i = 4 * q; i < n; i++) {
        let v = planes[i]! | (planes[stride + i]! << 8);
        if (rot) v = (v >>> 1) | ((v & 1) << 15);
        dst[2 * i] = v;
        dst[2 * i + 1] = v >>> 8;
      }
      return;
    }
    case 8: {
      const o = new Int32Array(dst.buffer, dst.byteOffset, 2 * n);
      const w4 = 4 * ws;
      for (let j = 0, i = 0; j < q; j++, i += 8) {
        const a = p[j]!, b = p[ws + j]!, c = p[2 * ws + j]!, e = p[3 * ws + j]!;
        o[i] = (a & 0xff) | ((b & 0xff) << 8) | ((c & 0xff) << 16) | (e << 24);
        o[i + 2] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((c & 0xff00) << 8) | ((e & 0xff00) << 16);
        o[i + 4] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (c & 0xff0000) | ((e & 0xff0000) << 8);
        o[i + 6] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((c >>> 8) & 0xff0000) | (e & 0xff000000);
        const f = p[w4 + j]!, g = p[w4 + ws + j]!, h = p[w4 + 2 * ws + j]!, k = p[w4 + 3 * ws + j]!;
        o[i + 1] = (f & 0xff) | ((g & 0xff) << 8) | ((h & 0xff) << 16) | (k << 24);
        o[i + 3] = ((f >>> 8) & 0xff) | (g & 0xff00) | ((h & 0xff00) << 8) | ((k & 0xff00) << 16);
        o[i + 5] = ((f >>> 16) & 0xff) | ((g >>> 8) & 0xff00) | (h & 0xff0000) | ((k & 0xff0000) << 8);
        o[i + 7] = (f >>> 24) | ((g >>> 16) & 0xff00) | ((h >>> 8) & 0xff0000) | (k & 0xff000000);
      }
      for (let i = 4 * q; i < n; i++) {
        for (let k = 0; k < 8; k++) dst[8 * i + k] = planes[k * stride + i]!;
      }
      return;
    }
  }
}

/**
 * Encodes `src` (aligned) as a planes container into `out` (which needs
 * planesBound(src.length, width) bytes); returns the payload length.
 *
 *   [0]    layout byte: transform << 4 | log2(width)
 *   [1]    plane mask: bit k set = plane k is a zstd frame, clear = stored raw
 *   [2..]  u32 LE frame length of each zstd plane, in plane order
 *   then   plane 0 .. plane width-1 (raw planes are n = floor(len/width) bytes)
 *   then   the len - n*width trailing bytes of a partial element, as is
 */
export function encodePlanes(src: Uint8Array, layout: PlaneLayout, out: Uint8Array): number {
  const w = layout.width;
  const n = Math.floor(src.length / w);
  const stride = planeStride(n);
  const planes = scratch(Slot.Planes, w * stride);
  splitPlanes(src, n, layout, planes, stride);

  out[0] = layoutByte(layout);
  let mask = 0;
  // Frames are compressed straight into `out` after a worst-case header; the
  // header is then written in front of them (moving the bodies only when some
  // plane ended up raw and the header is shorter than reserved).
  const sizes: number[] = [];
  const bodyStart = PLANES_FIXED_HEADER + 4 * w;
  let pos = bodyStart;
  for (let k = 0; k < w; k++) {
    const plane = planes.subarray(k * stride, k * stride + n);
    const len = zstdCompressInto('plane', out.subarray(pos), plane);
    if (len <= n - (n >>> MIN_GAIN_SHIFT) - 4) {
      mask |= 1 << k;
      sizes.push(len);
      pos += len;
    } else {
      out.set(plane, pos);
      pos += n;
    }
  }
  const headerLen = PLANES_FIXED_HEADER + 4 * sizes.length;
  if (headerLen !== bodyStart) out.copyWithin(headerLen, bodyStart, pos);
  pos -= bodyStart - headerLen;
  out[1] = mask;
  for (let i = 0; i < sizes.length; i++) writeU32(out, PLANES_FIXED_HEADER + 4 * i, sizes[i]!);
  out.set(src.subarray(n * w), pos);
  return pos + (src.length - n * w);
}

/**
 * A plane is stored as a zstd frame only when that saves at least 1/2^this of
 * it (plus its 4-byte size field): a frame that barely compresses costs a
 * Huffman decode of the whole plane at export for almost nothing.
 */
const MIN_GAIN_SHIFT = 7;

/** Room encodePlanes may need in `out`. */
export function planesBound(rawSize: number, width: PlaneWidth): number {
  return PLANES_FIXED_HEADER + 4 * width + width * zstdBound(Math.ceil(rawSize / width)) + width;
}

/**
 * Decodes a planes container into `dst` (aligned, exactly the chunk's size).
 * Returns the layout, which the DELTA predictor needs.
 */
export function decodePlanes(payload: Uint8Array, dst: Uint8Array): PlaneLayout {
  if (payload.length < PLANES_FIXED_HEADER) throw new CodecError('planes: truncated header');
  const layout = parseLayoutByte(payload[0]!);
  const w = layout.width;
  const mask = payload[1]!;
  if (mask >> w !== 0) throw new CodecError('planes: mask names planes beyond the width');
  const n = Math.floor(dst.length / w);
  const tail = dst.length - n * w;
  let nz = 0;
  for (let k = 0; k < w; k++) nz += (mask >> k) & 1;
  let pos = PLANES_FIXED_HEADER + 4 * nz;
  if (payload.length < pos) throw new CodecError('planes: truncated header');
  // Every plane lands word-aligned in scratch, raw ones by memcpy, so that the
  // merge can read whole words.
  const stride = planeStride(n);
  const planes = scratch(Slot.DecodePlanes, w * stride);
  let z = 0;
  for (let k = 0; k < w; k++) {
    const p = planes.subarray(k * stride, k * stride + n);
    if ((mask >> k) & 1) {
      const len = readU32(payload, PLANES_FIXED_HEADER + 4 * z);
      if (pos + len > payload.length) throw new CodecError('planes: frame overruns payload');
      zstdDecompressInto(p, payload.subarray(pos, pos + len));
      pos += len;
      z++;
    } else {
      if (pos + n > payload.length) throw new CodecError('planes: raw plane overruns payload');
      p.set(payload.subarray(pos, pos + n));
      pos += n;
    }
  }
  if (pos + tail !== payload.length) throw new CodecError(`planes: payload length ${payload.length}, layout implies ${pos + tail}`);
  mergePlanes(planes, stride, n, layout, dst);
  dst.set(payload.subarray(pos), n * w);
  return layout;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
}

function readU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}
