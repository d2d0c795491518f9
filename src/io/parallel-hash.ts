import { createHash } from 'node:crypto';
import { BlockRing } from './block-ring.js';
import type { RingBlock } from './block-ring.js';
import { Sha256Thread } from './sha256-thread.js';
import type { Sha256Stream } from './sha256-thread.js';

/** Where a reader puts the blocks of a file it reads in order. */
export interface BlockSink {
  /**
   * A buffer to read the next block into, valid until `RING` (4) more are
   * allocated; a reader may allocate a block or two ahead of the one it
   * takes (a decode in flight), and takes them in order.
   */
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

/** A HashThread's thread and one of its rings, lent to one file's sink; `done` gives the ring back. */
interface LentRing {
  thread: Sha256Thread;
  ring: BlockRing;
  done: () => void;
}

/**
 * A hashing thread and block rings kept for many files read one after
 * another (an export of many files): one thread start for them all, not one
 * per file (~40 ms each, while the reader waits for its first ring slot),
 * and no 32 MiB of fresh shared memory per file. A ring goes back to it when
 * its file's reader is done with every block (release()), for the next file.
 */
export class HashThread {
  private thread?: Sha256Thread;
  private readonly rings: BlockRing[] = [];

  /** A sink for one file: on this thread when `useThread`, else hashing on the caller's. */
  sink(useThread: boolean): ParallelSha256 {
    if (!useThread) return new ParallelSha256();
    this.thread ??= new Sha256Thread();
    const ring = this.rings.pop() ?? new BlockRing(RING, SLOT_BYTES);
    return new ParallelSha256({ thread: this.thread, ring, done: () => this.rings.push(ring) });
  }

  async close(): Promise<void> {
    await this.thread?.close();
    this.thread = undefined;
  }
}

/**
 * SHA-256 of a file's blocks, computed on a HashThread's thread when given
 * one, so that a reader hashes on one core while it decodes or writes on the
 * other, touching every byte once. Blocks are read into the thread's
 * BlockRing; alloc() waits until the thread has hashed the slot it hands out
 * again.
 */
export class ParallelSha256 implements HashingSink {
  private readonly shared?: LentRing;
  private stream?: Sha256Stream;
  /** Blocks handed out and not yet taken, oldest first. */
  private readonly allocated: RingBlock[] = [];
  /** Without a thread: this one hashes. */
  private local?: Sha256Sink;
  private released = false;

  constructor(shared?: LentRing) {
    if (!shared) {
      this.local = new Sha256Sink();
      return;
    }
    this.shared = shared;
    this.stream = shared.thread.stream(shared.ring);
  }

  alloc(length: number): Buffer {
    if (this.local) return this.local.alloc(length);
    const block = this.shared!.ring.acquireSync(length);
    this.allocated.push(block);
    return block.buf;
  }

  take(block: Buffer): void {
    if (this.local) {
      this.local.take(block);
      return;
    }
    const first = this.allocated[0];
    if (!first || block.buffer !== first.sab) throw new Error('ParallelSha256.take: blocks must be taken in the order alloc() gave them');
    this.allocated.shift();
    this.stream!.update({ ...first, buf: block });
  }

  async digest(): Promise<Buffer> {
    if (this.local) return this.local.digest();
    return this.stream!.digest();
  }

  /**
   * The caller is done with every block (the last is still being written
   * after the digest): the ring may serve the next file. Not before: a file
   * read at the same time would be decoded into the blocks still written out.
   */
  release(): void {
    // Once: a ring given back twice would be lent to two files at once.
    if (this.released) return;
    this.released = true;
    this.shared?.done();
  }

  /** Gives up the digest (the read failed): the thread forgets the stream (its ring is not reused: blocks may still be hashing). */
  abort(): void {
    this.stream?.drop();
  }
}
