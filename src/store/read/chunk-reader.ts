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

/** A step's chunks, gathered (see ChunkReader.gather). */
export interface Gathered {
  ids: number[];
  /** Raw size of each chunk, in the order of ids. */
  sizes: number[];
  /** The cache's decoded copy, where it had one. */
  cached: (Buffer | undefined)[];
  /** Fetched payloads of the others, by id. */
  rows: Map<number, StoredChunk>;
  /** Decoded delta bases the fetched chunks need, by id. */
  bases: Map<number, Buffer>;
}

/**
 * Turns chunk ids into raw bytes: takes what the store's chunk cache holds,
 * fetches the rest in one query, then the delta bases those need, one query
 * per level of the chains (never one per base: each is a round trip on a
 * networked database), and decodes bases before the chunks built on them.
 * Decoded bases go into the cache, since the next chunks of a file and the
 * next model of a family mostly need the same ones.
 */
export class ChunkReader {
  constructor(private readonly backend: Backend, private readonly decoder: ChunkDecoder, private readonly cache: ChunkCache) {}

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
   * The chunks of one step of a file read, ready to be placed: the cache's
   * copies where it has them, the rest fetched in one query (each distinct
   * id once) with every delta base they need decoded. Sizes are known from
   * here on, so a whole-file read needs no layout of the file beforehand.
   * Payloads found in `fetched` (a ReadPlan's batch) are not fetched again.
   */
  async gather(ids: number[], stats: ReadStats, fetched?: ReadonlyMap<number, StoredChunk>): Promise<Gathered> {
    const cached = ids.map((id) => this.cache.get(id));
    const rows = new Map<number, StoredChunk>();
    const missing: number[] = [];
    for (const id of new Set(ids.filter((_, k) => cached[k] === undefined))) {
      const row = fetched?.get(id);
      if (row) rows.set(id, row);
      else missing.push(id);
    }
    if (missing.length) for (const c of await this.backend.getChunks(missing)) rows.set(c.id, c);
    const bases = await this.basesOf([...rows.values()], fetched);
    const sizes = ids.map((id, k) => cached[k]?.length ?? rows.get(id)!.rawSize);
    stats.chunks += ids.length;
    for (const hit of cached) {
      if (!hit) continue;
      stats.cachedChunks++;
      stats.cachedBytes += hit.length;
    }
    return { ids, sizes, cached, rows, bases };
  }

  /**
   * Writes gathered chunks [from, to) one after the other into `out`
   * (exactly their total size): cached ones copied, the others decoded in
   * place. With `keep`, decoded chunks are copied into the cache too (a model
   * load, whose chunks other models share).
   */
  place(g: Gathered, from: number, to: number, out: Buffer, keep: boolean): void {
    let pos = 0;
    for (let k = from; k < to; k++) {
      const size = g.sizes[k]!;
      if (pos + size > out.length) throw damaged(`chunk ${g.ids[k]} (${size} bytes) does not fit its place in the file; the store is damaged`);
      const dst = out.subarray(pos, pos + size);
      const hit = g.cached[k];
      if (hit) {
        hit.copy(dst);
      } else {
        const c = g.rows.get(g.ids[k]!)!;
        try {
          this.decoder.decodeInto(c, c.bases.map((b) => g.bases.get(b)!), dst);
        } catch (e) {
          throw damaged(`chunk ${c.id} does not decode (${(e as Error).message}); the store is damaged`);
        }
        if (keep) this.cache.set(c.id, dst);
      }
      pos += size;
    }
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
  private async basesOf(chunks: StoredChunk[], prefetched?: ReadonlyMap<number, StoredChunk>): Promise<Map<number, Buffer>> {
    const decoded = new Map<number, Buffer>();
    const fetched = new Map<number, StoredChunk>();
    let want = chunks.flatMap((c) => c.bases);
    for (let level = 1; want.length; level++) {
      const missing = [...new Set(want)].filter((id) => !decoded.has(id) && !fetched.has(id) && !this.cachedInto(id, decoded));
      if (missing.length === 0) break;
      if (level > MAX_DELTA_DEPTH) throw damaged(`delta chain of chunk ${chunks[0]!.id} is deeper than ${MAX_DELTA_DEPTH}; the store is damaged`);
      const rows = missing.flatMap((id) => prefetched?.get(id) ?? []);
      const rest = missing.filter((id) => !prefetched?.has(id));
      if (rest.length) rows.push(...(await this.backend.getChunks(rest)));
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
