/**
 * Buffers by key, least recently used out first, bounded by their total
 * bytes. Decoded chunks are cached by chunk id: an id names immutable content
 * (ids are never reused), so entries never go stale.
 */
export class ByteLru<K> {
  private map = new Map<K, Buffer>();
  private used = 0;

  constructor(readonly capacity: number) {}

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
    for (const [k, v] of this.map) {
      if (this.used <= this.capacity || this.map.size === 1) break;
      this.map.delete(k);
      this.used -= v.length;
    }
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
