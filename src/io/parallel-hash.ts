import { createHash } from 'node:crypto';
import { BlockRing } from './block-ring.js';
import type { RingBlock } from './block-ring.js';
import { Sha256Thread } from './sha256-thread.js';
import type { Sha256Stream } from './sha256-thread.js';

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

/** Blocks in flight between the reading thread and the hashing thread. */
const RING = 4;
const SLOT_BYTES = 8 << 20;

/**
 * SHA-256 of a file's blocks, computed on a thread of its own when asked, so
 * that a reader hashes on one core while it decodes or writes on the other,
 * touching every byte once. Blocks are read into a BlockRing; alloc() waits
 * until the thread has hashed the slot it hands out again.
 */
export class ParallelSha256 implements HashingSink {
  private thread?: Sha256Thread;
  private stream?: Sha256Stream;
  private ring?: BlockRing;
  private last?: RingBlock;
  /** Without a thread: this one hashes. */
  private local?: Sha256Sink;

  constructor(useWorker: boolean) {
    if (!useWorker) {
      this.local = new Sha256Sink();
      return;
    }
    this.thread = new Sha256Thread();
    this.ring = new BlockRing(RING, SLOT_BYTES);
    this.stream = this.thread.stream(this.ring);
  }

  alloc(length: number): Buffer {
    if (this.local) return this.local.alloc(length);
    this.last = this.ring!.acquireSync(length);
    return this.last.buf;
  }

  take(block: Buffer): void {
    if (this.local) {
      this.local.take(block);
      return;
    }
    if (!this.last || block.buffer !== this.last.sab) throw new Error('ParallelSha256.take: block was not allocated by alloc()');
    this.stream!.update({ ...this.last, buf: block });
    this.last = undefined;
  }

  async digest(): Promise<Buffer> {
    if (this.local) return this.local.digest();
    try {
      return await this.stream!.digest();
    } finally {
      await this.thread!.close();
    }
  }

  /** Stops the thread without a result (the read failed). */
  async abort(): Promise<void> {
    await this.thread?.close();
  }
}
