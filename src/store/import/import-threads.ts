import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { EncodeInput } from '../../codec/index.js';
import { Sha256Thread } from '../../io/sha256-thread.js';
import { CHUNK_HASH_BYTES } from '../format.js';
import { inThreadWork } from './chunk-work.js';
import type { ChunkWork, EncodedBatch } from './chunk-work.js';
import { packedBound, unpackEncoded } from './chunk-task.js';
import type { ChunkTask } from './chunk-task.js';

function splitHashes(packed: Uint8Array): Buffer[] {
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.length);
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; at += CHUNK_HASH_BYTES) out.push(b.subarray(at, at + CHUNK_HASH_BYTES));
  return out;
}

/**
 * Bytes reach a worker without a copy when they live in a SharedArrayBuffer
 * (the import's read ring); anything else is copied compactly and the copy
 * transferred, since posting a view clones its whole underlying buffer.
 */
function forWorker(b: Uint8Array, transfer: ArrayBuffer[]): Uint8Array {
  if (b.buffer instanceof SharedArrayBuffer) return b;
  const c = new Uint8Array(b);
  transfer.push(c.buffer);
  return c;
}

/** Bytes per hash task: enough to amortize a message, few enough to spread a block over both cores. */
const HASH_TASK_BYTES = 8 << 20;
const ENCODE_TASK_BYTES = 4 << 20;
/**
 * Below these, a batch is hashed or encoded on the importing thread: a task's
 * round trip costs ~40-60 µs of this thread's time (measured: piscina's
 * postTask on the npm package corpus, 3,563 mostly small files), which is
 * what hashing 100 KB or encoding 40 KB costs.
 */
const HASH_IN_THREAD_BELOW = 256 << 10;
const ENCODE_IN_THREAD_BELOW = 128 << 10;
/** Result slots kept for reuse: enough for every task of the blocks in flight. */
const MAX_FREE_SLOTS = 32;

function bytesOf<T>(items: T[], size: (t: T) => number): number {
  let n = 0;
  for (const it of items) n += size(it);
  return n;
}

/** Splits `items` into runs of about `bytes` (by `size`), keeping order. */
function runsOf<T>(items: T[], size: (t: T) => number, bytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let n = 0;
  for (const it of items) {
    cur.push(it);
    n += size(it);
    if (n >= bytes) {
      out.push(cur);
      cur = [];
      n = 0;
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * ChunkWork on a pool of worker threads, one per core, plus one thread for
 * file digests, so that the importing thread only reads and talks to the
 * database. Loaded only for imports big enough to use it (piscina alone takes
 * ~12 ms to load).
 */
export class ImportThreads implements ChunkWork {
  private readonly pool: Piscina<ChunkTask, Uint8Array>;
  /** Buffers encode tasks pack their results into (passed by transfer), free for the next task. */
  private readonly freeSlots: ArrayBuffer[] = [];
  /** Blocks sent before it has loaded wait in its queue: the importing thread reads ahead meanwhile. */
  readonly fileHasher: Sha256Thread;
  /**
   * Whether every pool thread has loaded. One takes ~100-200 ms to start
   * (loading the codecs); a task sent before would wait in its queue while
   * the importing thread idles, so until then the importing thread does it.
   */
  private warm = false;

  constructor(private readonly threads = availableParallelism()) {
    this.pool = new Piscina({
      filename: new URL('./chunk-worker.js', import.meta.url).href,
      minThreads: threads, maxThreads: threads, idleTimeout: 60_000,
      // Tasks are milliseconds long: the atomics wake-up path buys nothing and keeps threads spinning.
      atomics: 'disabled',
    });
    this.fileHasher = new Sha256Thread();
    this.loaded = Promise.all(Array.from({ length: threads }, () => this.pool.run({ op: 'ping' }))).then(() => {
      this.warm = true;
    });
    // A thread that fails to start fails the tasks sent to it later, which say why.
    this.loaded.catch(() => {});
  }

  /** Settles once every pool thread has loaded: work goes to the threads from then on. */
  readonly loaded: Promise<void>;

  async hash(pieces: Buffer[]): Promise<Buffer[]> {
    if (!this.warm || bytesOf(pieces, (p) => p.length) < HASH_IN_THREAD_BELOW) return inThreadWork.hash(pieces);
    const runs = runsOf(pieces, (p) => p.length, this.taskBytes(pieces, (p) => p.length, HASH_TASK_BYTES));
    const parts = await Promise.all(runs.map((run) => {
      const transfer: ArrayBuffer[] = [];
      const task: ChunkTask = { op: 'hash', pieces: run.map((p) => forWorker(p, transfer)) };
      return this.pool.run(task, { transferList: transfer });
    }));
    return parts.flatMap(splitHashes);
  }

  async hashFiles(files: { path: string; size: number }[]): Promise<Buffer[]> {
    if (!this.warm || bytesOf(files, (f) => f.size) < HASH_IN_THREAD_BELOW) return inThreadWork.hashFiles(files);
    const runs = runsOf(files, (f) => f.size, this.taskBytes(files, (f) => f.size, HASH_TASK_BYTES));
    const parts = await Promise.all(runs.map((run) => this.pool.run({ op: 'hashFiles', paths: run.map((f) => f.path) })));
    return parts.flatMap(splitHashes);
  }

  async encode(inputs: EncodeInput[]): Promise<EncodedBatch> {
    if (!this.warm || bytesOf(inputs, (i) => i.raw.length) < ENCODE_IN_THREAD_BELOW) return inThreadWork.encode(inputs);
    const runs = runsOf(inputs, (i) => i.raw.length, this.taskBytes(inputs, (i) => i.raw.length, ENCODE_TASK_BYTES));
    const slots: ArrayBuffer[] = [];
    const release = (): void => {
      for (const slot of slots.splice(0)) if (this.freeSlots.length < MAX_FREE_SLOTS) this.freeSlots.push(slot);
    };
    try {
      const parts = await Promise.all(runs.map(async (run) => {
        // Results are packed into a reused buffer that goes to the worker and comes back by
        // transfer. Fresh buffers, GiB after GiB, made V8 run a full GC every few dozen MB
        // (measured ~0.4 s per GiB imported); a shared one costs a slow copy per payload
        // (V8 copies into shared memory word by word: ~0.25 s per GiB per thread).
        const out = this.slot(packedBound(run));
        const transfer: ArrayBuffer[] = [out];
        const task: ChunkTask = {
          op: 'encode', out,
          inputs: run.map((i) => ({
            raw: forWorker(i.raw, transfer), dtype: i.dtype, base: i.base && forWorker(i.base, transfer),
            castSource: i.castSource && { dtype: i.castSource.dtype, raw: forWorker(i.castSource.raw, transfer) },
          })),
        };
        const packed = await this.pool.run(task, { transferList: transfer });
        slots.push(packed.buffer as ArrayBuffer);
        return unpackEncoded(packed);
      }));
      return { results: parts.flat(), release };
    } catch (e) {
      release();
      throw e;
    }
  }

  /**
   * Bytes per task: at most `max`, and a share of the batch for every thread
   * (a small model's one batch would otherwise be one task on one core while
   * the importing thread waits for it).
   */
  private taskBytes<T>(items: T[], size: (t: T) => number, max: number): number {
    return Math.min(max, Math.ceil(bytesOf(items, size) / this.threads));
  }

  /** A result slot of at least `bytes` (a reused one when one is big enough). */
  private slot(bytes: number): ArrayBuffer {
    const i = this.freeSlots.findIndex((s) => s.byteLength >= bytes);
    if (i >= 0) return this.freeSlots.splice(i, 1)[0]!;
    return new ArrayBuffer(Math.max(bytes, ENCODE_TASK_BYTES + (ENCODE_TASK_BYTES >> 3)));
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.destroy(), this.fileHasher.close()]);
  }
}
