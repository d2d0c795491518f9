import { Worker } from 'node:worker_threads';
import type { BlockRing, RingBlock } from './block-ring.js';

/** What sha256-worker.ts is sent: a block of stream `id` (in a ring slot), its end, or its abandonment. */
export type Sha256Message =
  | { op: 'block'; id: number; sab: SharedArrayBuffer; length: number; busy: Int32Array; slot: number }
  | { op: 'end' | 'drop'; id: number };

/**
 * One long-lived thread that computes whole-file SHA-256 digests for many
 * files, one stream per file: an import of many files pays for one thread
 * start, not one per file. Blocks come from a BlockRing; the thread frees
 * each slot as soon as it has hashed it. Idle, it does not keep the process alive.
 */
export class Sha256Thread {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (d: Buffer) => void; reject: (e: Error) => void }>();
  private failed?: Error;

  constructor() {
    const w = new Worker(new URL('./sha256-worker.js', import.meta.url));
    w.on('message', (m: { id: number; digest: Uint8Array }) => {
      const p = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) w.unref();
      p?.resolve(Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.length));
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => this.fail(new Error(`hash thread exited with code ${code}`)));
    w.unref();
    this.worker = w;
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  /** A new stream: feed it blocks in order, then take its digest. */
  stream(ring: BlockRing): Sha256Stream {
    return new Sha256Stream(this, ring, this.nextId++);
  }

  /** @internal */
  post(m: Sha256Message): void {
    if (this.failed) throw this.failed;
    this.worker.postMessage(m);
  }

  /** @internal */
  end(id: number): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ op: 'end', id } satisfies Sha256Message);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** One file's SHA-256 on a Sha256Thread. */
export class Sha256Stream {
  constructor(private readonly thread: Sha256Thread, private readonly ring: BlockRing, private readonly id: number) {}

  /** Hashes `block` (a slot of the ring this stream was made with) after the blocks before it. */
  update(block: RingBlock): void {
    this.ring.markHashing(block.slot);
    this.thread.post({ op: 'block', id: this.id, sab: block.sab, length: block.buf.length, busy: this.ring.busy, slot: block.slot });
  }

  digest(): Promise<Buffer> {
    return this.thread.end(this.id);
  }

  /** Forgets the stream (the import failed). */
  drop(): void {
    try {
      this.thread.post({ op: 'drop', id: this.id });
    } catch {
      // The thread is gone: nothing to forget.
    }
  }
}
