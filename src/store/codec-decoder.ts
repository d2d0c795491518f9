import type { StoredChunk } from '../backends/backend.js';
import { Codec, codecUsesBase, codecUsesCastSource, decodeChunk } from '../codec/index.js';
import type { ChunkDecoder } from './decoder.js';

/**
 * Decodes stored payloads with the codec layer. A delta's bases are its base
 * chunk; a cast delta's bases are the F32 chunks covering the same elements,
 * concatenated into the cast source.
 */
export const codecDecoder: ChunkDecoder = {
  decode(chunk: StoredChunk, bases: Buffer[]): Buffer {
    if (chunk.codec === Codec.RAW) {
      if (chunk.data.length !== chunk.rawSize) throw new Error(`chunk ${chunk.id}: raw payload is ${chunk.data.length} bytes, expected ${chunk.rawSize}`);
      return chunk.data;
    }
    if (codecUsesCastSource(chunk.codec)) {
      const src = bases.length === 1 ? bases[0]! : Buffer.concat(bases);
      return decodeChunk(chunk.codec, chunk.data, chunk.rawSize, undefined, src.subarray(0, 2 * chunk.rawSize));
    }
    if (codecUsesBase(chunk.codec)) {
      if (bases.length !== 1) throw new Error(`chunk ${chunk.id}: delta needs one base chunk, the store lists ${bases.length}`);
      return decodeChunk(chunk.codec, chunk.data, chunk.rawSize, bases[0]);
    }
    return decodeChunk(chunk.codec, chunk.data, chunk.rawSize);
  },
};
