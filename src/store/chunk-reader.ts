import type { Backend, StoredChunk } from '../backends/backend.js';
import type { ChunkDecoder } from './decoder.js';

/** Decoded chunks kept for reuse as delta bases (bases repeat across neighbouring chunks). */
const BASE_CACHE_ENTRIES = 256;

/**
 * Turns chunk ids into raw bytes: fetches payloads in batches and decodes
 * them, fetching (and caching) the base chunks that deltas refer to.
 */
export class ChunkReader {
  private cache = new Map<number, Buffer>();

  constructor(private readonly backend: Backend, private readonly decoder: ChunkDecoder) {}

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

  /** Decodes a fetched chunk into `out` (exactly its raw size). */
  async decodeInto(c: StoredChunk, out: Buffer, depth = 0): Promise<void> {
    if (depth > 8) throw new Error(`${this.backend.location}: delta chain of chunk ${c.id} is deeper than 8`);
    const bases: Buffer[] = [];
    for (const b of c.bases) bases.push(await this.base(b, depth + 1));
    this.decoder.decodeInto(c, bases, out);
  }

  private async base(id: number, depth: number): Promise<Buffer> {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const [c] = await this.backend.getChunks([id]);
    const raw = Buffer.allocUnsafe(c!.rawSize);
    await this.decodeInto(c!, raw, depth);
    this.cache.set(id, raw);
    if (this.cache.size > BASE_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return raw;
  }
}
