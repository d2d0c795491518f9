/**
 * Decoding: undo the layout into the output buffer, then undo the predictor in
 * place. Everything runs over 32-bit words on aligned memory (scratch.ts).
 */
import { decodePlanes, mergeNeedsAlignment } from './byteplanes.js';
import { xorCastInPlace } from './cast.js';
import { deltaDecodeInPlace, deltaElements } from './delta.js';
import { CodecError } from './errors.js';
import { codecLayout, codecName, codecPredictor, isCodecId, Layout, Predictor, type CodecId } from './ids.js';
import { alignedCopy, isAligned, scratch, Slot } from './scratch.js';
import { decodePermutePayload, permuteInto } from './permute.js';
import { xorInto } from './xor.js';
import { zstdDecompressInto } from './zstd.js';

/**
 * Decodes a chunk of `rawSize` bytes into a new buffer. `base` / `castSource`
 * must be the same bytes given to the encoder when the codec uses them.
 */
export function decodeChunk(codec: CodecId, payload: Uint8Array, rawSize: number, base?: Uint8Array, castSource?: Uint8Array): Buffer {
  if (!Number.isSafeInteger(rawSize) || rawSize < 0) throw new CodecError(`bad chunk size ${rawSize}`);
  // allocUnsafeSlow: own ArrayBuffer at offset 0, so the output is aligned and
  // the loops can write it directly (no copy through scratch).
  const out = Buffer.allocUnsafeSlow(rawSize);
  decodeChunkInto(out, codec, payload, base, castSource);
  return out;
}

/**
 * Decodes into `out` (exactly the chunk's size), e.g. straight into a file-sized
 * export buffer. An unaligned `out` works but may cost an extra copy. `out` must
 * not overlap `payload`, `base` or `castSource`; `castSource` may come as the
 * pieces it is stored in, in order.
 */
export function decodeChunkInto(out: Uint8Array, codec: CodecId, payload: Uint8Array, base?: Uint8Array, castSource?: Uint8Array | readonly Uint8Array[]): void {
  if (!isCodecId(codec)) throw new CodecError(`unknown codec id ${codec}`);
  const layout = codecLayout(codec);
  const pred = codecPredictor(codec);
  const rawSize = out.length;
  if (pred === Predictor.Permute) {
    // The source tensor comes as castSource does: its chunks, in order.
    if (castSource === undefined) throw new CodecError('PERMUTE needs the source tensor');
    const { p, start } = decodePermutePayload(payload);
    permuteInto(out, joinedAll(castSource), p, start);
    return;
  }
  if (layout === Layout.Raw) {
    if (payload.length !== rawSize) throw new CodecError(`RAW payload is ${payload.length} bytes, chunk is ${rawSize}`);
    out.set(payload);
    return;
  }
  const needsBase = pred === Predictor.Xor || pred === Predictor.Delta;
  if (needsBase && base === undefined) throw new CodecError(`${codecName(codec)} needs the base chunk`);
  if (!needsBase && castSource === undefined && pred !== Predictor.None) throw new CodecError(`${codecName(codec)} needs the F32 cast source`);
  // The predictors' loops and the JS plane merge take aligned memory; zstd and the native merge take any.
  const needsAligned = pred !== Predictor.None || (layout === Layout.Planes && mergeNeedsAlignment);
  const dst = isAligned(out) || !needsAligned ? out : scratch(Slot.DecodeOut, rawSize);
  if (layout === Layout.Zstd) zstdDecompressInto(dst, payload);
  else {
    const planes = decodePlanes(payload, dst);
    if (pred === Predictor.Delta && base !== undefined) {
      const n = deltaElements(rawSize, base.length, planes.width);
      deltaDecodeInPlace(dst, alignedCopy(base.subarray(0, n * planes.width), Slot.Base), n, planes.width);
    }
  }

  if (pred === Predictor.Xor && base !== undefined) {
    const m = Math.min(rawSize, base.length);
    xorInto(dst, dst, alignedCopy(base.subarray(0, m), Slot.Base), m);
  } else if ((pred === Predictor.CastF16 || pred === Predictor.CastBF16) && castSource !== undefined) {
    const src = joined(castSource, 2 * rawSize);
    const n = Math.min(rawSize >>> 1, src.length >>> 2);
    xorCastInPlace(pred === Predictor.CastF16 ? 'F16' : 'BF16', dst, alignedCopy(src.subarray(0, 4 * n), Slot.Base), n);
  }
  if (dst !== out) out.set(dst);
}

/** The last source joined, by the pieces it was joined from: a tensor's permuted chunks decode one after the other against the same pieces. */
let lastJoin: { pieces: readonly Uint8Array[]; joined: Uint8Array } | undefined;

/** Pieces joined whole (a permutation reads anywhere in its source), once for consecutive chunks of one tensor. */
function joinedAll(source: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source.length === 1) return source[0]!;
  const last = lastJoin;
  if (last && last.pieces.length === source.length && last.pieces.every((p, i) => p === source[i])) return last.joined;
  const joined = Buffer.concat(source as Uint8Array[]);
  lastJoin = { pieces: [...source], joined };
  return joined;
}

/**
 * The first `bytes` bytes of a cast source given in pieces (the F32 chunks
 * that cover a half-precision chunk's elements), joined in scratch: a
 * fresh buffer per chunk cost more in page faults than the copy itself.
 */
function joined(source: Uint8Array | readonly Uint8Array[], bytes: number): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source.length === 1) return source[0]!;
  let total = 0;
  for (const p of source) total += p.length;
  const out = scratch(Slot.Cast, Math.min(bytes, total));
  let pos = 0;
  for (const p of source) {
    if (pos >= out.length) break;
    const n = Math.min(p.length, out.length - pos);
    out.set(n === p.length ? p : p.subarray(0, n), pos);
    pos += n;
  }
  return out;
}
