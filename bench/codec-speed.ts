/**
 * Codec throughput: encode and decode MB/s (of raw chunk bytes) and ratio per
 * codec and for the automatic choice, on 64 KiB and 256 KiB chunks of
 * synthetic weights. Single thread; best of several runs, because the machine
 * is shared.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/codec-speed.js [MiB per case, default 8]
 */
import { ALL_CODECS, codecName, decodeChunk, encodeChunk, encodeWith, type CodecId, type EncodeInput, type Encoded } from '../src/codec/index.js';
import { castF32, normalF32, perturbF32, Rng } from './synth.js';

const MiB = 1 << 20;
const totalBytes = Number(process.argv[2] ?? 8) * MiB;
const RUNS = 3;

interface Scenario {
  name: string;
  /** chunk inputs of the requested size, totalling ~totalBytes of raw */
  make(chunk: number): EncodeInput[];
}

function scenarios(): Scenario[] {
  const rng = new Rng(42);
  const f32 = normalF32(rng, totalBytes / 4, 0.02);
  const ft = perturbF32(rng, f32, 1e-4);
  const bf = castF32(f32, 'BF16');
  const bfFt = castF32(ft, 'BF16');
  const f16 = castF32(f32, 'F16');
  const split = (raw: Buffer, chunk: number, extra: (off: number, len: number) => Partial<EncodeInput>, dtype: string): EncodeInput[] => {
    const out: EncodeInput[] = [];
    for (let o = 0; o + chunk <= raw.length; o += chunk) out.push({ raw: raw.subarray(o, o + chunk), dtype, ...extra(o, chunk) });
    return out;
  };
  return [
    { name: 'F32 N(0,0.02)', make: (c) => split(f32, c, () => ({}), 'F32') },
    { name: 'F32 fine-tune (+1e-4) w/ base', make: (c) => split(ft, c, (o, l) => ({ base: f32.subarray(o, o + l) }), 'F32') },
    { name: 'BF16 N(0,0.02)', make: (c) => split(bf, c, () => ({}), 'BF16') },
    { name: 'BF16 fine-tune w/ base', make: (c) => split(bfFt, c, (o, l) => ({ base: bf.subarray(o, o + l) }), 'BF16') },
    { name: 'BF16 cast w/ castSource', make: (c) => split(bf, c, (o, l) => ({ castSource: { dtype: 'F32', raw: f32.subarray(2 * o, 2 * o + 2 * l) } }), 'BF16') },
    { name: 'F16 cast w/ castSource', make: (c) => split(f16, c, (o, l) => ({ castSource: { dtype: 'F32', raw: f32.subarray(2 * o, 2 * o + 2 * l) } }), 'F16') },
  ];
}

interface Row {
  codec: string;
  ratio: number;
  encMBs: number;
  decMBs: number;
}

function measure(inputs: EncodeInput[], enc: (x: EncodeInput) => Encoded | undefined): Row | undefined {
  const raw = inputs.reduce((s, x) => s + x.raw.length, 0);
  let encoded: (Encoded | undefined)[] = [];
  let bestEnc = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    encoded = inputs.map(enc);
    bestEnc = Math.min(bestEnc, performance.now() - t0);
  }
  if (encoded.some((e) => e === undefined)) return undefined;
  const encs = encoded as Encoded[];
  let bestDec = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      decodeChunk(encs[i]!.codec, encs[i]!.payload, x.raw.length, x.base, x.castSource?.raw);
    }
    bestDec = Math.min(bestDec, performance.now() - t0);
  }
  // One checked pass outside the timing.
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    const d = decodeChunk(encs[i]!.codec, encs[i]!.payload, x.raw.length, x.base, x.castSource?.raw);
    if (!d.equals(x.raw)) throw new Error(`round trip failed for ${codecName(encs[i]!.codec)}`);
  }
  const size = encs.reduce((s, e) => s + e.payload.length, 0);
  const picked = new Map<string, number>();
  for (const e of encs) picked.set(codecName(e.codec), (picked.get(codecName(e.codec)) ?? 0) + 1);
  return {
    codec: [...picked.keys()].join('+'),
    ratio: size / raw,
    encMBs: raw / 1e3 / bestEnc,
    decMBs: raw / 1e3 / bestDec,
  };
}

function fmt(label: string, r: Row): string {
  return `  ${label.padEnd(18)} ${(100 * r.ratio).toFixed(2).padStart(7)}%  enc ${r.encMBs.toFixed(0).padStart(5)} MB/s  dec ${r.decMBs.toFixed(0).padStart(5)} MB/s${label === 'auto' ? `  (${r.codec})` : ''}`;
}

// Warm-up: get every encode/decode path through V8's optimising tier first,
// so the first measured case isn't charged for compilation.
for (const sc of scenarios()) {
  const inputs = sc.make(64 * 1024).slice(0, 32);
  measure(inputs, (x) => encodeChunk(x));
  for (const c of ALL_CODECS) measure(inputs, (x) => encodeWith(c, x));
}

for (const chunk of [64 * 1024, 256 * 1024]) {
  for (const sc of scenarios()) {
    const inputs = sc.make(chunk);
    console.log(`${sc.name}, ${chunk / 1024} KiB chunks, ${(inputs.length * chunk) / MiB} MiB`);
    const auto = measure(inputs, (x) => encodeChunk(x));
    if (auto) console.log(fmt('auto', auto));
    for (const c of ALL_CODECS) {
      const codec: CodecId = c;
      const row = measure(inputs, (x) => encodeWith(codec, x));
      if (row) console.log(fmt(codecName(codec), row));
    }
  }
}
