import { ByteLru } from '../../store/byte-lru.js';

/**
 * Decoded chunks by chunk id, least recently used first out, bounded by
 * bytes. Models that share chunks (fine-tunes of one base, checkpoints of one
 * run) load the shared part from memory instead of from SQLite and the
 * decoder. A chunk's id names immutable content, so entries never go stale.
 */
export class ChunkCache {
  private lru: ByteLru<number>;
  hits = 0;
  misses = 0;
  hitBytes = 0;

  constructor(readonly capacity: number) {
    this.lru = new ByteLru(capacity);
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  get entries(): number {
    return this.lru.entries;
  }

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

  /** Keeps a copy of `raw` (so the caller's buffer is not pinned); chunks bigger than a quarter of the cache are not kept. */
  set(id: number, raw: Buffer): void {
    if (this.capacity <= 0 || raw.length > this.capacity / 4 || this.lru.has(id)) return;
    const copy = Buffer.allocUnsafeSlow(raw.length);
    raw.copy(copy);
    this.lru.set(id, copy);
  }

  clear(): void {
    this.lru.clear();
  }
}
