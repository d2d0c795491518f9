import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunkHash } from '../../src/store/format.js';
import { ImportThreads } from '../../src/store/import/import-threads.js';
import { inThreadWork } from '../../src/store/import/chunk-work.js';
import { encodePacked, packedBound, unpackEncoded } from '../../src/store/import/chunk-task.js';
import { encodeChunk, encodeChunkInto } from '../../src/codec/index.js';
import type { EncodeInput } from '../../src/codec/index.js';
import { normalF32, perturbF32, Rng } from '../../bench/synth.js';

function inputs(): EncodeInput[] {
  const rng = new Rng(7);
  const base = normalF32(rng, 1 << 16, 0.02);
  const ft = perturbF32(rng, base, 1e-4);
  // Pieces in a SharedArrayBuffer (as the read ring holds them) and in ordinary buffers.
  const sab = new SharedArrayBuffer(ft.length);
  Buffer.from(sab).set(ft);
  const shared = Buffer.from(sab);
  return [
    { raw: shared.subarray(0, 65536), dtype: 'F32' },
    { raw: shared.subarray(65536, 131072), dtype: 'F32', base: base.subarray(65536, 131072) },
    { raw: Buffer.from(ft.subarray(131072, 140000)) },
    { raw: Buffer.alloc(0) },
    { raw: randomBytes(5000), dtype: 'U8' },
  ];
}

test('packed encoder results unpack to what encodeChunk returns', () => {
  const ins = inputs();
  const got = unpackEncoded(encodePacked(ins));
  assert.equal(got.length, ins.length);
  ins.forEach((i, k) => {
    const want = encodeChunk(i);
    assert.equal(got[k]!.codec, want.codec);
    assert.equal(got[k]!.usesBase, want.usesBase);
    assert.equal(got[k]!.usesCastSource, want.usesCastSource);
    assert.ok(got[k]!.payload.equals(want.payload));
  });
  // Into a result buffer with room for the worst case: packed there, the same results.
  const out = new ArrayBuffer(packedBound(ins));
  const into = encodePacked(ins, out);
  assert.equal(into.buffer, out);
  assert.deepEqual(unpackEncoded(into).map((e) => [e.codec, e.payload.toString('hex')]), got.map((e) => [e.codec, e.payload.toString('hex')]));
  // Too little room: a buffer of its own.
  assert.notEqual(encodePacked(ins, new ArrayBuffer(64)).buffer, out);
});

test('encodeChunkInto writes what encodeChunk returns, and refuses a buffer smaller than the chunk', () => {
  for (const i of inputs()) {
    const want = encodeChunk(i);
    const out = new Uint8Array(i.raw.length + 3);
    const r = encodeChunkInto(i, out);
    assert.deepEqual([r.codec, r.usesBase, r.usesCastSource, r.length], [want.codec, want.usesBase, want.usesCastSource, want.payload.length]);
    assert.ok(Buffer.from(out.subarray(0, r.length)).equals(want.payload));
  }
  assert.throws(() => encodeChunkInto({ raw: Buffer.alloc(100) }, new Uint8Array(99)), /room/);
});

test('worker threads hash and encode exactly as the importing thread does', async () => {
  const threads = new ImportThreads(2);
  try {
    // Before the threads have loaded the importing thread does the work; after, the threads do.
    await threads.loaded;
    const ins = inputs();
    const pieces = ins.map((i) => Buffer.from(i.raw.buffer, i.raw.byteOffset, i.raw.length));
    const [a, b] = [await threads.hash(pieces), await inThreadWork.hash(pieces)];
    assert.deepEqual(a.map((h) => h.toString('hex')), pieces.map((p) => chunkHash(p).toString('hex')));
    assert.deepEqual(a, b);
    const [ea, eb] = [(await threads.encode(ins)).results, (await inThreadWork.encode(ins)).results];
    assert.deepEqual(ea.map((e) => [e.codec, e.usesBase, e.payload.toString('hex')]), eb.map((e) => [e.codec, e.usesBase, e.payload.toString('hex')]));
    // Many tasks at once (as several blocks in flight make) keep their order.
    const many = Array.from({ length: 12 }, (_, i) => randomBytes((1 << 20) + i));
    assert.deepEqual((await threads.hash(many)).map((h) => h.toString('hex')), many.map((p) => chunkHash(p).toString('hex')));
  } finally {
    await threads.close();
  }
});
