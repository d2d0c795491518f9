import type { Backend, NewChunk } from '../../backends/backend.js';
import type { EncodePool } from '../../codec/index.js';
import type { Segment } from '../../formats/segment.js';
import type { ChunkEncoder } from './encoder.js';
import type { Piece } from './pieces.js';
import { chunkHash } from '../format.js';

export interface ChunkAccounting {
  chunks: number;
  newChunks: number;
  /** Raw bytes of chunks stored for the first time. */
  newRawBytes: number;
  /** Payload bytes written for them. */
  newStoredBytes: number;
  /** Of the new chunks, raw and payload bytes of those stored as deltas. */
  deltaRawBytes: number;
  deltaStoredBytes: number;
}

/**
 * Stores the pieces of an import as chunks, each distinct chunk once. A batch
 * goes through two stages: submit() hashes it, finds what is stored already,
 * prepares the new chunks and hands them to the encoder pool; the returned
 * promise then inserts them once encoded. While the pool encodes batch N the
 * caller reads and submits batch N+1, so reading/hashing and compression run
 * on two cores. Inserts happen in submission order.
 */
export class ChunkWriter {
  /** Chunks first stored by this import, by hash: ids, or the promise of one while its batch is in flight. */
  private local = new Map<string, number | Promise<number>>();
  private tail: Promise<unknown> = Promise.resolve();
  readonly acc: ChunkAccounting = { chunks: 0, newChunks: 0, newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0 };

  constructor(private readonly backend: Backend, private readonly encoder: ChunkEncoder, private readonly pool: EncodePool) {}

  /**
   * Starts storing a batch; resolves (early) to a handle on the batch's chunk
   * ids in order (wrapped: a promise resolving to a promise would flatten).
   * Pieces' bytes are not used after this resolves.
   */
  async submit(batch: Piece[], segs: Segment[]): Promise<{ ids: Promise<number[]> }> {
    const hashes = batch.map((p) => chunkHash(p.data));
    const keys = hashes.map((h) => h.toString('base64'));
    const ids: (number | Promise<number> | undefined)[] = keys.map((k) => this.local.get(k));
    const unknown = ids.flatMap((id, i) => (id === undefined ? [i] : []));
    if (unknown.length) {
      const found = await this.backend.lookupChunks(unknown.map((i) => hashes[i]!));
      unknown.forEach((i, j) => (ids[i] = found[j]));
    }
    const freshAt: number[] = [];
    const settle: { resolve: (id: number) => void; reject: (e: unknown) => void }[] = [];
    for (let i = 0; i < batch.length; i++) {
      // A repeat of a chunk first seen earlier in this batch waits for that one.
      if (ids[i] === undefined) ids[i] = this.local.get(keys[i]!);
      if (ids[i] !== undefined) continue;
      freshAt.push(i);
      // Later repeats of this chunk (in this batch or the next) wait for its id.
      const pending = new Promise<number>((resolve, reject) => settle.push({ resolve, reject }));
      pending.catch(() => {});
      this.local.set(keys[i]!, pending);
      ids[i] = pending;
    }
    let prepared;
    try {
      prepared = await this.encoder.prepareMany(freshAt.map((i) => {
        const p = batch[i]!;
        const seg = segs[p.segment]!;
        return { raw: p.data, position: seg.kind === 'tensor' ? { tensor: seg, index: p.index } : undefined };
      }));
    } catch (e) {
      settle.forEach((s) => s.reject(e));
      throw e;
    }
    const encoded = this.pool.encodeMany(prepared.map((p) => p.input));
    encoded.catch(() => {});
    this.acc.chunks += batch.length;
    const rawSizes = freshAt.map((i) => batch[i]!.data.length);
    const done = this.tail.then(async () => {
      try {
        const enc = await encoded;
        const rows: NewChunk[] = [];
        for (let j = 0; j < freshAt.length; j++) {
          const c = await this.encoder.complete(prepared[j]!, enc[j]!);
          const raw = rawSizes[j]!;
          rows.push({ hash: hashes[freshAt[j]!]!, rawSize: raw, storedSize: c.payload.length, codec: c.codec, bases: c.bases, depth: c.depth, data: c.payload });
          this.acc.newRawBytes += raw;
          this.acc.newStoredBytes += c.payload.length;
          if (c.bases.length) {
            this.acc.deltaRawBytes += raw;
            this.acc.deltaStoredBytes += c.payload.length;
          }
        }
        const newIds = rows.length ? await this.backend.insertChunks(rows) : [];
        this.acc.newChunks += rows.length;
        freshAt.forEach((i, j) => {
          this.local.set(keys[i]!, newIds[j]!);
          settle[j]!.resolve(newIds[j]!);
        });
      } catch (e) {
        settle.forEach((s) => s.reject(e));
        throw e;
      }
      return Promise.all(ids as (number | Promise<number>)[]);
    });
    this.tail = done.catch(() => {});
    done.catch(() => {});
    return { ids: done };
  }
}
