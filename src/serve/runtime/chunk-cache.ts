/**
 * Decoded chunks by chunk id, least recently used first out, bounded by
 * bytes. Models that share chunks (fine-tunes of one base, checkpoints of one
 * run) load the shared part from memory instead of from SQLite and the
 * decoder. A chunk's id names immutable content, so entries never go stale.
 */
export class ChunkCache {
  private map = new Map<number, Buffer>();
  private used = 0;
  hits = 0;
  misses = 0;
  hitBytes = 0;

  constructor(readonly capacity: number) {}

  get bytes(): number {
    return this.used;
  }

  get entries(): number {
    return this.map.size;
  }

  get(id: number): Buffer | undefined {
    const b = this.map.get(id);
    if (b === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.hitBytes += b.length;
    this.map.delete(id);
    this.map.set(id, b);
    return b;
  }

  /** Keeps a copy of `raw` (so the caller's buffer is not pinned); chunks bigger than a quarter of the cache are not kept. */
  set(id: number, raw: Buffer): void {
    if (this.capacity <= 0 || raw.length > this.capacity / 4 || this.map.has(id)) return;
    const copy = Buffer.allocUnsafeSlow(raw.length);
    raw.copy(copy);
    this.map.set(id, copy);
    this.used += copy.length;
    for (const [k, v] of this.map) {
      if (this.used <= this.capacity) break;
      this.map.delete(k);
      this.used -= v.length;
    }
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
