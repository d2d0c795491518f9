import type { StoredChunk } from '../../backends/backend.js';
import { Codec, codecUsesBase, codecUsesCastSource, codecUsesTensorSource, decodeChunkInto } from '../../codec/index.js';
import type { ChunkDecoder } from './decoder.js';

/**
 * Decodes stored payloads with the codec layer. A delta's bases are its base
 * chunk; a cast delta's bases are the F32 chunks covering the same elements,
 * concatenated into the cast source; a permuted chunk's bases are the source
 * tensor's chunks, concatenated into the source tensor.
 */
export const codecDecoder: ChunkDecoder = {
  decodeInto(chunk: StoredChunk, bases: Buffer[], out: Buffer): void {
    if (out.length !== chunk.rawSize) throw new Error(`chunk ${chunk.id}: decode buffer is ${out.length} bytes, chunk is ${chunk.rawSize}`);
    if (chunk.codec === Codec.RAW) {
      if (chunk.data.length !== chunk.rawSize) throw new Error(`chunk ${chunk.id}: raw payload is ${chunk.data.length} bytes, expected ${chunk.rawSize}`);
      chunk.data.copy(out);
    } else if (codecUsesCastSource(chunk.codec) || codecUsesTensorSource(chunk.codec)) {
      decodeChunkInto(out, chunk.codec, chunk.data, undefined, bases);
    } else if (codecUsesBase(chunk.codec)) {
      if (bases.length !== 1) throw new Error(`chunk ${chunk.id}: delta needs one base chunk, the store lists ${bases.length}`);
      decodeChunkInto(out, chunk.codec, chunk.data, bases[0]);
    } else {
      decodeChunkInto(out, chunk.codec, chunk.data);
    }
  },
};
