import { ByteLru } from './byte-lru.js';

/** Default bytes of decoded chunks a store keeps (the server sets its own with --chunk-cache). */
export const DEFAULT_CHUNK_CACHE_BYTES = 128 << 20;

/**
 * The store's one cache of decoded chunks, by chunk id, least recently used
 * out first, bounded by bytes. It holds the bases that deltas decode against
 * (a family's imports and exports keep needing the same ones) and, when a
 * read asks to keep them, a file's own chunks: the server keeps what a model
 * load decoded, so a fine-tune of a loaded model, or another checkpoint,
 * loads the part they share from memory. A chunk id names immutable content
 * (ids are never reused), so entries never go stale.
 */
export class ChunkCache {
  private lru: ByteLru<number>;
  /** Lookups of a file's chunks (not of delta bases): what the server's metrics count. */
  hits = 0;
  misses = 0;
  hitBytes = 0;

  constructor(capacity: number = DEFAULT_CHUNK_CACHE_BYTES) {
    this.lru = new ByteLru(capacity);
  }

  get capacity(): number {
    return this.lru.capacity;
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  get entries(): number {
    return this.lru.entries;
  }

  /** A file chunk's decoded bytes, counted as a hit or a miss. */
  get(id: number): Buffer | undefined {
    const b = this.lru.get(id);
    if (b === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.hitBytes += b.length;
    return b;
  }

  /** A delta base's decoded bytes, uncounted. */
  peek(id: number): Buffer | undefined {
    return this.lru.get(id);
  }

  /**
   * Keeps a chunk's decoded bytes. `owned`: the caller hands the buffer over;
   * otherwise a copy is kept, so that a larger buffer `raw` is a view of (a
   * whole model file) is not pinned. A chunk bigger than a quarter of the
   * cache is not kept: it would evict most of what is there.
   */
  set(id: number, raw: Buffer, owned = false): void {
    if (raw.length > this.capacity / 4 || this.lru.has(id)) return;
    if (owned) {
      this.lru.set(id, raw);
      return;
    }
    const copy = Buffer.allocUnsafeSlow(raw.length);
    raw.copy(copy);
    this.lru.set(id, copy);
  }

  resize(capacity: number): void {
    this.lru.resize(capacity);
  }

  clear(): void {
    this.lru.clear();
  }
}
