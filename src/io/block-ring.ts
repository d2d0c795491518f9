/**
 * A fixed set of reusable SharedArrayBuffer slots that a file is read into,
 * block after block. Fresh 8 MiB allocations cost more in page faults than
 * hashing them, and a SharedArrayBuffer reaches worker threads without a copy.
 *
 * A slot has two kinds of holder: a hashing thread, which marks the slot in
 * `busy` (Atomics) and clears the mark when done, so that waiting for it never
 * needs this thread's event loop; and work on this thread (a batch being
 * encoded and stored), registered with holdUntil(). acquire() hands out slots
 * in turn and waits until the next one is free of both, which bounds the
 * memory of everything in flight to `slots` × `slotBytes` (a slot grows
 * for a block bigger than `slotBytes`).
 */
export class BlockRing {
  /** Per slot: 1 while a hashing thread holds it. */
  readonly busy = new Int32Array(new SharedArrayBuffer(4 * 64));
  private readonly sabs: SharedArrayBuffer[] = [];
  private readonly held: (Promise<unknown> | undefined)[] = [];
  private next = 0;

  constructor(readonly slots: number, readonly slotBytes: number) {
    if (slots < 1 || slots > 64) throw new RangeError(`BlockRing: ${slots} slots (1 to 64)`);
  }

  /** The next slot, as a buffer of `length` bytes, once every holder let go of it. */
  async acquire(length: number): Promise<RingBlock> {
    const held = this.held[this.next];
    if (held) await held.catch(() => {});
    return this.acquireSync(length);
  }

  /** acquire() for a caller that never holds slots with holdUntil(). */
  acquireSync(length: number): RingBlock {
    const slot = this.next;
    this.next = (slot + 1) % this.slots;
    this.held[slot] = undefined;
    // The hashing thread clears the mark without this thread's help: a blocking wait cannot deadlock.
    Atomics.wait(this.busy, slot, 1);
    let sab = this.sabs[slot];
    // A block bigger than a slot (one big chunk) grows its slot.
    if (!sab || sab.byteLength < length) this.sabs[slot] = sab = new SharedArrayBuffer(Math.max(length, this.slotBytes));
    return { slot, sab, buf: Buffer.from(sab, 0, length) };
  }

  /** Keeps `slot` from being handed out again until `until` settles. */
  holdUntil(slot: number, until: Promise<unknown>): void {
    const prev = this.held[slot];
    this.held[slot] = prev ? Promise.allSettled([prev, until]) : until;
  }

  /** Marks `slot` as held by a hashing thread (which clears `busy[slot]` and notifies). */
  markHashing(slot: number): void {
    Atomics.store(this.busy, slot, 1);
  }
}

/** One block of a BlockRing: `buf` views the start of `sab`. */
export interface RingBlock {
  slot: number;
  sab: SharedArrayBuffer;
  buf: Buffer;
}
