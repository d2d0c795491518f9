import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BANDS, LshIndex, distance, floats, hamming, mulberry32, sketch, valuesOf } from '../../src/approx/sketch.js';

const hex = (s: readonly [number, number] | undefined): string[] | undefined => s?.map((w) => w.toString(16).padStart(8, '0'));

function vectorBlock(): Float32Array {
  const v = new Float32Array(1024);
  for (let i = 0; i < v.length; i++) v[i] = (((i * 37) % 101) - 50) / 50;
  return v;
}

test('the test vector of approx.md: the PRNG stream and the sketch of a known block', () => {
  const r = mulberry32(0x7e55e7a ^ 1024);
  assert.deepEqual([r(), r(), r()], [0x60c9921f, 0xb44c194d, 0x4b23b158]);
  const v = vectorBlock();
  assert.deepEqual(hex(sketch(v)), ['dde4c88a', '53311908']);
  const w = new Float32Array(v);
  for (let i = 0; i < w.length; i += 2) w[i]! *= 1.05;
  assert.deepEqual(hex(sketch(w)), ['dde4c88a', '53311908']);
});

test('blocks with NaN, infinities or only zeros get no sketch', () => {
  assert.equal(sketch(new Float32Array(64)), undefined);
  const v = vectorBlock();
  v[5] = Number.NaN;
  assert.equal(sketch(v), undefined);
  v[5] = Number.POSITIVE_INFINITY;
  assert.equal(sketch(v), undefined);
  assert.equal(sketch(new Float32Array(0)), undefined);
});

test('near blocks agree on most bits, unrelated ones on about half', () => {
  const rnd = mulberry32(7);
  const gauss = (): number => {
    const u = (rnd() + 1) / 2 ** 32;
    const w = (rnd() + 1) / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  };
  const a = Float32Array.from({ length: 16384 }, gauss);
  const near = a.map((x) => x + 0.03 * gauss());
  const other = Float32Array.from({ length: 16384 }, gauss);
  const sa = sketch(a)!;
  assert.ok(hamming(sa, sketch(near)!) <= 6, `near: ${hamming(sa, sketch(near)!)} bits differ`);
  const far = hamming(sa, sketch(other)!);
  assert.ok(far >= 16 && far <= 48, `unrelated: ${far} bits differ`);
});

test('the LSH index returns blocks sharing a band, of the same group (dtype and length) only, closest first', () => {
  const idx = new LshIndex<string>();
  const v = vectorBlock();
  const s = sketch(v)!;
  idx.add('F32:4096', s, 'same');
  idx.add('F32:2048', s, 'other length');
  const flipped: [number, number] = [s[0] ^ 0x1, s[1]];
  idx.add('F32:4096', flipped, 'one bit off');
  const inverse: [number, number] = [~s[0] >>> 0, ~s[1] >>> 0];
  idx.add('F32:4096', inverse, 'opposite');
  assert.deepEqual(idx.candidates('F32:4096', s, 10), ['same', 'one bit off']);
  assert.deepEqual(idx.candidates('F32:4096', s, 1), ['same']);
  assert.equal(idx.size, 4);
  assert.equal(BANDS, 8);
});

test('distance and floats: exact squared error and norm, unaligned bytes copied', () => {
  const { err2, norm2 } = distance(Float32Array.of(1, 2, 2), Float32Array.of(1, 2, 3));
  assert.equal(err2, 1);
  assert.equal(norm2, 9);
  const buf = Buffer.alloc(9);
  buf.writeFloatLE(1.5, 1);
  buf.writeFloatLE(-2, 5);
  assert.deepEqual([...floats(buf.subarray(1))], [1.5, -2]);
});

test('valuesOf reads F16 and BF16 bytes as float32 values', () => {
  const f16 = Buffer.alloc(10);
  [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00].forEach((h, i) => f16.writeUInt16LE(h, 2 * i));
  assert.deepEqual([...valuesOf(f16, 'F16')], [1, -2, 65504, 2 ** -24, Number.POSITIVE_INFINITY]);
  const bf16 = Buffer.alloc(6);
  [0x3f80, 0xc0a0, 0x0000].forEach((h, i) => bf16.writeUInt16LE(h, 2 * i));
  assert.deepEqual([...valuesOf(bf16, 'BF16')], [1, -5, 0]);
  assert.deepEqual([...valuesOf(Buffer.from(Float32Array.of(1.5, -3).buffer), 'F32')], [1.5, -3]);
});
