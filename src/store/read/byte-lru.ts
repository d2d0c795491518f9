/**
 * Buffers by key, least recently used out first, bounded by their total
 * bytes. Decoded chunks are cached by chunk id: an id names immutable content
 * (ids are never reused), so entries never go stale.
 */
export class ByteLru<K> {
  private map = new Map<K, Buffer>();
  private used = 0;

  constructor(private limit: number) {}

  get capacity(): number {
    return this.limit;
  }

  get bytes(): number {
    return this.used;
  }

  get entries(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The buffer, marked as most recently used. */
  get(key: K): Buffer | undefined {
    const b = this.map.get(key);
    if (b !== undefined) {
      this.map.delete(key);
      this.map.set(key, b);
    }
    return b;
  }

  /** Keeps `value` (the caller hands it over) and evicts the oldest entries past the capacity, never the newest. */
  set(key: K, value: Buffer): void {
    if (this.map.has(key)) return;
    this.map.set(key, value);
    this.used += value.length;
    this.evict(1);
  }

  /** A new capacity; entries past it go at once, oldest first. */
  resize(capacity: number): void {
    this.limit = capacity;
    this.evict(0);
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  /** Drops the oldest entries until the rest fit, keeping at least `keep` of the newest. */
  private evict(keep: number): void {
    for (const [k, v] of this.map) {
      if (this.used <= this.limit || this.map.size <= keep) break;
      this.map.delete(k);
      this.used -= v.length;
    }
  }
}
