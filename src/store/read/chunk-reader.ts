import type { Backend, StoredChunk } from '../../backends/backend.js';
import type { ChunkDecoder } from './decoder.js';
import type { ChunkCache } from './chunk-cache.js';
import { damaged } from '../../errors.js';
import { MAX_DELTA_DEPTH } from '../format.js';

/** What a read took from the cache (for the server's load records). */
export interface ReadStats {
  chunks: number;
  cachedChunks: number;
  cachedBytes: number;
}

export const emptyStats = (): ReadStats => ({ chunks: 0, cachedChunks: 0, cachedBytes: 0 });

/**
 * Turns chunk ids into raw bytes: takes what the store's chunk cache holds,
 * fetches the rest in one query, then the delta bases those need, one query
 * per level of the chains (never one per base: each is a round trip on a
 * networked database), and decodes bases before the chunks built on them.
 * Decoded bases go into the cache, since the next chunks of a file and the
 * next model of a family mostly need the same ones.
 */
export class ChunkReader {
  constructor(private readonly backend: Backend, private readonly decoder: ChunkDecoder, readonly cache: ChunkCache) {}

  /** The chunks' raw bytes, in the order of `ids` (cached buffers are shared: read only). */
  async read(ids: number[]): Promise<Buffer[]> {
    const found = new Map<number, Buffer>();
    const missing: number[] = [];
    for (const id of new Set(ids)) {
      const hit = this.cache.peek(id);
      if (hit) found.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      const fetched = await this.backend.getChunks(missing);
      const outs = fetched.map((c) => Buffer.allocUnsafe(c.rawSize));
      await this.decodeAll(fetched, outs);
      fetched.forEach((c, i) => found.set(c.id, outs[i]!));
    }
    return ids.map((id) => found.get(id)!);
  }

  /**
   * Reads chunks into `out`, chunk k at `at[k]`: cached ones are copied, the
   * others fetched and decoded in place. With `keep`, decoded chunks are
   * copied into the cache too (a model load, whose chunks other models share).
   */
  async readInto(ids: number[], out: Buffer, at: number[], keep: boolean, stats: ReadStats): Promise<void> {
    const missing: number[] = [];
    const missingAt: number[] = [];
    for (const [k, id] of ids.entries()) {
      const hit = this.cache.get(id);
      if (hit) {
        hit.copy(out, at[k]!);
        stats.cachedChunks++;
        stats.cachedBytes += hit.length;
      } else {
        missing.push(id);
        missingAt.push(at[k]!);
      }
    }
    stats.chunks += ids.length;
    if (missing.length === 0) return;
    const fetched = await this.backend.getChunks(missing);
    const outs = fetched.map((c, k) => {
      const start = missingAt[k]!;
      if (start + c.rawSize > out.length) throw damaged(`chunk ${c.id} (${c.rawSize} bytes) does not fit its place in the file; the store is damaged`);
      return out.subarray(start, start + c.rawSize);
    });
    await this.decodeAll(fetched, outs);
    if (keep) fetched.forEach((c, k) => this.cache.set(c.id, outs[k]!));
  }

  /** Decodes one fetched chunk into `out` (exactly its raw size), its bases fetched as needed. */
  decodeInto(c: StoredChunk, out: Buffer): Promise<void> {
    return this.decodeAll([c], [out]);
  }

  /**
   * Decodes each fetched chunk into a buffer of its own, or gives the error
   * that stopped it (a missing base, a corrupt payload): one bad chunk does
   * not stop the others (verify). Bases are fetched for the whole batch first.
   */
  async decodeEach(chunks: StoredChunk[]): Promise<(Buffer | Error)[]> {
    const outs = chunks.map((c) => Buffer.allocUnsafe(c.rawSize));
    try {
      await this.decodeAll(chunks, outs);
      return outs;
    } catch {
      // Some chunk failed: one at a time, to tell which.
      return Promise.all(chunks.map((c, i) => this.decodeInto(c, outs[i]!).then(() => outs[i]!, (e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
    }
  }

  /** Drops every cached chunk (after gc or repair: a cached decode may be of a chunk now gone or rewritten). */
  clear(): void {
    this.cache.clear();
  }

  /** Decodes fetched chunks into their outputs, bases first. */
  private async decodeAll(chunks: StoredChunk[], outs: Buffer[]): Promise<void> {
    const bases = await this.basesOf(chunks);
    chunks.forEach((c, i) => this.decoder.decodeInto(c, c.bases.map((b) => bases.get(b)!), outs[i]!));
  }

  /**
   * The decoded bytes of every base `chunks` need, transitively: from the
   * cache, else fetched one level of the chains per query. A chain longer
   * than MAX_DELTA_DEPTH means a damaged store (the writers never make one).
   */
  private async basesOf(chunks: StoredChunk[]): Promise<Map<number, Buffer>> {
    const decoded = new Map<number, Buffer>();
    const fetched = new Map<number, StoredChunk>();
    let want = chunks.flatMap((c) => c.bases);
    for (let level = 1; want.length; level++) {
      const missing = [...new Set(want)].filter((id) => !decoded.has(id) && !fetched.has(id) && !this.cachedInto(id, decoded));
      if (missing.length === 0) break;
      if (level > MAX_DELTA_DEPTH) throw damaged(`${this.backend.location}: delta chain of chunk ${chunks[0]!.id} is deeper than ${MAX_DELTA_DEPTH}; the store is damaged`);
      const rows = await this.backend.getChunks(missing);
      for (const r of rows) fetched.set(r.id, r);
      want = rows.flatMap((r) => r.bases);
    }
    // Decode in dependency order: a base before what is built on it.
    const decode = (id: number): Buffer => {
      const have = decoded.get(id);
      if (have) return have;
      const c = fetched.get(id)!;
      const raw = Buffer.allocUnsafeSlow(c.rawSize);
      this.decoder.decodeInto(c, c.bases.map(decode), raw);
      decoded.set(id, raw);
      this.cache.set(id, raw, true);
      return raw;
    };
    for (const id of fetched.keys()) decode(id);
    return decoded;
  }

  private cachedInto(id: number, into: Map<number, Buffer>): boolean {
    const hit = this.cache.peek(id);
    if (hit) into.set(id, hit);
    return hit !== undefined;
  }
}
