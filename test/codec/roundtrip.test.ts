/**
 * Property tests: decode(encode(x)) is byte-identical for every codec forced
 * individually and for the automatic choice, over seeded random tensors of
 * every float dtype, random lengths, random or absent bases and cast sources
 * (including special values), unaligned buffers. A failure names the case seed:
 * rerun one case with CODEC_FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ALL_CODECS,
  Codec,
  CodecError,
  codecName,
  codecUsesBase,
  codecUsesCastSource,
  codecUsesTensorSource,
  decodeChunk,
  decodeChunkInto,
  encodeChunk,
  encodeWith,
  type EncodeInput,
  type Encoded,
} from '../../src/codec/index.js';
import { castF32, Rng } from '../../bench/synth.js';

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'F8_E4M3', 'F8_E5M2'] as const;
type Dtype = (typeof DTYPES)[number];
const WIDTH: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1 };

/** Special f32 values mixed into tensors and cast sources. */
const F32_SPECIALS = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0x00000001, 0x807fffff,
  0x38800000, 0x33000000, 0x33000001, 0x477fe000, 0x477ff000, 0x477fefff, 0x7f7fffff, 0xff7fffff, 0x3f808000, 0x3f818000,
];

/** A "weights-like" element value in [0, 1) scale units, occasionally special. */
function randomF32Bits(rng: Rng, sigma: number): number {
  const r = rng.next();
  if (r < 0.03) return rng.pick(F32_SPECIALS);
  if (r < 0.05) return rng.u32(); // any pattern, NaNs included
  if (r < 0.07) return f32Bits(rng.gauss() * 1e5); // overflows f16
  if (r < 0.09) return f32Bits(rng.gauss() * 1e-6); // f16 subnormals
  return f32Bits(rng.gauss() * sigma);
}
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0]!;
}

/** Tensor bytes of `n` elements (+ `extra` stray bytes) of the dtype. */
function tensorBytes(rng: Rng, dtype: Dtype, n: number, extra: number): { raw: Buffer; f32?: Buffer } {
  const f32 = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) f32.writeUInt32LE(randomF32Bits(rng, 0.02), 4 * i);
  let raw: Buffer;
  switch (dtype) {
    case 'F32':
      raw = f32;
      break;
    case 'F64': {
      raw = Buffer.alloc(8 * n);
      for (let i = 0; i < n; i++) raw.writeDoubleLE(rng.next() < 0.05 ? rng.pick([NaN, Infinity, -0, 5e-324]) : rng.gauss() * 0.02, 8 * i);
      break;
    }
    case 'F16':
    case 'BF16':
      raw = castF32(f32, dtype);
      break;
    default:
      raw = rng.bytes(n); // F8: any byte is some value
  }
  return { raw: Buffer.concat([raw, rng.bytes(extra)]), f32 };
}

/** A base for `raw`: identical, perturbed, random, shorter or longer. */
function makeBase(rng: Rng, raw: Buffer, width: number): Buffer | undefined {
  const kind = rng.int(7);
  switch (kind) {
    case 0:
      return undefined;
    case 1:
      return Buffer.from(raw);
    case 2: {
      // flip low bits of some elements (a "fine-tune")
      const b = Buffer.from(raw);
      for (let i = 0; i < b.length; i += width) if (rng.next() < 0.7) b[i] ^= 1 + rng.int(255);
      return b;
    }
    case 3:
      return rng.bytes(raw.length);
    case 4:
      return Buffer.from(raw.subarray(0, rng.int(raw.length + 1)));
    case 5:
      return Buffer.concat([raw, rng.bytes(1 + rng.int(64))]);
    default: {
      // perturbed and of a length that splits an element
      const b = Buffer.from(raw.subarray(0, Math.max(0, raw.length - 1 - rng.int(3))));
      for (let i = 0; i < b.length; i++) if (rng.next() < 0.05) b[i] ^= rng.u32() & 0xff;
      return b;
    }
  }
}

/** Copy into a fresh buffer at an odd byte offset, to exercise the unaligned paths. */
function unaligned(b: Uint8Array): Buffer {
  const big = Buffer.alloc(b.length + 3);
  big.set(b, 3);
  return big.subarray(3);
}

interface Case {
  seed: number;
  input: EncodeInput;
}

function makeCase(seed: number): Case {
  const rng = new Rng(seed);
  const dtype = rng.pick(DTYPES);
  const w = WIDTH[dtype];
  // Mostly small (edge cases), sometimes realistic chunk sizes up to 256 KiB.
  const sizeClass = rng.int(10);
  const n = sizeClass < 3 ? rng.int(4) : sizeClass < 8 ? rng.int(300) : rng.int((256 * 1024) / w + 1);
  const extra = rng.next() < 0.3 ? 1 + rng.int(Math.max(1, w - 1)) : 0;
  const { raw, f32 } = tensorBytes(rng, dtype, n, extra);
  const input: EncodeInput = { raw, dtype: rng.next() < 0.1 ? undefined : dtype };
  const base = makeBase(rng, raw, w);
  if (base !== undefined) input.base = base;
  if ((dtype === 'F16' || dtype === 'BF16') && rng.next() < 0.7 && f32 !== undefined) {
    let src = f32;
    const k = rng.int(4);
    if (k === 1) src = Buffer.from(f32.subarray(0, rng.int(f32.length + 1))); // shorter
    if (k === 2) {
      src = Buffer.from(f32); // the half tensor is not exactly its cast
      for (let i = 0; i < src.length; i++) if (rng.next() < 0.01) src[i] ^= rng.u32() & 0xff;
    }
    if (k === 3) src = Buffer.concat([f32, rng.bytes(8)]); // longer
    input.castSource = { dtype: 'F32', raw: src };
  }
  if (rng.next() < 0.2) {
    input.raw = unaligned(input.raw);
    if (input.base) input.base = unaligned(input.base);
    if (input.castSource) input.castSource = { dtype: 'F32', raw: unaligned(input.castSource.raw) };
  }
  return { seed, input };
}

function describeCase(c: Case): string {
  const x = c.input;
  return `seed=${c.seed} dtype=${x.dtype} len=${x.raw.length} base=${x.base?.length} cast=${x.castSource?.raw.length}`;
}

function checkRoundTrip(c: Case, e: Encoded, label: string): void {
  const x = c.input;
  assert.equal(e.usesBase, codecUsesBase(e.codec));
  assert.equal(e.usesCastSource, codecUsesCastSource(e.codec));
  const out = decodeChunk(e.codec, e.payload, x.raw.length, e.usesBase ? x.base : undefined, e.usesCastSource ? x.castSource?.raw : undefined);
  assert.ok(out.equals(x.raw), `${label} ${codecName(e.codec)}: decode differs (${describeCase(c)})`);
}

const CASES = 600;

describe('round trip', () => {
  const only = process.env['CODEC_FUZZ_SEED'];
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: CASES }, (_, i) => 1000 + i);

  it(`every codec forced, auto, and exhaustive, on ${seeds.length} random cases`, () => {
    const forcedCount = new Map<string, number>();
    for (const seed of seeds) {
      const c = makeCase(seed);
      for (const codec of ALL_CODECS) {
        const e = encodeWith(codec, c.input);
        if (e === undefined) continue;
        assert.equal(e.codec, codec);
        forcedCount.set(codecName(codec), (forcedCount.get(codecName(codec)) ?? 0) + 1);
        checkRoundTrip(c, e, 'forced');
      }
      const auto = encodeChunk(c.input);
      assert.ok(auto.payload.length <= c.input.raw.length, `auto larger than raw (${describeCase(c)})`);
      checkRoundTrip(c, auto, 'auto');
      const full = encodeChunk(c.input, { prune: false });
      assert.ok(full.payload.length <= auto.payload.length, `exhaustive worse than pruned (${describeCase(c)})`);
      checkRoundTrip(c, full, 'exhaustive');
    }
    // Every codec must have been exercised.
    // PERMUTE is the importer's choice from a whole stored tensor, never the search's (test/codec/permute.test.ts).
    if (only === undefined) for (const codec of ALL_CODECS.filter((c) => !codecUsesTensorSource(c))) assert.ok((forcedCount.get(codecName(codec)) ?? 0) > 10, `${codecName(codec)} rarely applicable`);
  });

  it('decodes into unaligned and aligned destinations alike', () => {
    for (let seed = 5000; seed < 5060; seed++) {
      const c = makeCase(seed);
      const e = encodeChunk(c.input);
      const big = Buffer.alloc(c.input.raw.length + 5);
      const dst = big.subarray(5);
      decodeChunkInto(dst, e.codec, e.payload, c.input.base, c.input.castSource?.raw);
      assert.ok(dst.equals(c.input.raw), describeCase(c));
    }
  });

  it('restricting candidates with `only` is honoured', () => {
    for (let seed = 6000; seed < 6040; seed++) {
      const c = makeCase(seed);
      for (const codec of ALL_CODECS) {
        const e = encodeChunk(c.input, { only: [codec] });
        assert.ok(e.codec === codec || e.codec === Codec.RAW, `${codecName(e.codec)} not allowed (${describeCase(c)})`);
        checkRoundTrip(c, e, `only ${codecName(codec)}`);
      }
    }
  });

  it('an exact cast costs almost nothing', () => {
    const rng = new Rng(3);
    for (const dtype of ['F16', 'BF16'] as const) {
      const { f32 } = tensorBytes(rng, 'F32', 16384, 0);
      const raw = castF32(f32!, dtype);
      const e = encodeChunk({ raw, dtype, castSource: { dtype: 'F32', raw: f32! } });
      assert.equal(codecName(e.codec), `CAST_${dtype}_ZSTD`);
      assert.ok(e.payload.length < 64, `${e.payload.length} bytes`);
    }
  });
});

describe('bad input', () => {
  const rng = new Rng(9);
  const raw = castF32(tensorBytes(rng, 'F32', 4096, 0).f32!, 'BF16');
  const base = Buffer.from(raw);
  base[100] ^= 0x55;
  const delta = encodeWith(Codec.DELTA_PLANES, { raw, dtype: 'BF16', base })!;
  const planes = encodeWith(Codec.PLANES, { raw, dtype: 'BF16' })!;

  it('a missing base or cast source is an error', () => {
    assert.throws(() => decodeChunk(delta.codec, delta.payload, raw.length), CodecError);
    const xor = encodeWith(Codec.XOR_ZSTD, { raw, base })!;
    assert.throws(() => decodeChunk(xor.codec, xor.payload, raw.length), CodecError);
    const cast = encodeWith(Codec.CAST_BF16_PLANES, { raw, dtype: 'BF16', castSource: { dtype: 'F32', raw: Buffer.alloc(2 * raw.length) } })!;
    assert.throws(() => decodeChunk(cast.codec, cast.payload, raw.length), CodecError);
  });

  it('unknown codec ids and wrong sizes are errors', () => {
    for (const id of [0x03, 0x10, 0x20, 0x41, 0x40, 0x52, 255, -1]) assert.throws(() => decodeChunk(id, planes.payload, raw.length), CodecError, `id ${id}`);
    assert.throws(() => decodeChunk(Codec.RAW, raw, raw.length + 1), CodecError);
    assert.throws(() => decodeChunk(planes.codec, planes.payload, raw.length + 2), CodecError);
    assert.throws(() => decodeChunk(planes.codec, planes.payload, raw.length - 2), CodecError);
  });

  it('truncated or corrupted payloads throw CodecError, never return wrong-sized data', () => {
    for (const e of [delta, planes, encodeWith(Codec.ZSTD, { raw })!]) {
      for (const cut of [0, 1, 2, 5, e.payload.length - 1]) {
        assert.throws(() => decodeChunk(e.codec, e.payload.subarray(0, cut), raw.length, base), CodecError, `${codecName(e.codec)} cut ${cut}`);
      }
      for (let i = 0; i < 50; i++) {
        const bad = Buffer.from(e.payload);
        bad[rng.int(Math.min(bad.length, 40))] ^= 1 << rng.int(8);
        try {
          const out = decodeChunk(e.codec, bad, raw.length, base);
          assert.equal(out.length, raw.length); // a flipped raw-plane bit decodes to other bytes: fine
        } catch (err) {
          assert.ok(err instanceof CodecError, String(err));
        }
      }
    }
  });
});
