import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Codec, CodecError, encodeWith } from '../../src/codec/index.js';
import { decodeChunkInto } from '../../src/codec/decode.js';
import { decodePermutePayload, encodePermutePayload, permuteInto, permutedDims } from '../../src/codec/permute.js';
import { addFingerprint, FINGERPRINT_BYTES, valueFingerprint } from '../../src/codec/fingerprint.js';
import { axisOrders } from '../../src/store/import/permute-finder.js';

/** decodeChunk with the source given in pieces, as the store gives a chunk's bases. */
function decodeChunk(codec: number, payload: Buffer, rawSize: number, _base?: undefined, source?: Buffer[]): Buffer {
  const out = Buffer.alloc(rawSize);
  decodeChunkInto(out, codec, payload, undefined, source);
  return out;
}

/** numpy.transpose(source, perm).tobytes(), element by element: the reference. */
function naive(source: Buffer, dims: number[], perm: number[], w: number): Buffer {
  const r = dims.length;
  const t = perm.map((a) => dims[a]!);
  const n = dims.reduce((a, b) => a * b, 1);
  const stride = dims.map((_, a) => dims.slice(a + 1).reduce((x, y) => x * y, 1));
  const out = Buffer.alloc(n * w);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let rest = k;
    for (let i = r - 1; i >= 0; i--) {
      idx[i] = rest % t[i]!;
      rest = Math.floor(rest / t[i]!);
    }
    let off = 0;
    for (let i = 0; i < r; i++) off += idx[i]! * stride[perm[i]!]!;
    source.copy(out, k * w, off * w, off * w + w);
  }
  return out;
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

test('spec vector (codecs.md): a 2×3 byte tensor transposed, the chunk of target elements 2..4', () => {
  const payload = encodePermutePayload({ elementBytes: 1, dims: [2, 3], perm: [1, 0] }, 2);
  assert.equal(payload.toString('hex'), '01010200' + '02000000' + '03000000' + '0100' + '0200000000000000');
  const out = decodeChunk(Codec.PERMUTE, payload, 3, undefined, [Buffer.from([0, 1, 2]), Buffer.from([3, 4, 5])]);
  assert.deepEqual([...out], [1, 4, 2]);
});

test('every axis order of random 2-5-D tensors, any chunk start and length, every element width, aligned or not', () => {
  const r = rng(7);
  for (let iter = 0; iter < 300; iter++) {
    const rank = 2 + Math.floor(r() * 4);
    const dims = Array.from({ length: rank }, () => 1 + Math.floor(r() * 6));
    const w = [1, 2, 4, 8][Math.floor(r() * 4)]!;
    const perm = [...dims.keys()].sort(() => r() - 0.5);
    const n = dims.reduce((a, b) => a * b, 1);
    const source = Buffer.from(Array.from({ length: n * w }, () => Math.floor(r() * 256)));
    const want = naive(source, dims, perm, w);
    const start = Math.floor(r() * n);
    const len = Math.floor(r() * (n - start + 1));
    const shift = iter % 2;
    const out = Buffer.alloc(len * w + shift).subarray(shift);
    permuteInto(out, source, { elementBytes: w, dims, perm }, start);
    assert.deepEqual(out, want.subarray(start * w, (start + len) * w), `dims ${dims} perm ${perm} w ${w} start ${start} len ${len}`);
    assert.deepEqual(permutedDims({ elementBytes: w, dims, perm }), perm.map((a) => dims[a]!));
    const { p, start: s2 } = decodePermutePayload(encodePermutePayload({ elementBytes: w, dims, perm }, start));
    assert.deepEqual([p.dims, p.perm, p.elementBytes, s2], [dims, perm, w, start]);
  }
});

test('malformed payloads and sources: CodecError, nothing read out of bounds', () => {
  const good = encodePermutePayload({ elementBytes: 4, dims: [4, 8], perm: [1, 0] }, 0);
  const src = [Buffer.alloc(128)];
  const bad = (mut: (b: Buffer) => void, raw = 16): void => {
    const b = Buffer.from(good);
    mut(b);
    assert.throws(() => decodeChunk(Codec.PERMUTE, b, raw, undefined, src), CodecError);
  };
  bad((b) => (b[0] = 2)); // version
  bad((b) => (b[1] = 3)); // element size
  bad((b) => (b[2] = 9)); // rank vs length
  bad((b) => (b[12] = 0)); // perm [0, 0]
  bad((b) => b.writeUInt32LE(0, 4)); // a zero dim
  bad((b) => b.writeBigUInt64LE(31n, 14)); // start + 4 elements past 32
  bad(() => {}, 15); // not whole elements
  assert.throws(() => decodeChunk(Codec.PERMUTE, good, 16, undefined, [Buffer.alloc(100)]), /source has 100 bytes/);
  assert.throws(() => decodeChunk(Codec.PERMUTE, good, 16), /needs the source tensor/);
  // The codec search never picks PERMUTE.
  assert.equal(encodeWith(Codec.PERMUTE, { raw: Buffer.alloc(16), dtype: 'F32' }), undefined);
});

test('value fingerprints: the same for every axis order, summed over chunks, different for other values', () => {
  const r = rng(3);
  const dims = [3, 5, 7, 4];
  const n = 3 * 5 * 7 * 4;
  const f = new Float32Array(Array.from({ length: n }, () => r() - 0.5));
  const src = Buffer.from(f.buffer);
  const t = naive(src, dims, [2, 0, 3, 1], 4);
  const whole = valueFingerprint(src, 'F32')!;
  assert.deepEqual(valueFingerprint(t, 'F32'), whole);
  const acc = Buffer.alloc(FINGERPRINT_BYTES);
  for (let at = 0; at < t.length; at += 64) addFingerprint(acc, valueFingerprint(t.subarray(at, at + 64), 'F32')!);
  assert.deepEqual(acc, whole);
  const other = Buffer.from(src);
  other.writeFloatLE(0.25, 40);
  assert.notDeepEqual(valueFingerprint(other, 'F32'), whole);
  assert.equal(valueFingerprint(src, 'I32'), undefined);
  // The definition (fingerprint.ts), computed here independently of the native and JS loops.
  const reference = (b: Buffer, w: 2 | 4): number[] => {
    let [a, q, c] = [0, 0, 0];
    for (let i = 0; i < b.length; i += w) {
      const x = w === 4 ? b.readUInt32LE(i) : b.readUInt16LE(i);
      a = (a + x) >>> 0;
      q = (q + Number((BigInt(x) * BigInt(x)) % 2n ** 32n)) >>> 0;
      c = (c + Number((BigInt((x ^ (x >>> 15)) >>> 0) * 0x2c1b3c6dn) % 2n ** 32n)) >>> 0;
    }
    return [b.length / w, a, q, c];
  };
  const lanes = (f: Buffer): number[] => [0, 4, 8, 12].map((o) => f.readUInt32LE(o));
  assert.deepEqual(lanes(valueFingerprint(src, 'F32')!), reference(src, 4));
  assert.deepEqual(lanes(valueFingerprint(src.subarray(2, 202), 'BF16')!), reference(src.subarray(2, 202), 2));
  assert.equal(valueFingerprint(src.subarray(0, 6), 'F32'), undefined);
  assert.equal(valueFingerprint(src.subarray(1, 9), 'F16')!.readUInt32LE(0), 4);
});

test('axis orders that map a source shape onto a target shape, identity excluded', () => {
  assert.deepEqual(axisOrders([64, 48], [48, 64]), [[1, 0]]);
  assert.deepEqual(axisOrders([3, 3, 8, 16], [16, 3, 3, 8]), [[3, 0, 1, 2], [3, 1, 0, 2]]);
  assert.deepEqual(axisOrders([4, 4], [4, 4]), [[1, 0]]);
  assert.deepEqual(axisOrders([4, 5], [4, 6]), []);
  assert.deepEqual(axisOrders([4, 5], [4, 5, 1]), []);
});
