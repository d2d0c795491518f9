/**
 * Encoding: build the candidate payloads that apply to a chunk and keep the
 * smallest. See codecs.md ("Selection") for the measurements behind the
 * shortcuts taken when `prune` is on (the default).
 */
import { encodePlanes, planesBound, PlaneTransform, type PlaneLayout } from './byteplanes.js';
import { castHalfInto, type HalfDtype } from './cast.js';
import { deltaElements, deltaEncode } from './delta.js';
import { isHalfDtype, planeLayoutFor } from './dtype.js';
import { estimatePlanes } from './estimate.js';
import { ALL_CODECS, Codec, codecLayout, codecPredictor, codecUsesBase, codecUsesCastSource, isCodecId, Layout, makeCodec, Predictor, type CodecId } from './ids.js';
import { alignedCopy, scratch, Slot } from './scratch.js';
import { xorResidual } from './xor.js';
import { zstdBound, zstdCompressInto } from './zstd.js';

export interface EncodeInput {
  /** The chunk's raw bytes. */
  raw: Uint8Array;
  /** Canonical dtype of the tensor the chunk came from; undefined for non-tensor bytes. */
  dtype?: string | undefined;
  /**
   * Raw bytes of the base model's chunk at the same position of the same-named,
   * same-shaped tensor (same dtype). Any length: the overlap is used.
   */
  base?: Uint8Array | undefined;
  /**
   * For an F16/BF16 chunk: the float32 bytes of the same elements of a stored
   * F32 model (normally 2 × raw.length bytes; a shorter one predicts a prefix).
   */
  castSource?: { dtype: 'F32'; raw: Uint8Array } | undefined;
}

export interface Encoded {
  codec: CodecId;
  /** A fresh buffer owned by the caller. */
  payload: Buffer;
  /** Decoding needs the same base bytes (the store records the base chunk id). */
  usesBase: boolean;
  /** Decoding needs the same castSource bytes. */
  usesCastSource: boolean;
  /** The values' fingerprint (fingerprint.ts), when the import's chunk work took it. */
  fingerprint?: Uint8Array | undefined;
}

/** What encodeChunkInto wrote: the payload is the first `length` bytes of the caller's buffer. */
export interface EncodedInto extends Omit<Encoded, 'payload'> {
  length: number;
}

export interface EncodeOptions {
  /**
   * Only consider these codecs (RAW is always possible and always allowed).
   * For tests and measurements; the default considers every codec.
   */
  only?: readonly CodecId[] | undefined;
  /**
   * Skip candidates that measurement says (practically) never win. Default
   * true; false compresses every applicable candidate (~2-3x slower).
   */
  prune?: boolean | undefined;
}

/**
 * Whole-chunk zstd is tried after byte planes only when the planes payload is
 * above this fraction of raw. On every float tensor measured, planes beat
 * whole-chunk zstd by 8-12 points; zstd only wins on data that isn't what its
 * dtype says, where planes also do badly.
 */
const ZSTD_AFTER_PLANES_RATIO = 0.97;

class Selector {
  codec: CodecId = Codec.RAW;
  size: number;
  /** Where the best payload so far is (undefined: none beats raw). Candidates alternate between two slots, so a winner is never copied. */
  private best: Slot.Assembly | Slot.Best | undefined;

  constructor(
    readonly raw: Uint8Array,
    private readonly allowed: ReadonlySet<CodecId> | undefined,
  ) {
    this.size = raw.length;
  }

  allows(codec: CodecId): boolean {
    return this.allowed === undefined || this.allowed.has(codec);
  }

  /** Encodes `data` under `codec` (planes with `layout`, else one zstd frame); keeps it when smaller. Returns its size. */
  try(codec: CodecId, data: Uint8Array, layout: PlaneLayout | undefined): number {
    if (!this.allows(codec)) return Infinity;
    const slot = this.best === Slot.Assembly ? Slot.Best : Slot.Assembly;
    const out = scratch(slot, layout !== undefined ? planesBound(data.length, layout.width) : zstdBound(data.length));
    const len = layout !== undefined ? encodePlanes(data, layout, out) : zstdCompressInto('chunk', out, data);
    if (len < this.size) {
      this.codec = codec;
      this.size = len;
      this.best = slot;
    }
    return len;
  }

  /** The payload: the best candidate's bytes, or the raw chunk's. */
  private payload(): Uint8Array {
    return this.best !== undefined ? scratch(this.best, this.size) : this.raw;
  }

  result(): Encoded {
    const payload = Buffer.allocUnsafe(this.size);
    payload.set(this.payload());
    return describe(this.codec, payload);
  }

  resultInto(out: Uint8Array): EncodedInto {
    out.set(this.payload());
    return { codec: this.codec, length: this.size, ...needs(this.codec) };
  }
}

/** What decoding a payload of this codec needs besides it. */
function needs(codec: CodecId): Pick<Encoded, 'usesBase' | 'usesCastSource'> {
  return { usesBase: codecUsesBase(codec), usesCastSource: codecUsesCastSource(codec) };
}

function describe(codec: CodecId, payload: Buffer): Encoded {
  return { codec, payload, ...needs(codec) };
}

/**
 * Encodes one chunk: tries the applicable codecs, keeps the smallest payload,
 * RAW when nothing helps.
 *
 * With `prune` (the default) the byte-plane candidates (cast residual, delta
 * residual, plain) are compressed in the order of a sampled entropy estimate,
 * and a candidate is skipped when its estimate is no better than the best
 * payload already made: on fine-tunes only the delta is compressed, on
 * unrelated bases only the plain planes. An exact prediction (all-zero
 * residual) ends the search at once.
 */
export function encodeChunk(input: EncodeInput, options: EncodeOptions = {}): Encoded {
  return select(input, options).result();
}

/**
 * encodeChunk, with the payload written into `out` (which needs room for the
 * raw chunk: a payload is never bigger) rather than into a fresh buffer: a
 * worker packs a task's results this way without copying each payload twice.
 */
export function encodeChunkInto(input: EncodeInput, out: Uint8Array, options: EncodeOptions = {}): EncodedInto {
  if (out.length < input.raw.length) throw new RangeError(`encodeChunkInto: ${out.length} bytes of room for a ${input.raw.length}-byte chunk`);
  return select(input, options).resultInto(out);
}

function select(input: EncodeInput, options: EncodeOptions): Selector {
  const raw = alignedCopy(input.raw, Slot.Raw);
  const sel = new Selector(raw, options.only === undefined ? undefined : new Set(options.only));
  if (raw.length === 0) return sel;
  if (options.prune === false) encodeExhaustive(sel, input);
  else encodePruned(sel, input);
  return sel;
}

interface PlanesCandidate {
  codec: CodecId;
  data: Uint8Array;
  layout: PlaneLayout;
  estimate: number;
}

function encodePruned(sel: Selector, input: EncodeInput): void {
  const raw = sel.raw;
  const len = raw.length;
  const layout = planeLayoutFor(input.dtype);
  const candidates: PlanesCandidate[] = [];

  const half = isHalfDtype(input.dtype) ? input.dtype : undefined;
  if (half !== undefined && input.castSource !== undefined) {
    const pred = half === 'F16' ? Predictor.CastF16 : Predictor.CastBF16;
    const r = castResidual(raw, half, input.castSource.raw);
    // Exact cast: one zstd frame of zeros (20 bytes per 64 KiB) is as small as
    // anything gets.
    if (!r.nonzero && sel.allows(makeCodec(pred, Layout.Zstd))) {
      sel.try(makeCodec(pred, Layout.Zstd), r.data, undefined);
      return;
    }
    const codec = makeCodec(pred, Layout.Planes);
    if (layout !== undefined && sel.allows(codec)) candidates.push({ codec, data: r.data, layout, estimate: estimatePlanes(r.data, layout) });
  }

  if (input.base !== undefined) {
    if (layout !== undefined && sel.allows(Codec.DELTA_PLANES)) {
      const r = deltaResidual(raw, input.base, layout);
      if (!r.nonzero && sel.allows(Codec.XOR_ZSTD)) {
        // Identical to the base (normally deduplicated before reaching here).
        sel.try(Codec.XOR_ZSTD, baseResidual(raw, input.base).data, undefined);
        return;
      }
      const dl = deltaLayout(layout);
      candidates.push({ codec: Codec.DELTA_PLANES, data: r.data, layout: dl, estimate: estimatePlanes(r.data, dl) });
    } else if (sel.allows(Codec.XOR_ZSTD) || sel.allows(Codec.XOR_PLANES)) {
      // DELTA beats XOR on planes for weights (codecs.md), so XOR is tried
      // only where DELTA can't be: no planes layout for the dtype.
      const r = baseResidual(raw, input.base);
      const planesOk = layout !== undefined && sel.allows(Codec.XOR_PLANES);
      if (sel.allows(Codec.XOR_ZSTD) && (!r.nonzero || !planesOk)) sel.try(Codec.XOR_ZSTD, r.data, undefined);
      else if (layout !== undefined && planesOk) candidates.push({ codec: Codec.XOR_PLANES, data: r.data, layout, estimate: estimatePlanes(r.data, layout) });
    }
  }

  if (layout !== undefined && sel.allows(Codec.PLANES)) {
    // Without competitors the estimate would decide nothing: skip computing it.
    candidates.push({ codec: Codec.PLANES, data: raw, layout, estimate: candidates.length === 0 ? 0 : estimatePlanes(raw, layout) });
  }
  candidates.sort((a, b) => a.estimate - b.estimate);
  let plainPlanes = Infinity;
  for (const c of candidates) {
    if (c.estimate >= sel.size) continue;
    const size = sel.try(c.codec, c.data, c.layout);
    if (c.codec === Codec.PLANES) plainPlanes = size;
  }

  // Whole-chunk zstd: the only option without a planes layout; with one, only
  // worth a try when plain planes came out nearly incompressible.
  const zstdMayWin = layout === undefined || !sel.allows(Codec.PLANES) || (plainPlanes !== Infinity && plainPlanes > ZSTD_AFTER_PLANES_RATIO * len);
  if (zstdMayWin && sel.allows(Codec.ZSTD)) sel.try(Codec.ZSTD, raw, undefined);
}

/** Every applicable codec, compressed; for measurements and as a reference for the pruned search. */
function encodeExhaustive(sel: Selector, input: EncodeInput): void {
  for (const codec of ALL_CODECS) {
    if (codec === Codec.RAW || !sel.allows(codec)) continue;
    const t = transformFor(codec, sel.raw, input);
    if (t === undefined) continue;
    if (codecLayout(codec) === Layout.Zstd) sel.try(codec, t.data, undefined);
    else if (t.layout !== undefined) sel.try(codec, t.data, t.layout);
  }
}

/**
 * Encodes with one given codec. Undefined when the codec does not apply to the
 * input (no base for XOR/DELTA, no dtype with byte planes for *_PLANES, ...).
 * The result may be larger than the raw chunk.
 */
export function encodeWith(codec: CodecId, input: EncodeInput): Encoded | undefined {
  const raw = alignedCopy(input.raw, Slot.Raw);
  const t = transformFor(codec, raw, input);
  if (t === undefined) return undefined;
  const layoutKind = codecLayout(codec);
  if (layoutKind === Layout.Raw) return describe(codec, Buffer.from(raw));
  if (layoutKind === Layout.Zstd) {
    const out = scratch(Slot.Assembly, zstdBound(t.data.length));
    return describe(codec, Buffer.from(out.subarray(0, zstdCompressInto('chunk', out, t.data))));
  }
  if (t.layout === undefined) return undefined;
  const out = scratch(Slot.Assembly, planesBound(t.data.length, t.layout.width));
  return describe(codec, Buffer.from(out.subarray(0, encodePlanes(t.data, t.layout, out))));
}

/**
 * The bytes a codec's layout stores for this input (raw or a residual) and the
 * planes layout to use; undefined when the codec doesn't apply.
 */
function transformFor(codec: CodecId, raw: Uint8Array, input: EncodeInput): { data: Uint8Array; layout: PlaneLayout | undefined } | undefined {
  if (!isCodecId(codec)) return undefined;
  const layoutKind = codecLayout(codec);
  const pred = codecPredictor(codec);
  const layout = planeLayoutFor(input.dtype);
  if (layoutKind === Layout.Planes && layout === undefined) return undefined;
  switch (pred) {
    case Predictor.None:
      return { data: raw, layout };
    case Predictor.Xor:
      return input.base === undefined ? undefined : { data: baseResidual(raw, input.base).data, layout };
    case Predictor.Delta:
      if (input.base === undefined || layout === undefined) return undefined;
      return { data: deltaResidual(raw, input.base, layout).data, layout: deltaLayout(layout) };
    case Predictor.CastF16:
    case Predictor.CastBF16: {
      const half = pred === Predictor.CastF16 ? 'F16' : 'BF16';
      if (input.dtype !== half || input.castSource === undefined) return undefined;
      return { data: castResidual(raw, half, input.castSource.raw).data, layout };
    }
    case Predictor.Permute:
      // Chosen by the importer from a whole stored tensor, never by the codec search.
      return undefined;
  }
}

interface Residual {
  /** aligned, raw.length bytes (scratch Slot.Residual) */
  data: Uint8Array;
  /** false when the prediction was exact (residual all zero) */
  nonzero: boolean;
}

function baseResidual(raw: Uint8Array, base: Uint8Array): Residual {
  const m = Math.min(raw.length, base.length);
  const b = alignedCopy(base.subarray(0, m), Slot.Base);
  const data = scratch(Slot.Residual, raw.length);
  return { data, nonzero: xorResidual(data, raw, b) };
}

function deltaResidual(raw: Uint8Array, base: Uint8Array, layout: PlaneLayout): Residual {
  const n = deltaElements(raw.length, base.length, layout.width);
  const b = alignedCopy(base.subarray(0, n * layout.width), Slot.Base);
  const data = scratch(Slot.Residual, raw.length);
  return { data, nonzero: deltaEncode(data, raw, b, n, layout.width) };
}

/** Zigzag already puts the sign in bit 0, so delta residuals are split without rotation. */
function deltaLayout(layout: PlaneLayout): PlaneLayout {
  return { width: layout.width, transform: PlaneTransform.None };
}

function castResidual(raw: Uint8Array, half: HalfDtype, castSource: Uint8Array): Residual {
  const n = Math.min(raw.length >>> 1, castSource.length >>> 2);
  const src = alignedCopy(castSource.subarray(0, 4 * n), Slot.Base);
  const predicted = scratch(Slot.Cast, 2 * n);
  castHalfInto(half, src, predicted, n);
  const data = scratch(Slot.CastResidual, raw.length);
  return { data, nonzero: xorResidual(data, raw, predicted) };
}
