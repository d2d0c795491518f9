/**
 * Compression ratios on realistic synthetic weights, 64 KiB chunks: N(0, 0.02)
 * F32 and BF16, a fine-tuned copy (base + N(0, 1e-4)) with its base, and
 * half-precision casts with their F32 source. Prints the ratio per codec.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CODECS, codecName, decodeChunk, encodeChunk, encodeWith, type EncodeInput } from '../../src/codec/index.js';
import { castF32, normalF32, perturbF32, Rng } from '../../bench/synth.js';

const CHUNK = 64 * 1024;
const ELEMENTS = 512 * 1024; // 2 MiB of F32

function chunks(raw: Buffer, dtype: string, extra: (off: number, len: number) => Partial<EncodeInput> = () => ({})): EncodeInput[] {
  const out: EncodeInput[] = [];
  for (let o = 0; o < raw.length; o += CHUNK) {
    const len = Math.min(CHUNK, raw.length - o);
    out.push({ raw: raw.subarray(o, o + len), dtype, ...extra(o, len) });
  }
  return out;
}

/** Ratio (payload / raw) per codec name, plus 'auto'. */
function ratios(inputs: EncodeInput[]): Map<string, number> {
  const total = inputs.reduce((s, x) => s + x.raw.length, 0);
  const sizes = new Map<string, number>();
  const add = (k: string, v: number): void => void sizes.set(k, (sizes.get(k) ?? 0) + v);
  for (const x of inputs) {
    const auto = encodeChunk(x);
    add('auto', auto.payload.length);
    const back = decodeChunk(auto.codec, auto.payload, x.raw.length, x.base, x.castSource?.raw);
    assert.ok(back.equals(x.raw));
    for (const c of ALL_CODECS) {
      const e = encodeWith(c, x);
      if (e) add(codecName(c), e.payload.length);
    }
  }
  return new Map([...sizes].map(([k, v]) => [k, v / total]));
}

function print(title: string, r: Map<string, number>): void {
  console.log(`${title}: ` + [...r].map(([k, v]) => `${k} ${(100 * v).toFixed(2)}%`).join(', '));
}

describe('ratios on synthetic weights', () => {
  const rng = new Rng(2024);
  const f32 = normalF32(rng, ELEMENTS, 0.02);
  const bf16 = castF32(f32, 'BF16');
  const f16 = castF32(f32, 'F16');
  const ft = perturbF32(rng, f32, 1e-4);
  const ftBf16 = castF32(ft, 'BF16');

  it('F32 N(0,0.02): byte planes beat whole-chunk zstd', () => {
    const r = ratios(chunks(f32, 'F32'));
    print('F32 N(0,0.02)', r);
    assert.ok(r.get('PLANES')! < 0.84, 'planes');
    assert.ok(r.get('ZSTD')! > r.get('PLANES')! + 0.05);
    assert.equal(r.get('auto'), r.get('PLANES'));
  });

  it('BF16 N(0,0.02): byte planes beat whole-chunk zstd', () => {
    const r = ratios(chunks(bf16, 'BF16'));
    print('BF16 N(0,0.02)', r);
    assert.ok(r.get('PLANES')! < 0.675, 'planes');
    assert.ok(r.get('ZSTD')! > r.get('PLANES')! + 0.05);
  });

  it('F32 fine-tune (+1e-4): the delta against the base is much smaller than the tensor alone', () => {
    const r = ratios(chunks(ft, 'F32', (o, l) => ({ base: f32.subarray(o, o + l) })));
    print('F32 fine-tune with base', r);
    assert.ok(r.get('DELTA_PLANES')! < 0.8 * r.get('PLANES')!);
    assert.ok(r.get('XOR_PLANES')! < 0.8 * r.get('PLANES')!);
    assert.ok(r.get('auto')! <= r.get('DELTA_PLANES')!);
  });

  it('BF16 fine-tune: the delta against the base is much smaller than the tensor alone', () => {
    const r = ratios(chunks(ftBf16, 'BF16', (o, l) => ({ base: bf16.subarray(o, o + l) })));
    print('BF16 fine-tune with base', r);
    assert.ok(r.get('DELTA_PLANES')! < 0.5 * r.get('PLANES')!);
    assert.ok(r.get('XOR_PLANES')! < 0.5 * r.get('PLANES')!);
  });

  for (const [dtype, half] of [['F16', f16], ['BF16', bf16]] as const) {
    it(`${dtype} cast of an F32 tensor with castSource: a few % of raw at most`, () => {
      const r = ratios(chunks(half, dtype, (o, l) => ({ castSource: { dtype: 'F32', raw: f32.subarray(2 * o, 2 * o + 2 * l) } })));
      print(`${dtype} cast with castSource`, r);
      assert.ok(r.get('auto')! < 0.01);
      assert.ok(r.get(`CAST_${dtype}_PLANES`)! < 0.01);
    });
  }
});
