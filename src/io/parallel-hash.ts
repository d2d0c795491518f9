import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
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
export class ParallelSha256 implements BlockSink {
  private worker?: Worker;
  private hash?: Hash;
  private result?: Promise<Buffer>;
  private slots: SharedArrayBuffer[] = [];
  private busy = new Int32Array(new SharedArrayBuffer(4 * RING));
  private next = 0;

  constructor(useWorker: boolean) {
    if (!useWorker) {
      this.hash = createHash('sha256');
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
    if (this.hash) return Buffer.allocUnsafe(length);
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
    if (this.hash) {
      this.hash.update(block);
      return;
    }
    const slot = this.next;
    if (block.buffer !== this.slots[slot]) throw new Error('ParallelSha256.take: block was not allocated by alloc()');
    Atomics.store(this.busy, slot, 1);
    this.worker!.postMessage({ slot, sab: block.buffer, length: block.length });
    this.next = (slot + 1) % RING;
  }

  async digest(): Promise<Buffer> {
    if (this.hash) return this.hash.digest();
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
