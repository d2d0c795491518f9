import type { StoredChunk } from '../../backends/backend.js';

/** Turns a stored payload back into the chunk's raw bytes. */
export interface ChunkDecoder {
  /**
   * Decodes into `out` (exactly chunk.rawSize bytes). `bases` are the raw
   * bytes of the chunks listed as the chunk's bases, in order.
   */
  decodeInto(chunk: StoredChunk, bases: Buffer[], out: Buffer): void;
}
