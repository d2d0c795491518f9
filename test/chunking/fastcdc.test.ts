import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { DEFAULT_CDC, FastCdc, cdcChunkLengths, type CdcParams } from '../../src/chunking/fastcdc.js';
import { GEAR, GEAR_SEED } from '../../src/chunking/gear.js';

const SMALL: CdcParams = { minSize: 1024, avgSize: 4096, maxSize: 16384 };

/** xorshift32 (13, 17, 5) from `seed`; each 32-bit output as 4 bytes little-endian. See fastcdc.md. */
function xorshiftBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    if ((i & 3) === 0) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
    }
    out[i] = (x >>> ((i & 3) * 8)) & 0xff;
  }
  return out;
}

/** Small deterministic PRNG for split sizes and edit positions. */
function makeRng(seed: number): (bound: number) => number {
  let x = seed >>> 0 || 1;
  return (bound) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % bound;
  };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * The cut rule of fastcdc.md written as plainly as possible, independent of
 * the optimized scanner: unsigned arithmetic, every byte hashed from the chunk
 * start, masks as "top k bits are zero" comparisons.
 */
function referenceLengths(data: Uint8Array, params: CdcParams): number[] {
  const { minSize, avgSize, maxSize } = params;
  const bits = Math.log2(avgSize);
  const smallLimit = 2 ** (32 - (bits + 2)); // (h & maskSmall) == 0  <=>  h < smallLimit
  const largeLimit = 2 ** (32 - (bits - 2));
  const lengths: number[] = [];
  let start = 0;
  let h = 0;
  for (let i = 0; i < data.length; i++) {
    h = (h * 2 + (GEAR[data[i]] >>> 0)) % 2 ** 32;
    const len = i + 1 - start;
    const cut =
      len >= maxSize ||
      (len >= minSize && (len < avgSize ? h < smallLimit : h < largeLimit));
    if (cut) {
      lengths.push(len);
      start = i + 1;
      h = 0;
    }
  }
  if (start < data.length) lengths.push(data.length - start);
  return lengths;
}

/** Chunk lengths when `data` is fed in pieces whose sizes come from `nextSize`. */
function pushedLengths(data: Uint8Array, params: Partial<CdcParams>, nextSize: () => number): number[] {
  const cdc = new FastCdc(params);
  const lengths: number[] = [];
  for (let off = 0; off < data.length; ) {
    const end = Math.min(data.length, off + nextSize());
    lengths.push(...cdc.push(data.subarray(off, end)));
    off = end;
  }
  const last = cdc.finish();
  if (last > 0) lengths.push(last);
  return lengths;
}

function assertBounds(lengths: readonly number[], total: number, params: CdcParams): void {
  assert.equal(sum(lengths), total);
  lengths.forEach((len, k) => {
    assert.ok(len <= params.maxSize, `chunk ${k} longer than maxSize: ${len}`);
    if (k < lengths.length - 1) assert.ok(len >= params.minSize, `chunk ${k} shorter than minSize: ${len}`);
    else assert.ok(len > 0, 'empty last chunk');
  });
}

describe('gear table', () => {
  it('is derived from SHA-256 of the documented seed (values pinned in fastcdc.md)', () => {
    assert.equal(GEAR_SEED, 'tessera/fastcdc/gear/v1/');
    assert.equal(GEAR.length, 256);
    const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
    assert.deepEqual([0, 1, 2, 3, 255].map((i) => hex(GEAR[i])), [
      'a14383bc',
      'e4916c2c',
      'aad2e44c',
      '4055ab4d',
      '19eb4268',
    ]);
    const tableSha = createHash('sha256').update(new Uint8Array(GEAR.buffer, GEAR.byteOffset, GEAR.byteLength)).digest('hex');
    assert.equal(tableSha, 'b26b2e0349b4fd9b81d5d6ae01942aad62f2f2c90e2ff8faaa8d36e7c9bda13d');
  });
});

describe('FastCDC test vector (fastcdc.md)', () => {
  const input = xorshiftBytes(1 << 20, 1);

  it('generates the documented input', () => {
    assert.equal(Buffer.from(input.subarray(0, 8)).toString('hex'), '2120040001060804');
  });

  it('default parameters', () => {
    const lengths = cdcChunkLengths(input);
    assert.deepEqual(lengths, [
      80569, 77399, 50427, 75279, 95019, 80926, 72270, 73838, 65845, 93605, 9436, 67659, 9151, 80465, 37892, 78796,
    ]);
    assert.equal(sha256Hex(lengths.join(',')), 'fa43bdc15800406c6e56e2510cb53f823fee8de37c622d74d359a3a98180dd7d');
  });

  it('small parameters (min 1 KiB, avg 4 KiB, max 16 KiB)', () => {
    const lengths = cdcChunkLengths(input, SMALL);
    assert.equal(lengths.length, 225);
    assert.deepEqual(lengths.slice(0, 10), [3003, 5815, 4449, 5465, 6689, 4137, 1625, 1840, 1906, 1130]);
    assert.equal(sha256Hex(lengths.join(',')), 'd16d23cba5ff734d9563148b6d2c500347282dde2633437159bb468820d1fd1b');
  });
});

describe('FastCDC cut rule', () => {
  const constant = new Uint8Array(600_000);
  const period7 = Uint8Array.from({ length: 600_000 }, (_, i) => (i % 7) * 37);
  const period100 = Uint8Array.from({ length: 600_000 }, (_, i) => (i * 2654435761) % 100);

  const cases: Array<[string, Uint8Array]> = [
    ['random', xorshiftBytes(3_000_000, 7)],
    ['constant', constant],
    ['period 7', period7],
    ['period 100', period100],
  ];
  for (const [name, data] of cases) {
    for (const params of [DEFAULT_CDC, SMALL, { minSize: 64, avgSize: 128, maxSize: 129 }]) {
      it(`matches the plain byte-by-byte reference: ${name}, ${JSON.stringify(params)}`, () => {
        assert.deepEqual(cdcChunkLengths(data, params), referenceLengths(data, params));
      });
    }
  }

  it('keeps every chunk within [minSize, maxSize] except a shorter last one', () => {
    const data = xorshiftBytes(8 << 20, 11);
    for (const params of [DEFAULT_CDC, SMALL]) {
      assertBounds(cdcChunkLengths(data, params), data.length, params);
    }
    for (const [, d] of cases) assertBounds(cdcChunkLengths(d), d.length, DEFAULT_CDC);
  });

  it('cuts runs of zero bytes (padding) into maxSize chunks', () => {
    // h converges to -GEAR[0] = 0x5ebc7c44, which matches neither mask (fastcdc.md).
    assert.deepEqual(cdcChunkLengths(new Uint8Array(5 * DEFAULT_CDC.maxSize + 10)), [
      ...Array<number>(5).fill(DEFAULT_CDC.maxSize),
      10,
    ]);
  });

  it('averages close to avgSize on random data', () => {
    const data = xorshiftBytes(16 << 20, 12);
    for (const params of [DEFAULT_CDC, SMALL]) {
      const lengths = cdcChunkLengths(data, params);
      const full = lengths.slice(0, -1); // the last chunk is cut by end of input
      const mean = sum(full) / full.length;
      // Expected about 1.1 x avgSize for NC level 2 with min = avg / 8 (see fastcdc.md).
      assert.ok(mean > 0.5 * params.avgSize && mean < 1.5 * params.avgSize, `mean ${mean} for ${JSON.stringify(params)}`);
      // Normalized chunking keeps most chunks near the average.
      const near = full.filter((l) => l >= params.avgSize / 4 && l <= params.avgSize * 2).length;
      assert.ok(near / full.length > 0.8, `only ${near} of ${full.length} chunks within [avg/4, 2avg]`);
    }
  });
});

describe('FastCdc streaming', () => {
  it('is independent of how the input is split into pushes', () => {
    const data = xorshiftBytes(3 << 20, 21);
    for (const params of [DEFAULT_CDC, SMALL]) {
      const whole = cdcChunkLengths(data, params);
      for (const seed of [1, 2, 3]) {
        const rng = makeRng(seed);
        // Mix tiny, empty, odd and large pieces.
        const pieces = [0, 1, 7, 31, 33, 4096, 65_537, 300_000];
        const split = pushedLengths(data, params, () => (rng(4) === 0 ? pieces[rng(pieces.length)] : rng(200_000)));
        assert.deepEqual(split, whole, `seed ${seed}, ${JSON.stringify(params)}`);
      }
      assert.deepEqual(pushedLengths(data, params, () => 8 << 20), whole);
    }
  });

  it('gives the same chunks with 1-byte pushes', () => {
    const data = xorshiftBytes(200_000, 22);
    for (const params of [DEFAULT_CDC, SMALL]) {
      assert.deepEqual(pushedLengths(data, params, () => 1), cdcChunkLengths(data, params));
    }
  });

  it('reports chunks only once they are complete, and resets on finish', () => {
    const data = xorshiftBytes(1 << 20, 1);
    const expected = cdcChunkLengths(data);
    const cdc = new FastCdc();
    for (let round = 0; round < 2; round++) {
      const first = cdc.push(data.subarray(0, expected[0] - 1));
      assert.deepEqual(first, []);
      assert.equal(cdc.pending, expected[0] - 1);
      const rest = cdc.push(data.subarray(expected[0] - 1));
      assert.deepEqual([...rest, cdc.finish()], expected);
      assert.equal(cdc.pending, 0);
      assert.equal(cdc.finish(), 0);
    }
  });

  it('handles zero-length input', () => {
    assert.deepEqual(cdcChunkLengths(new Uint8Array(0)), []);
    const cdc = new FastCdc();
    assert.deepEqual(cdc.push(new Uint8Array(0)), []);
    assert.equal(cdc.finish(), 0);
  });

  it('returns one chunk for input shorter than minSize', () => {
    assert.deepEqual(cdcChunkLengths(new Uint8Array(1)), [1]);
    assert.deepEqual(cdcChunkLengths(xorshiftBytes(DEFAULT_CDC.minSize - 1, 5)), [DEFAULT_CDC.minSize - 1]);
    assert.deepEqual(cdcChunkLengths(xorshiftBytes(DEFAULT_CDC.minSize, 5)), [DEFAULT_CDC.minSize]);
  });

  it('accepts Buffers and subarrays', () => {
    const data = xorshiftBytes(1 << 20, 1);
    const padded = Buffer.alloc(data.length + 3);
    padded.set(data, 3);
    assert.deepEqual(cdcChunkLengths(padded.subarray(3)), cdcChunkLengths(data));
  });
});

describe('FastCDC edit locality', () => {
  /** Content hashes of the chunks, as the store would deduplicate them. */
  function chunkIds(data: Uint8Array): string[] {
    const ids: string[] = [];
    let start = 0;
    for (const len of cdcChunkLengths(data)) {
      ids.push(createHash('sha256').update(data.subarray(start, start + len)).digest('hex'));
      start += len;
    }
    return ids;
  }

  /** How many chunks of `before` are not found among the chunks of `after`. */
  function changedChunks(before: Uint8Array, after: Uint8Array): { total: number; changed: number } {
    const a = chunkIds(before);
    const b = new Set(chunkIds(after));
    return { total: a.length, changed: a.filter((id) => !b.has(id)).length };
  }

  const original = xorshiftBytes(4 << 20, 31);
  const at = 2 << 20;

  it('an insertion in the middle changes only the chunks around it', () => {
    const inserted = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const edited = new Uint8Array(original.length + inserted.length);
    edited.set(original.subarray(0, at), 0);
    edited.set(inserted, at);
    edited.set(original.subarray(at), at + inserted.length);
    const { total, changed } = changedChunks(original, edited);
    assert.ok(total > 40, `expected ~58 chunks, got ${total}`);
    // The chunk holding the edit changes; normalization may move one more cut.
    assert.ok(changed >= 1 && changed <= 3, `${changed} of ${total} chunks changed`);
  });

  it('a deletion in the middle changes only the chunks around it', () => {
    const edited = new Uint8Array(original.length - 100);
    edited.set(original.subarray(0, at), 0);
    edited.set(original.subarray(at + 100), at);
    const { total, changed } = changedChunks(original, edited);
    assert.ok(changed >= 1 && changed <= 3, `${changed} of ${total} chunks changed`);
  });

  it('an overwrite of a few bytes changes one or two chunks', () => {
    const edited = original.slice();
    for (let k = 0; k < 5; k++) edited[at + 1000 + k] ^= 0xff;
    const { total, changed } = changedChunks(original, edited);
    assert.ok(changed >= 1 && changed <= 2, `${changed} of ${total} chunks changed`);
  });
});

describe('FastCdc parameters', () => {
  it('defaults to Xet sizes and fills in missing fields', () => {
    assert.deepEqual({ ...DEFAULT_CDC }, { minSize: 8192, avgSize: 65536, maxSize: 131072 });
    assert.deepEqual({ ...new FastCdc().params }, { ...DEFAULT_CDC });
    assert.deepEqual({ ...new FastCdc({ maxSize: 1 << 20 }).params }, { minSize: 8192, avgSize: 65536, maxSize: 1 << 20 });
    assert.deepEqual({ ...new FastCdc({ avgSize: undefined }).params }, { ...DEFAULT_CDC });
  });

  it('rejects invalid sizes', () => {
    const bad: Array<Partial<CdcParams>> = [
      { avgSize: 60_000 }, // not a power of two
      { minSize: 65536 }, // min == avg
      { maxSize: 65536 }, // max == avg
      { minSize: 100_000, avgSize: 65536, maxSize: 200_000 }, // min > avg
      { minSize: 32, avgSize: 128, maxSize: 512 }, // below the 64-byte floor
      { minSize: 8192.5 },
      { maxSize: Number.NaN },
      { minSize: 1 << 20, avgSize: 1 << 30, maxSize: 2 ** 31 }, // max above 1 GiB
      { avgSize: 0 },
      { avgSize: -65536 },
    ];
    for (const params of bad) {
      assert.throws(() => new FastCdc(params), RangeError, JSON.stringify(params));
    }
  });
});
