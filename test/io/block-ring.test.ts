import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BlockRing } from '../../src/io/block-ring.js';
import { Sha256Thread } from '../../src/io/sha256-thread.js';
import { HashThread } from '../../src/io/parallel-hash.js';

test('BlockRing hands a slot out again only when the work holding it has settled', async () => {
  const ring = new BlockRing(2, 16);
  const a = await ring.acquire(16);
  let release!: () => void;
  ring.holdUntil(a.slot, new Promise<void>((r) => (release = r)));
  const b = await ring.acquire(8);
  assert.notEqual(b.slot, a.slot);
  let third: number | undefined;
  const next = ring.acquire(16).then((c) => (third = c.slot));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, undefined, 'slot a is still held');
  release();
  await next;
  assert.equal(third, a.slot);
});

test('BlockRing grows a slot for a block bigger than its slot size', async () => {
  const ring = new BlockRing(1, 16);
  const big = await ring.acquire(100);
  assert.equal(big.buf.length, 100);
  assert.ok(big.sab.byteLength >= 100);
});

test('one Sha256Thread hashes several interleaved streams, each to its own digest', async () => {
  const thread = new Sha256Thread();
  try {
    const ring = new BlockRing(3, 1 << 16);
    const files = [randomBytes(200_000), randomBytes(70_000), Buffer.alloc(0)];
    const streams = files.map(() => thread.stream(ring));
    // Blocks of the files alternate, as an import's files would if they were read side by side.
    for (let off = 0; off < 200_000; off += 1 << 16) {
      files.forEach((f, i) => {
        if (off >= f.length) return;
        const part = f.subarray(off, off + (1 << 16));
        const block = ring.acquireSync(part.length);
        part.copy(block.buf);
        streams[i]!.update(block);
      });
    }
    const digests = await Promise.all(streams.map((s) => s.digest()));
    digests.forEach((d, i) => assert.ok(d.equals(createHash('sha256').update(files[i]!).digest()), `file ${i}`));
  } finally {
    await thread.close();
  }
});

test('a HashThread sink, with and without the thread, gives the SHA-256 of the blocks it is given, file after file and with blocks allocated ahead', async () => {
  const hashing = new HashThread();
  try {
    for (const useThread of [false, true, true]) {
      const data = randomBytes(3 * (8 << 20) + 12345 + (useThread ? 1 : 0));
      const sink = hashing.sink(useThread);
      const parts: Buffer[] = [];
      for (let off = 0; off < data.length; off += 8 << 20) parts.push(data.subarray(off, off + (8 << 20)));
      // Two blocks allocated before the first is taken (a read decoding ahead).
      const ahead: Buffer[] = [];
      for (const part of parts) {
        const block = sink.alloc(part.length);
        part.copy(block);
        ahead.push(block);
        if (ahead.length === 2) sink.take(ahead.shift()!);
      }
      for (const b of ahead) sink.take(b);
      assert.ok((await sink.digest()).equals(createHash('sha256').update(data).digest()), `useThread ${useThread}`);
    }
    // Out of order is refused.
    const sink = hashing.sink(true);
    const a = sink.alloc(10);
    sink.alloc(10);
    assert.throws(() => sink.take(Buffer.alloc(10)), /in the order alloc\(\) gave them/);
    sink.take(a);
    sink.abort();
  } finally {
    await hashing.close();
  }
});

test('a HashThread lends a ring to the next file only once the last one is released: a block still being written is never handed out again', async () => {
  const hashing = new HashThread();
  try {
    const a = hashing.sink(true);
    const last = a.alloc(1000);
    last.fill(7);
    a.take(last);
    await a.digest();
    // The file's last block is written after its digest: another file read meanwhile must not get its memory.
    const b = hashing.sink(true);
    const seen = Array.from({ length: 4 }, () => {
      const blk = b.alloc(1000);
      b.take(blk);
      return blk.buffer;
    });
    assert.ok(!seen.includes(last.buffer), 'the second file got a ring of its own');
    assert.ok(last.every((x) => x === 7), 'the first file\'s last block is intact');
    await b.digest();
    a.release();
    b.release();
    // Released rings serve the next files.
    const c = hashing.sink(true);
    const blk = c.alloc(10);
    c.take(blk);
    await c.digest();
    c.release();
    assert.ok(seen.includes(blk.buffer) || blk.buffer === last.buffer, 'a released ring is reused');
  } finally {
    await hashing.close();
  }
});
