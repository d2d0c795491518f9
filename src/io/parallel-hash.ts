import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Where a reader puts the blocks of a file it reads in order. */
export interface BlockSink {
  /** A buffer to read the next block into (valid until `RING` more blocks are taken). */
  alloc(length: number): Buffer;
  /** The block just read; blocks arrive in file order and cover the file once. */
  take(block: Buffer): void;
}

/** Fresh buffers, nothing done with them: for readers whose caller hashes nothing. */
export const plainBlocks: BlockSink = { alloc: (n) => Buffer.allocUnsafe(n), take: () => {} };

/** A sink that also hashes what it takes (a file's SHA-256, from the blocks it is read or written in). */
export interface HashingSink extends BlockSink {
  digest(): Promise<Buffer>;
}

/** SHA-256 on this thread, of blocks in fresh buffers (or in the buffers `alloc` gives: a file read into one buffer). */
export class Sha256Sink implements HashingSink {
  private hash = createHash('sha256');
  constructor(readonly alloc: (length: number) => Buffer = (n) => Buffer.allocUnsafe(n)) {}
  take(block: Buffer): void {
    this.hash.update(block);
  }
  async digest(): Promise<Buffer> {
    return this.hash.digest();
  }
}

/** Blocks in flight between the reading thread and the hashing worker. */
const RING = 4;

/**
 * SHA-256 of a file's blocks, computed on a worker thread when asked, so that
 * an import hashes whole files on one core while the main thread hashes
 * chunks on the other, reading every byte once. The blocks live in a ring of
 * reused SharedArrayBuffers (fresh 8 MiB allocations cost more in page faults
 * than the hashing itself); a slot is reused only after the worker has hashed
 * it, which the main thread waits for with Atomics.wait.
 */
export class ParallelSha256 implements HashingSink {
  private worker?: Worker;
  /** Without a worker: this thread hashes. */
  private local?: Sha256Sink;
  private result?: Promise<Buffer>;
  private slots: SharedArrayBuffer[] = [];
  private busy = new Int32Array(new SharedArrayBuffer(4 * RING));
  private next = 0;

  constructor(useWorker: boolean) {
    if (!useWorker) {
      this.local = new Sha256Sink();
      return;
    }
    const w = new Worker(new URL('./sha256-worker.js', import.meta.url), { workerData: { busy: this.busy } });
    this.worker = w;
    this.result = new Promise<Buffer>((resolve, reject) => {
      w.once('message', (m: Uint8Array) => resolve(Buffer.from(m)));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`hash worker exited with code ${code}`)));
    });
    // Until digest() is awaited, a failure is only recorded.
    this.result.catch(() => {});
  }

  alloc(length: number): Buffer {
    if (this.local) return this.local.alloc(length);
    const slot = this.next;
    Atomics.wait(this.busy, slot, 1);
    let sab = this.slots[slot];
    if (!sab || sab.byteLength < length) {
      sab = new SharedArrayBuffer(Math.max(length, 8 << 20));
      this.slots[slot] = sab;
    }
    return Buffer.from(sab, 0, length);
  }

  take(block: Buffer): void {
    if (this.local) {
      this.local.take(block);
      return;
    }
    const slot = this.next;
    if (block.buffer !== this.slots[slot]) throw new Error('ParallelSha256.take: block was not allocated by alloc()');
    Atomics.store(this.busy, slot, 1);
    this.worker!.postMessage({ slot, sab: block.buffer, length: block.length });
    this.next = (slot + 1) % RING;
  }

  async digest(): Promise<Buffer> {
    if (this.local) return this.local.digest();
    this.worker!.postMessage(null);
    try {
      return await this.result!;
    } finally {
      await this.worker!.terminate();
    }
  }

  /** Stops the worker without a result (the import failed). */
  async abort(): Promise<void> {
    await this.worker?.terminate();
  }
}
