import type { TensorSegment } from '../formats/segment.js';

/** Where a piece sits: in which tensor, and which fixed-size piece of it. */
export interface TensorPosition {
  tensor: TensorSegment;
  index: number;
}

export interface EncodedChunk {
  codec: number;
  payload: Buffer;
  /** Ids of stored chunks the payload decodes against (empty for self-contained codecs). */
  bases: number[];
  /** 0 for a self-contained chunk, else 1 + the deepest base's depth. */
  depth: number;
}

/**
 * Turns a new chunk's raw bytes into what the store keeps. The import asks it
 * once per chunk that is not stored yet.
 */
export interface ChunkEncoder {
  /** The model deltas are taken against, when there is one. */
  readonly baseModelId?: number | null;
  encode(raw: Buffer, position: TensorPosition | undefined): Promise<EncodedChunk>;
}
