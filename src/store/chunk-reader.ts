import type { Backend, StoredChunk } from '../backends/backend.js';
import type { ChunkDecoder } from './decoder.js';
import { ByteLru } from './byte-lru.js';
import { MAX_DELTA_DEPTH } from './format.js';

/** Default bytes of decoded base chunks kept for reuse. */
export const DEFAULT_BASE_CACHE_BYTES = 128 << 20;

/**
 * Turns chunk ids into raw bytes: fetches payloads in batches and decodes
 * them, fetching the base chunks that deltas refer to. Decoded bases are kept
 * in an LRU bounded by bytes: a model's import decodes its base model's
 * chunks, and the next import of the family mostly needs the same ones. Chunk
 * ids are never reused (AUTOINCREMENT), so an entry cannot go stale.
 */
export class ChunkReader {
  private cache: ByteLru<number>;

  constructor(private readonly backend: Backend, private readonly decoder: ChunkDecoder, cacheBytes = DEFAULT_BASE_CACHE_BYTES) {
    this.cache = new ByteLru(cacheBytes);
  }

  /** Drops every cached chunk. */
  clear(): void {
    this.cache.clear();
  }

  /** The chunks' raw bytes, in the order of `ids`. */
  async read(ids: number[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const c of await this.backend.getChunks(ids)) {
      const buf = Buffer.allocUnsafe(c.rawSize);
      await this.decodeInto(c, buf, 0);
      out.push(buf);
    }
    return out;
  }

  /**
   * Fetches and decodes, in one query per level, the bases these chunks need
   * that the cache lacks (one query per base costs a round trip each on a
   * networked database).
   */
  async prefetchBases(chunks: StoredChunk[], depth = 0): Promise<void> {
    const want = [...new Set(chunks.flatMap((c) => c.bases))].filter((id) => !this.cache.has(id));
    if (want.length === 0) return;
    if (depth > MAX_DELTA_DEPTH) throw new Error(`${this.backend.location}: delta chain deeper than ${MAX_DELTA_DEPTH}`);
    const fetched = await this.backend.getChunks(want);
    await this.prefetchBases(fetched, depth + 1);
    for (const c of fetched) {
      const raw = Buffer.allocUnsafe(c.rawSize);
      await this.decodeInto(c, raw, depth + 1);
      this.cache.set(c.id, raw);
    }
  }

  /** Decodes a fetched chunk into `out` (exactly its raw size). */
  async decodeInto(c: StoredChunk, out: Buffer, depth = 0): Promise<void> {
    if (depth > MAX_DELTA_DEPTH) throw new Error(`${this.backend.location}: delta chain of chunk ${c.id} is deeper than ${MAX_DELTA_DEPTH}`);
    const bases: Buffer[] = [];
    for (const b of c.bases) bases.push(await this.base(b, depth + 1));
    this.decoder.decodeInto(c, bases, out);
  }

  private async base(id: number, depth: number): Promise<Buffer> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const [c] = await this.backend.getChunks([id]);
    const raw = Buffer.allocUnsafe(c!.rawSize);
    await this.decodeInto(c!, raw, depth);
    this.cache.set(id, raw);
    return raw;
  }
}
