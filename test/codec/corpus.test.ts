/**
 * The trained-digits corpus (../shared/corpus relative to the repo root; the
 * test is skipped when it is absent): every tensor of every safetensors file in
 * 64 KiB chunks, compressed with each codec and with the automatic choice.
 * Prints per file the compressed size per codec, and the auto throughput.
 *
 * Bases: the same-named, same-shaped tensor of base-ckpt3 for ft-*, lora-*,
 * and (informational) base-ckpt1/2 and unrelated; castSource: base-ckpt3 for
 * base-fp16 / base-bf16.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/segments.js';
import { ALL_CODECS, codecName, decodeChunk, encodeChunk, encodeWith, type EncodeInput } from '../../src/codec/index.js';

const CHUNK = 64 * 1024;


const CORPUS = path.resolve(repoRoot(), '../shared/corpus/trained-digits');

interface Tensor {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

/** safetensors: u64 LE header length, JSON header, data_offsets relative to the data area after it. */
function readSafetensors(file: string): Map<string, Tensor> {
  const buf = fs.readFileSync(file);
  assert.ok(buf.length >= 8, `${file}: too short`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.ok(8 + headerLen <= buf.length, `${file}: header length ${headerLen} beyond the file`);
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const data = buf.subarray(8 + headerLen);
  const out = new Map<string, Tensor>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = t.data_offsets;
    assert.ok(begin <= end && end <= data.length, `${file}: ${name} offsets out of range`);
    out.set(name, { dtype: t.dtype, shape: t.shape, bytes: data.subarray(begin, end) });
  }
  return out;
}

interface FileJob {
  family: string;
  name: string;
  inputs: EncodeInput[];
  raw: number;
}

function jobs(): FileJob[] {
  const out: FileJob[] = [];
  for (const family of fs.readdirSync(CORPUS).sort()) {
    const dir = path.join(CORPUS, family);
    if (!fs.statSync(dir).isDirectory()) continue;
    const baseFile = path.join(dir, 'base-ckpt3.safetensors');
    const base = fs.existsSync(baseFile) ? readSafetensors(baseFile) : new Map<string, Tensor>();
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.safetensors')).sort()) {
      const name = f.replace(/\.safetensors$/, '');
      const useBase = /^(ft-|lora|base-ckpt[12]$|unrelated$)/.test(name);
      const useCast = /^base-(fp16|bf16)$/.test(name);
      const inputs: EncodeInput[] = [];
      let raw = 0;
      for (const [tname, t] of readSafetensors(path.join(dir, f))) {
        const b = base.get(tname);
        const sameShape = b !== undefined && b.shape.join() === t.shape.join();
        for (let o = 0; o < t.bytes.length; o += CHUNK) {
          const len = Math.min(CHUNK, t.bytes.length - o);
          const x: EncodeInput = { raw: t.bytes.subarray(o, o + len), dtype: t.dtype };
          if (useBase && sameShape && b.dtype === t.dtype) x.base = b.bytes.subarray(o, o + len);
          if (useCast && sameShape && b.dtype === 'F32') x.castSource = { dtype: 'F32', raw: b.bytes.subarray(2 * o, 2 * o + 2 * len) };
          inputs.push(x);
          raw += len;
        }
      }
      out.push({ family, name, inputs, raw });
    }
  }
  return out;
}

const pct = (n: number, d: number): string => `${((100 * n) / d).toFixed(2)}%`;

describe('trained-digits corpus', { skip: fs.existsSync(CORPUS) ? false : `corpus not found at ${CORPUS}` }, () => {
  const all = fs.existsSync(CORPUS) ? jobs() : [];

  it('per-file compressed size per codec (64 KiB chunks)', () => {
    const totals = new Map<string, number>();
    let rawTotal = 0;
    const lines: string[] = [];
    for (const job of all) {
      const sizes = new Map<string, number>();
      const picks = new Map<string, number>();
      const applied = new Set<string>();
      for (const x of job.inputs) {
        for (const c of ALL_CODECS) {
          // A codec that doesn't apply to this chunk is charged the raw size.
          const e = encodeWith(c, x);
          if (e) applied.add(codecName(c));
          sizes.set(codecName(c), (sizes.get(codecName(c)) ?? 0) + Math.min(e?.payload.length ?? Infinity, x.raw.length));
        }
        const auto = encodeChunk(x);
        sizes.set('auto', (sizes.get('auto') ?? 0) + auto.payload.length);
        picks.set(codecName(auto.codec), (picks.get(codecName(auto.codec)) ?? 0) + 1);
        const back = decodeChunk(auto.codec, auto.payload, x.raw.length, x.base, x.castSource?.raw);
        assert.ok(back.equals(x.raw), `${job.family}/${job.name}: round trip`);
      }
      rawTotal += job.raw;
      totals.set('auto', (totals.get('auto') ?? 0) + sizes.get('auto')!);
      const cols = ['auto', ...ALL_CODECS.map(codecName).filter((k) => k !== 'RAW' && applied.has(k))];
      lines.push(
        `${`${job.family}/${job.name}`.padEnd(24)} ${String(job.raw).padStart(8)} B  ` +
          cols.map((k) => `${k} ${pct(sizes.get(k)!, job.raw)}`).join('  ') +
          `  [auto picks: ${[...picks].map(([k, v]) => `${k}×${v}`).join(' ')}]`,
      );
      if (/^base-(fp16|bf16)$/.test(job.name)) assert.ok(sizes.get('auto')! < 0.01 * job.raw, `${job.name}: cast not recognised`);
      if (/^ft-/.test(job.name) || job.name === 'lora-merged') assert.ok(sizes.get('auto')! < 0.8 * job.raw, `${job.name}: delta not effective`);
    }
    console.log(lines.join('\n'));
    console.log(`all ${all.length} files: ${rawTotal} B raw, auto ${pct(totals.get('auto')!, rawTotal)}`);
  });

  it('auto encode / decode throughput over the corpus', () => {
    const inputs = all.flatMap((j) => j.inputs);
    const raw = inputs.reduce((s, x) => s + x.raw.length, 0);
    let enc = Infinity;
    let dec = Infinity;
    let encoded = inputs.map((x) => encodeChunk(x));
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      encoded = inputs.map((x) => encodeChunk(x));
      enc = Math.min(enc, performance.now() - t0);
      const t1 = performance.now();
      for (let i = 0; i < inputs.length; i++) {
        const x = inputs[i]!;
        decodeChunk(encoded[i]!.codec, encoded[i]!.payload, x.raw.length, x.base, x.castSource?.raw);
      }
      dec = Math.min(dec, performance.now() - t1);
    }
    console.log(`corpus auto: encode ${(raw / 1e3 / enc).toFixed(0)} MB/s, decode ${(raw / 1e3 / dec).toFixed(0)} MB/s (${(raw / 1e6).toFixed(1)} MB, best of 3, one thread)`);
  });
});
