import type { StoredChunk } from '../backends/backend.js';

/** Turns a stored payload back into the chunk's raw bytes. */
export interface ChunkDecoder {
  /** `bases` are the raw bytes of the chunks listed as the chunk's bases, in order. */
  decode(chunk: StoredChunk, bases: Buffer[]): Buffer;
}
