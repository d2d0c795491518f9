/**
 * The f32 -> f16 / bf16 casts: known values, and agreement with a slow,
 * independent reference (nearest representable value computed in doubles,
 * ties to even) over random and special bit patterns.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32ToBF16Bits, f32ToF16Bits } from '../../src/codec/index.js';
import { Rng } from '../../bench/synth.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
function valueOf(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}
const hex = (x: number): string => '0x' + x.toString(16).padStart(4, '0');

/** Exact value of an f16 bit pattern (Infinity/NaN for the top exponent). */
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1024 + m) * 2 ** (e - 25);
}

// Non-negative finite f16 patterns in increasing order, with their values.
const F16_FINITE: number[] = [];
for (let h = 0; h < 0x7c00; h++) F16_FINITE.push(h);

/** Reference f32 -> f16: binary search for the neighbours, nearest, ties to the even pattern. */
function refF16(w: number): number {
  const x = valueOf(w);
  const sign = (w >>> 16) & 0x8000;
  if (Number.isNaN(x)) return sign | 0x7e00 | ((w >>> 13) & 0x3ff);
  const a = Math.abs(x);
  // Rounding treats 65536 (the next value after 65504 with unbounded exponent) as the overflow point.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = F16_FINITE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (f16Value(mid) <= a) lo = mid;
    else hi = mid;
  }
  if (f16Value(hi) <= a) lo = hi;
  if (f16Value(lo) === a) return sign | lo;
  const up = lo + 1;
  const dLo = a - f16Value(lo);
  const dUp = (up === 0x7c00 ? 65536 : f16Value(up)) - a;
  const pick = dLo < dUp ? lo : dUp < dLo ? up : lo % 2 === 0 ? lo : up;
  return sign | pick;
}

/** Reference f32 -> bf16: the two bf16 neighbours by truncation, nearest in doubles, ties to even. */
function refBF16(w: number): number {
  const x = valueOf(w);
  if (Number.isNaN(x)) return (w >>> 16) | 0x40;
  const sign = w & 0x80000000 ? -1 : 1;
  const down = (w >>> 16) & 0xffff;
  if ((w & 0xffff) === 0) return down;
  const up = down + 1;
  const vDown = Math.abs(valueOf(down << 16));
  // 0x7f80 as a rounding target stands for 2^128 (overflow to Inf).
  const vUp = (up & 0x7fff) === 0x7f80 ? 2 ** 128 : Math.abs(valueOf(up << 16));
  const a = sign * x;
  const dDown = a - vDown;
  const dUp = vUp - a;
  return dDown < dUp ? down : dUp < dDown ? up : down % 2 === 0 ? down : up;
}

describe('f32 -> f16', () => {
  const known: [string, number, number][] = [
    ['1/3', bitsOf(1 / 3), 0x3555],
    ['1', bitsOf(1), 0x3c00],
    ['-2', bitsOf(-2), 0xc000],
    ['65504 (max finite)', bitsOf(65504), 0x7bff],
    ['65519.99 rounds down to max', bitsOf(65519.99), 0x7bff],
    ['65520 (tie) overflows to Inf', bitsOf(65520), 0x7c00],
    ['-65520 -> -Inf', bitsOf(-65520), 0xfc00],
    ['1e10 -> Inf', bitsOf(1e10), 0x7c00],
    ['FLT_MAX -> Inf', 0x7f7fffff, 0x7c00],
    ['+Inf', 0x7f800000, 0x7c00],
    ['-Inf', 0xff800000, 0xfc00],
    ['+0', 0x00000000, 0x0000],
    ['-0', 0x80000000, 0x8000],
    ['2^-14 (min normal)', bitsOf(2 ** -14), 0x0400],
    ['2^-24 (min subnormal)', bitsOf(2 ** -24), 0x0001],
    ['2^-25 (tie) -> 0', bitsOf(2 ** -25), 0x0000],
    ['-2^-25 -> -0', bitsOf(-(2 ** -25)), 0x8000],
    ['1.5 * 2^-25 -> min subnormal', bitsOf(1.5 * 2 ** -25), 0x0001],
    ['3 * 2^-25 (tie 1|2) -> 2', bitsOf(3 * 2 ** -25), 0x0002],
    ['5 * 2^-25 (tie 2|3) -> 2', bitsOf(5 * 2 ** -25), 0x0002],
    ['largest subnormal rounding up to min normal', bitsOf(2 ** -14 - 2 ** -26), 0x0400],
    ['f32 subnormal -> 0', 0x00000001, 0x0000],
    ['1 + 2^-11 (tie) -> 1', bitsOf(1 + 2 ** -11), 0x3c00],
    ['1 + 3 * 2^-11 (tie) -> up', bitsOf(1 + 3 * 2 ** -11), 0x3c02],
    ['default NaN', 0x7fc00000, 0x7e00],
    ['negative NaN', 0xffc00000, 0xfe00],
    ['signalling NaN is quieted', 0x7f800001, 0x7e00],
    ['NaN payload top bits kept', 0x7fa02000, 0x7f01],
  ];
  for (const [name, w, want] of known) {
    it(name, () => assert.equal(hex(f32ToF16Bits(w)), hex(want)));
  }

  it('every f16 value converts back to itself', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16Value(h);
      if (Number.isNaN(v)) continue;
      assert.equal(f32ToF16Bits(bitsOf(v)), h, `f16 ${hex(h)}`);
    }
  });

  it('matches the reference on random and boundary f32 patterns', () => {
    const rng = new Rng(7);
    const cases: number[] = [];
    for (let i = 0; i < 40000; i++) cases.push(rng.u32());
    // Concentrate on the f16 range and its edges: exponents 100..145 with random mantissas.
    for (let i = 0; i < 40000; i++) cases.push(((rng.u32() & 0x80000000) | ((100 + rng.int(46)) << 23) | (rng.u32() & 0x7fffff)) >>> 0);
    // Exact ties and their neighbours around every f16 value in a sample.
    for (let i = 0; i < 5000; i++) {
      const h = rng.int(0x7c00);
      const mid = (f16Value(h) + (h + 1 === 0x7c00 ? 65536 : f16Value(h + 1))) / 2;
      const b = bitsOf(mid);
      cases.push(b, b - 1, b + 1);
    }
    for (const w of cases) assert.equal(hex(f32ToF16Bits(w)), hex(refF16(w)), `f32 0x${w.toString(16)}`);
  });

  it('accepts the same bits as a negative int32', () => {
    assert.equal(f32ToF16Bits(0xc0000000 | 0), 0xc000);
    assert.equal(f32ToF16Bits(0xffc00000 | 0), 0xfe00);
  });
});

describe('f32 -> bf16', () => {
  const known: [string, number, number][] = [
    ['1', 0x3f800000, 0x3f80],
    ['0x3f808000 tie, even stays', 0x3f808000, 0x3f80],
    ['0x3f818000 tie, odd rounds up', 0x3f818000, 0x3f82],
    ['0x3f808001 above tie rounds up', 0x3f808001, 0x3f81],
    ['0x3f807fff below tie rounds down', 0x3f807fff, 0x3f80],
    ['negative tie', 0xbf818000, 0xbf82],
    ['FLT_MAX rounds to Inf', 0x7f7fffff, 0x7f80],
    ['largest value rounding to max finite', 0x7f7f7fff, 0x7f7f],
    ['-FLT_MAX -> -Inf', 0xff7fffff, 0xff80],
    ['+Inf', 0x7f800000, 0x7f80],
    ['-Inf', 0xff800000, 0xff80],
    ['-0', 0x80000000, 0x8000],
    ['f32 subnormal rounds within bf16 subnormals', 0x00008000, 0x0000],
    ['f32 subnormal rounds up', 0x00018000, 0x0002],
    ['default NaN', 0x7fc00000, 0x7fc0],
    ['negative NaN keeps sign', 0xffc00000, 0xffc0],
    ['signalling NaN gets the quiet bit', 0x7f800001, 0x7fc0],
    ['NaN whose rounding would carry stays NaN', 0x7fffffff, 0x7fff],
  ];
  for (const [name, w, want] of known) {
    it(name, () => assert.equal(hex(f32ToBF16Bits(w)), hex(want)));
  }

  it('matches the reference on random patterns and ties', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 100000; i++) {
      let w = rng.u32();
      if (i % 4 === 0) w = ((w & 0xffff0000) | 0x8000) >>> 0; // exact tie
      if (i % 4 === 1) w = ((w & 0xffff0000) | (rng.int(3) + 0x7fff)) >>> 0; // next to a tie
      assert.equal(hex(f32ToBF16Bits(w)), hex(refBF16(w)), `f32 0x${w.toString(16)}`);
    }
  });
});
