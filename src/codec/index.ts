/**
 * Chunk codecs: lossless compression of one stored chunk, optionally predicted
 * from a base chunk (XOR delta) or from the F32 model a half-precision model was
 * cast from. Pure functions on buffers; formats in codecs.md.
 *
 *   const enc = encodeChunk({ raw, dtype: 'BF16', base });
 *   // store enc.codec, enc.payload, raw.length (+ the base chunk id when enc.usesBase)
 *   const raw2 = decodeChunk(enc.codec, enc.payload, raw.length, base);
 */
export { Codec, ALL_CODECS, codecName, codecUsesBase, codecUsesCastSource, codecUsesTensorSource, isCodecId, type CodecId, type CodecName } from './ids.js';
export { encodeChunk, encodeChunkInto, encodeWith, type EncodeInput, type Encoded, type EncodedInto, type EncodeOptions } from './select.js';
export { decodeChunk, decodeChunkInto } from './decode.js';
export { f32ToF16Bits, f32ToBF16Bits } from './cast.js';
export { CodecError } from './errors.js';
export { releaseScratch as releaseCodecScratch } from './scratch.js';
