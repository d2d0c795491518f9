import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusFromDir, modelName } from '../../bench/corpus.js';
import { OptionsError, parseOptions } from '../../bench/options.js';
import { generateFamily } from '../../bench/synthetic.js';
import { StoreSite, measureTessera } from '../../bench/tessera.js';
import { binSize, median } from '../../bench/units.js';
import { FileSource } from '../../src/io/file-source.js';
import { safetensorsReader } from '../../src/formats/index.js';
import type { TensorSegment } from '../../src/formats/index.js';
import { f32ToBF16Bits } from '../../src/codec/cast.js';
import { tempDir } from '../helpers/store-fixtures.js';

test('bench options: sizes, the sweep list, and refusals', () => {
  const o = parseOptions(['--chunk-sizes', '16KiB,64KiB,1MiB', '--synthetic', '1GiB', '--peers', '--json']);
  assert.deepEqual(o.chunkSizes, [16384, 65536, 1 << 20]);
  assert.equal(o.synthetic, 1 << 30);
  assert.equal(o.repeat, 3);
  assert.ok(o.peers && o.json);
  assert.throws(() => parseOptions(['--chunk-sizes', '1KiB']), OptionsError);
  assert.throws(() => parseOptions(['--repeat', '0']), OptionsError);
  assert.throws(() => parseOptions(['--nope']), OptionsError);
});

test('bench units: median and chunk-size labels', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(binSize(65536), '64 KiB');
  assert.equal(binSize(1 << 20), '1 MiB');
});

test('bench corpus: model files in sorted order, named by path without extension, docs skipped', () => {
  const { dir, cleanup } = tempDir('tessera-bench-test-');
  try {
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'z.bin'), Buffer.alloc(100, 1));
    writeFileSync(join(dir, 'a.bin'), Buffer.alloc(50, 2));
    writeFileSync(join(dir, 'README.md'), '# not a model');
    const c = corpusFromDir(dir);
    assert.deepEqual(c.models.map((m) => m.name), ['a', 'b/z']);
    assert.deepEqual(c.files.map((f) => f.rel), ['a.bin', 'b/z.bin']);
    assert.equal(c.bytes, 150);
    assert.equal(modelName('x y/m.v2.onnx'), 'x_y/m.v2');
  } finally {
    cleanup();
  }
});

function tensorsOf(path: string): Map<string, { dtype: string; bytes: Buffer }> {
  const src = new FileSource(path);
  try {
    const file = readFileSync(path);
    const segs = safetensorsReader.read(src).segments.filter((s): s is TensorSegment => s.kind === 'tensor');
    return new Map(segs.map((s) => [s.name, { dtype: s.dtype, bytes: file.subarray(s.offset, s.offset + s.length) }]));
  } finally {
    src.close();
  }
}

/** A copy as 32-bit words (the slice of a file buffer need not be aligned). */
function words(b: Buffer): Uint32Array {
  const w = new Uint32Array(b.length / 4);
  Buffer.from(w.buffer).set(b);
  return w;
}

test('synthetic family: ft-head shares all but the head, ft-full is the base nudged, base-bf16 its cast, unrelated shares nothing', async () => {
  const { dir, cleanup } = tempDir('tessera-bench-test-');
  try {
    const fam = generateFamily(dir, 8 << 20);
    assert.deepEqual(fam.corpus.models.map((m) => m.name), ['base', 'ft-head', 'ft-full', 'base-bf16', 'unrelated']);
    assert.ok(Math.abs(fam.corpus.bytes - (8 << 20)) < 0.35 * (8 << 20), `about the size asked for: ${fam.corpus.bytes}`);
    const [base, ft, full, bf16, other] = fam.corpus.files.map((f) => tensorsOf(f.abs));
    for (const [name, t] of base!) {
      assert.equal(t.dtype, 'F32');
      const retrained = name === 'head.weight' || name === 'final_norm.weight';
      assert.equal(t.bytes.equals(ft!.get(name)!.bytes), !retrained, `ft-head ${name}`);
      assert.equal(t.bytes.equals(other!.get(name)!.bytes), false, `unrelated ${name}`);

      // ft-full: every tensor changed, every weight by little: sign and exponent mostly kept, low mantissa bits differ.
      const f = full!.get(name)!;
      assert.equal(f.dtype, 'F32');
      assert.equal(t.bytes.equals(f.bytes), false, `ft-full ${name} is not the base`);
      const a = words(t.bytes);
      const b = words(f.bytes);
      let sameSignExp = 0;
      let maxDiff = 0;
      const fa = new Float32Array(a.buffer);
      const fb = new Float32Array(b.buffer);
      for (let i = 0; i < a.length; i++) {
        if ((a[i]! >>> 23) === (b[i]! >>> 23)) sameSignExp++;
        maxDiff = Math.max(maxDiff, Math.abs(fb[i]! - fa[i]!));
      }
      assert.ok(sameSignExp > 0.98 * a.length, `ft-full ${name}: sign and exponent kept for ${sameSignExp} of ${a.length}`);
      assert.ok(maxDiff < 1e-3, `ft-full ${name}: changes are small (max ${maxDiff})`);

      // base-bf16: the base cast with round to nearest even, bit for bit as Tessera's own cast predicts it.
      const h = bf16!.get(name)!;
      assert.equal(h.dtype, 'BF16');
      assert.equal(h.bytes.length, t.bytes.length / 2);
      const want = Buffer.alloc(h.bytes.length);
      for (let i = 0; i < a.length; i++) want.writeUInt16LE(f32ToBF16Bits(a[i]!), 2 * i);
      assert.ok(h.bytes.equals(want), `base-bf16 ${name} is the round-to-nearest-even cast`);
    }
    const std = (b: Buffer) => {
      const w = new Float32Array(words(b).buffer);
      return Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    };
    const s = std(base!.get('layers.0.mlp.up.weight')!.bytes);
    assert.ok(s > 0.015 && s < 0.025, `weights look like N(0, 0.02): std ${s}`);

    // One run end to end: the bench's use of the store API works with the store as it is.
    const site = new StoreSite(undefined, dir);
    const r = await measureTessera(site, fam.corpus, dir, { reimport: true, repeat: 1, log: () => {} });
    assert.equal(r.totals.models, 5);
    assert.equal(r.totals.logicalBytes, fam.corpus.bytes);
    assert.equal(r.reimportNewChunks, 0);
    assert.ok(r.totals.uniqueRawBytes < fam.corpus.bytes, 'the frozen backbone is stored once');
    assert.deepEqual(r.models.map((m) => m.ref), ['base:1', 'ft-head:1', 'ft-full:1', 'base-bf16:1', 'unrelated:1']);
    assert.equal(r.models.reduce((n, m) => n + m.logicalBytes, 0), fam.corpus.bytes);
    for (const m of r.models) assert.ok(m.import.median > 0 && m.export.median > 0, `${m.ref} timed`);
    const bf = r.models[3]!;
    assert.ok(bf.deltaSavedBytes > 0.9 * bf.logicalBytes && bf.deltaReadBytes > 0.9 * bf.logicalBytes, 'the bf16 copy is a cast delta');
    assert.equal(r.models[0]!.deltaReadBytes, 0, 'the base decodes no deltas');
  } finally {
    cleanup();
  }
});
