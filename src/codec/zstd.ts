/**
 * zstd through the low-level binding of zstd-napi.
 *
 * Why the binding and not the high-level Compressor/Decompressor classes: the
 * binding's CCtx/DCtx compress and decompress *into a buffer we pass*, so the
 * codec can write frames straight into its assembly buffer and decode planes
 * straight into scratch or the output chunk, with no allocation per call. The
 * contexts are module-level and reused (zstd contexts are expensive to create
 * and all calls are synchronous, so one per process is enough).
 */
import binding from 'zstd-napi/binding.js';
import { CodecError } from './errors.js';

/** Level for whole-chunk frames (codec ZSTD / XOR_ZSTD / CAST_*_ZSTD). See codecs.md for the measurement. */
export const ZSTD_CHUNK_LEVEL = 3;

/**
 * Parameters for byte-plane frames. A byte plane of float data is a stream of
 * nearly independent symbols: what pays is zstd's Huffman coding of literals,
 * while short LZ matches found by the fast match finders cost more bits than
 * they save (exponent plane of N(0,0.02) F32: 3.3 bits/symbol with level-3
 * defaults, 2.78 with minMatch 7, 2.66 adding hashLog 8; order-0 entropy
 * 2.55). minMatch 7 keeps only matches long enough to pay (runs of zeros,
 * repeated rows), and a small hash table (hashLog 8) finds fewer spurious ones
 * and is faster (~460 MB/s on an exponent plane vs ~270 MB/s). Incompressible
 * planes are detected by zstd itself at ~2 GB/s, so they need no pre-check.
 */
export const ZSTD_PLANE_PARAMS = { level: 1, minMatch: 7, hashLog: 8 } as const;

const chunkCtx = new binding.CCtx();
chunkCtx.setParameter(binding.CParameter.compressionLevel, ZSTD_CHUNK_LEVEL);

const planeCtx = new binding.CCtx();
planeCtx.setParameter(binding.CParameter.compressionLevel, ZSTD_PLANE_PARAMS.level);
planeCtx.setParameter(binding.CParameter.minMatch, ZSTD_PLANE_PARAMS.minMatch);
planeCtx.setParameter(binding.CParameter.hashLog, ZSTD_PLANE_PARAMS.hashLog);

const dctx = new binding.DCtx();

export type ZstdProfile = 'chunk' | 'plane';

/** Worst-case frame size for `n` input bytes: `dst` must have this much room. */
export function zstdBound(n: number): number {
  return binding.compressBound(n);
}

/** Compresses `src` into `dst` (from its start) as one frame; returns the frame length. */
export function zstdCompressInto(profile: ZstdProfile, dst: Uint8Array, src: Uint8Array): number {
  // compress2 honours the sticky parameters set on the context above.
  return (profile === 'plane' ? planeCtx : chunkCtx).compress2(dst, src);
}

/**
 * Decompresses exactly one frame `src` into `dst`, which must be exactly the
 * expected size: a frame that decodes to a different length is corruption.
 */
export function zstdDecompressInto(dst: Uint8Array, src: Uint8Array): void {
  let n: number;
  try {
    n = dctx.decompress(dst, src);
  } catch (e) {
    throw new CodecError(`zstd frame: ${(e as Error).message}`);
  }
  if (n !== dst.length) throw new CodecError(`zstd frame decoded to ${n} bytes, expected ${dst.length}`);
}
