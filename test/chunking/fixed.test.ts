import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { FixedCutter, fixedChunkCount, fixedChunkLengths, fixedChunks, phasedPieces } from '../../src/chunking/fixed.js';

describe('fixed tensor chunking', () => {
  it('cuts from the first byte, last piece shorter', () => {
    assert.deepEqual(fixedChunkLengths(10, 4), [4, 4, 2]);
    assert.deepEqual([...fixedChunks(10, 4)], [
      { offset: 0, length: 4 },
      { offset: 4, length: 4 },
      { offset: 8, length: 2 },
    ]);
    assert.equal(fixedChunkCount(10, 4), 3);
  });

  it('handles exact multiples, short and empty tensors', () => {
    assert.deepEqual(fixedChunkLengths(12, 4), [4, 4, 4]);
    assert.deepEqual(fixedChunkLengths(3, 4), [3]);
    assert.deepEqual(fixedChunkLengths(4, 4), [4]);
    assert.deepEqual(fixedChunkLengths(0, 4), []);
    assert.deepEqual([...fixedChunks(0, 4)], []);
    assert.equal(fixedChunkCount(0, 4), 0);
  });

  it('iterates huge tensors lazily with exact offsets', () => {
    const length = 5 * 2 ** 32 + 123; // 20 GiB: offsets beyond 32 bits
    const chunkSize = 64 << 20;
    assert.equal(fixedChunkCount(length, chunkSize), 321);
    let expected = 0;
    let count = 0;
    let last = 0;
    for (const piece of fixedChunks(length, chunkSize)) {
      assert.equal(piece.offset, expected);
      expected += piece.length;
      last = piece.length;
      count++;
    }
    assert.equal(expected, length);
    assert.equal(count, 321);
    assert.equal(last, 123);
  });

  it('agrees between the array and the iterator', () => {
    for (const [length, size] of [[1, 1], [1000, 7], [65536, 65536], [65537, 65536]] as const) {
      assert.deepEqual(fixedChunkLengths(length, size), [...fixedChunks(length, size)].map((c) => c.length));
    }
  });

  it('rejects bad arguments', () => {
    for (const [length, size] of [[-1, 4], [1.5, 4], [10, 0], [10, -4], [10, 2.5], [Number.NaN, 4], [2 ** 53, 4]]) {
      assert.throws(() => fixedChunkLengths(length, size), RangeError);
      assert.throws(() => fixedChunks(length, size), RangeError);
      assert.throws(() => fixedChunkCount(length, size), RangeError);
    }
  });

  it('phasedPieces: the pieces FixedCutter cuts a part at a phase into, in whole-tensor coordinates', () => {
    assert.deepEqual(phasedPieces(6, 7, 4), [[6, 8], [8, 12], [12, 13]]);
    assert.deepEqual(phasedPieces(8, 4, 4), [[8, 12]]);
    assert.deepEqual(phasedPieces(3, 0, 4), []);
    let x = 7;
    for (let i = 0; i < 500; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const chunk = 1 + (x % 40);
      const phase = (x >>> 8) % 200;
      const length = (x >>> 16) % 300;
      const cutter = new FixedCutter(chunk, phase);
      const lengths = [...cutter.push(new Uint8Array(length))];
      const last = cutter.finish();
      if (last > 0) lengths.push(last);
      assert.deepEqual(phasedPieces(phase, length, chunk).map(([a, b]) => b - a), lengths, `chunk ${chunk} phase ${phase} length ${length}`);
    }
  });
});
