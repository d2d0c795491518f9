import { encodeChunk } from '../../codec/index.js';
import { valueFingerprint } from '../../codec/fingerprint.js';
import type { EncodeInput, Encoded } from '../../codec/index.js';
import type { Sha256Thread } from '../../io/sha256-thread.js';
import { chunkHash } from '../format.js';
import { hashFileSync } from '../../io/hash-file-sync.js';

/**
 * Where an import's CPU work runs: chunk hashing and encoding, and whole-file
 * SHA-256. inThreadWork does it all on the importing thread (small imports:
 * starting threads would cost more than it saves); ImportThreads
 * (import-threads.ts) spreads it over worker threads.
 */
export interface ChunkWork {
  /** Chunk hashes of the pieces, in order. */
  hash(pieces: Buffer[]): Promise<Buffer[]>;
  /**
   * Encodes every input, with the fingerprint of its values when it is a
   * float tensor's chunk; inputs are not used after the promise settles. The
   * payloads may live in memory the threads reuse: valid until `release()`.
   */
  encode(inputs: EncodeInput[]): Promise<EncodedBatch>;
  /** SHA-256 of whole files (by path, each file read where it is hashed), in order. */
  hashFiles(files: { path: string; size: number }[]): Promise<Buffer[]>;
  /** The thread for file digests, or undefined to hash files on this thread. */
  readonly fileHasher: Sha256Thread | undefined;
}

export interface EncodedBatch {
  results: Encoded[];
  release(): void;
}

const nothingToRelease = (): void => {};

export const inThreadWork: ChunkWork = {
  // On this thread there is nothing to hand over: no packing (which would copy every payload once more).
  hash: async (pieces) => pieces.map((p) => chunkHash(p)),
  encode: async (inputs) => ({ results: inputs.map((i) => ({ ...encodeChunk(i), fingerprint: valueFingerprint(i.raw, i.dtype) })), release: nothingToRelease }),
  hashFiles: async (files) => files.map((f) => hashFileSync(f.path)),
  fileHasher: undefined,
};
