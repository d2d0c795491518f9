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

function tensorsOf(path: string): Map<string, Buffer> {
  const src = new FileSource(path);
  try {
    const file = readFileSync(path);
    const segs = safetensorsReader.read(src).segments.filter((s): s is TensorSegment => s.kind === 'tensor');
    return new Map(segs.map((s) => [s.name, file.subarray(s.offset, s.offset + s.length)]));
  } finally {
    src.close();
  }
}

test('synthetic family: the fine-tune shares every tensor but the head, the unrelated model none', async () => {
  const { dir, cleanup } = tempDir('tessera-bench-test-');
  try {
    const fam = generateFamily(dir, 6 << 20);
    assert.deepEqual(fam.corpus.models.map((m) => m.name), ['base', 'ft-head', 'unrelated']);
    assert.ok(Math.abs(fam.corpus.bytes - (6 << 20)) < 0.35 * (6 << 20), `about the size asked for: ${fam.corpus.bytes}`);
    const [base, ft, other] = fam.corpus.files.map((f) => tensorsOf(f.abs));
    for (const [name, bytes] of base!) {
      const retrained = name === 'head.weight' || name === 'final_norm.weight';
      assert.equal(bytes.equals(ft!.get(name)!), !retrained, `ft-head ${name}`);
      assert.equal(bytes.equals(other!.get(name)!), false, `unrelated ${name}`);
    }
    const raw = base!.get('layers.0.mlp.up.weight')!;
    const w = new Float32Array(raw.length / 4);
    Buffer.from(w.buffer).set(raw);
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    assert.ok(std > 0.015 && std < 0.025, `weights look like N(0, 0.02): std ${std}`);

    // One run end to end: the bench's use of the store API works with the store as it is.
    const site = new StoreSite(undefined, dir);
    const r = await measureTessera(site, fam.corpus, dir, { reimport: true, repeat: 1, log: () => {} });
    assert.equal(r.totals.models, 3);
    assert.equal(r.totals.logicalBytes, fam.corpus.bytes);
    assert.equal(r.reimportNewChunks, 0);
    assert.ok(r.totals.uniqueRawBytes < fam.corpus.bytes, 'the frozen backbone is stored once');
  } finally {
    cleanup();
  }
});
