import type { Backend, NewChunk } from '../../backends/backend.js';
import type { Encoded } from '../../codec/index.js';
import type { Segment } from '../../formats/segment.js';
import type { ChunkEncoder, PreparedChunk } from './encoder.js';
import type { ChunkWork } from './chunk-work.js';
import type { Piece } from './pieces.js';

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

/** A chunk this import stored first: what a pass after the chunks (PERMUTE) needs of it. */
export interface FreshChunk {
  hash: Buffer;
  rawSize: number;
  storedSize: number;
  /** Stored as a delta (it has bases). */
  delta: boolean;
  /** Its values' fingerprint, for a float tensor's chunk. */
  fingerprint?: Uint8Array | undefined;
}

/** A batch between its lookup stage and its insert: the chunks it must store. */
interface Staged {
  hashes: Buffer[];
  /** Positions in the batch of the chunks this batch stores first. */
  freshAt: number[];
  prepared: PreparedChunk[];
  /** Settles the ids of fresh chunks for later repeats. */
  settle: { resolve: (id: number) => void; reject: (e: unknown) => void }[];
  ids: (number | Promise<number>)[];
}

/**
 * Stores the pieces of an import as chunks, each distinct chunk once. A batch
 * goes through three stages that overlap with other batches' stages: its
 * chunk hashes are computed (ChunkWork: worker threads for a big import); in
 * batch order, what is stored already is looked up and the new chunks are
 * prepared (their base bytes read) and handed to ChunkWork to encode; then, in
 * batch order again, the encoded chunks are inserted. While the threads hash
 * and encode batches N+1 and N+2, this thread reads the next block and writes
 * batch N to the database.
 */
export class ChunkWriter {
  /** Chunks first stored by this import, by hash: ids, or the promise of one while its batch is in flight. */
  private local = new Map<string, number | Promise<number>>();
  private stage: Promise<unknown> = Promise.resolve();
  private tail: Promise<unknown> = Promise.resolve();
  readonly acc: ChunkAccounting = { chunks: 0, newChunks: 0, newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0 };
  /** The chunks this import stored first, by id. */
  readonly fresh = new Map<number, FreshChunk>();

  constructor(private readonly backend: Backend, private readonly encoder: ChunkEncoder, private readonly work: ChunkWork) {}

  /**
   * Starts storing a batch; resolves to its chunk ids in order once it is
   * stored. The pieces' bytes are in use until then.
   */
  submit(batch: Piece[], segs: Segment[]): Promise<number[]> {
    this.acc.chunks += batch.length;
    const hashed = this.work.hash(batch.map((p) => p.data));
    hashed.catch(() => {});
    const staged = this.stage.then(async () => this.lookup(batch, segs, await hashed));
    this.stage = staged.catch(() => {});
    const encoded = staged.then((s) => this.work.encode(s.prepared.map((p) => p.input)));
    encoded.catch(() => {});
    const done = this.tail.then(async () => {
      const s = await staged;
      try {
        const enc = await encoded;
        try {
          await this.insert(batch, s, enc.results);
        } finally {
          enc.release();
        }
      } catch (e) {
        s.settle.forEach((x) => x.reject(e));
        throw e;
      }
      return Promise.all(s.ids);
    });
    this.tail = done.catch(() => {});
    return done;
  }

  /** What of the batch is stored already (in the store, or earlier in this import); the rest, prepared for encoding. */
  private async lookup(batch: Piece[], segs: Segment[], hashes: Buffer[]): Promise<Staged> {
    const keys = hashes.map((h) => h.toString('base64'));
    const ids: (number | Promise<number> | undefined)[] = keys.map((k) => this.local.get(k));
    const unknown = ids.flatMap((id, i) => (id === undefined ? [i] : []));
    if (unknown.length) {
      const found = await this.backend.lookupChunks(unknown.map((i) => hashes[i]!));
      unknown.forEach((i, j) => (ids[i] = found[j]));
    }
    const freshAt: number[] = [];
    const settle: Staged['settle'] = [];
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
    try {
      const prepared = await this.encoder.prepareMany(freshAt.map((i) => {
        const p = batch[i]!;
        const seg = segs[p.segment]!;
        return { raw: p.data, position: seg.kind === 'tensor' ? { tensor: seg, index: p.index } : undefined };
      }));
      return { hashes, freshAt, prepared, settle, ids: ids as (number | Promise<number>)[] };
    } catch (e) {
      settle.forEach((x) => x.reject(e));
      throw e;
    }
  }

  private async insert(batch: Piece[], s: Staged, enc: Encoded[]): Promise<void> {
    const rows: NewChunk[] = [];
    for (let j = 0; j < s.freshAt.length; j++) {
      const c = await this.encoder.complete(s.prepared[j]!, enc[j]!);
      const i = s.freshAt[j]!;
      const raw = batch[i]!.data.length;
      rows.push({ hash: s.hashes[i]!, rawSize: raw, storedSize: c.payload.length, codec: c.codec, bases: c.bases, depth: c.depth, data: c.payload });
      this.acc.newRawBytes += raw;
      this.acc.newStoredBytes += c.payload.length;
      if (c.bases.length) {
        this.acc.deltaRawBytes += raw;
        this.acc.deltaStoredBytes += c.payload.length;
      }
    }
    const newIds = rows.length ? await this.backend.insertChunks(rows) : [];
    this.acc.newChunks += rows.length;
    s.freshAt.forEach((i, j) => {
      this.local.set(s.hashes[i]!.toString('base64'), newIds[j]!);
      const r = rows[j]!;
      this.fresh.set(newIds[j]!, { hash: r.hash, rawSize: r.rawSize, storedSize: r.storedSize, delta: r.bases.length > 0, fingerprint: enc[j]!.fingerprint });
      s.settle[j]!.resolve(newIds[j]!);
    });
  }

  /** A chunk stored after the pieces, for no file position of its own (a whole grid cell that pieces are slices of). */
  added(rawSize: number, storedSize: number): void {
    this.acc.newChunks++;
    this.acc.newRawBytes += rawSize;
    this.acc.newStoredBytes += storedSize;
  }

  /** A fresh chunk's payload was replaced by a delta of `storedSize` bytes (a PERMUTE rewrite): the accounting follows. */
  rewrote(id: number, storedSize: number): void {
    const f = this.fresh.get(id);
    if (!f) return;
    this.acc.newStoredBytes += storedSize - f.storedSize;
    if (f.delta) this.acc.deltaStoredBytes += storedSize - f.storedSize;
    else {
      this.acc.deltaRawBytes += f.rawSize;
      this.acc.deltaStoredBytes += storedSize;
    }
    f.storedSize = storedSize;
    f.delta = true;
  }
}
