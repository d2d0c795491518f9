/**
 * `approximate` end to end, on both databases, with models the test builds:
 * a base MLP and a "fine-tune" (every weight moved ~2%), evaluated by
 * onnxruntime on rows labelled by the fine-tune. The lossy version is
 * checked independently (its bytes run again here on the held-out rows),
 * the original is checked unchanged, and bad input is checked to write nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_BLOCK_BYTES, approximate } from '../../src/approx/approximate.js';
import { readEvalData, readLabels, splitRows } from '../../src/approx/eval-data.js';
import { onnxReader } from '../../src/formats/index.js';
import type { TensorSegment } from '../../src/formats/index.js';
import { BufferSource } from '../../src/io/file-source.js';
import { lossyOf } from '../../src/wire/lossy.js';
import type { Store } from '../../src/store/store.js';
import { CHUNK, SIZES, family, npy, sha, top1 } from '../helpers/approx-family.js';
import type { Family } from '../helpers/approx-family.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildOnnx } from '../helpers/build-onnx.js';
import type { OnnxNode } from '../helpers/build-onnx.js';
import { randomWeights, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { BackendKind } from '../helpers/store-fixtures.js';
import { SKETCH_SCHEMES } from '../../src/approx/sketch.js';
import { mlpModel } from '../serve/mlp-model.js';

const ROWS = 600;

interface FamilyStore {
  store: Store;
  dir: string;
  /** The store's location. */
  path: string;
  f: Family;
}

/** Runs fn on a fresh store holding the family's base (imported at CHUNK) and, unless `tuned` is false, its tuned model. */
async function withFamily(fn: (s: FamilyStore) => Promise<void>, opts: { kind?: BackendKind; weights?: 'F16' | 'BF16'; tuned?: boolean } = {}): Promise<void> {
  const { store, dir, path, cleanup } = await tempStore(opts.kind);
  try {
    const f = await family(dir, ROWS, opts.weights);
    await store.import(f.basePath, { name: 'base', chunkSize: CHUNK });
    if (opts.tuned !== false) await store.import(f.tunedPath, { name: 'tuned' });
    await fn({ store, dir, path, f });
  } finally {
    await cleanup();
  }
}

async function storedBytes(store: Store): Promise<{ stored: number; models: number; chunks: number }> {
  const t = await store.totals();
  return { stored: t.storedBytes, models: t.models, chunks: t.chunks };
}

for (const kind of await testBackends()) {
  test(`${kind}: approx stores a lossy version within the bound, checked on held-out rows; the original stays; removing it frees what the replaced blocks needed`, async () => {
    await withFamily(async ({ store, f }) => {
      const lines: string[] = [];
      const r = await approximate(store, { name: 'tuned' }, f.data, f.labels, { maxDrop: 0.02, onProgress: (l) => lines.push(l) });
      assert.ok(r.stored, `stored nothing: ${lines.join('\n')}`);
      assert.equal(r.stored.version, 2);
      const info = r.info;
      assert.equal(info.from, 'tuned:1');
      assert.equal(info.metric, 'accuracy');
      assert.equal(info.before.search, 1);
      assert.equal(info.before.heldOut, 1);
      assert.ok(info.blocks.replaced > 0 && info.blocks.replaced <= info.blocks.candidates && info.blocks.candidates <= info.blocks.total, JSON.stringify(info.blocks));
      assert.ok(info.drop.heldOut <= 0.02 && info.drop.search <= 0.02, JSON.stringify(info.drop));
      assert.equal(info.rows.search + info.rows.heldOut, ROWS);
      assert.ok(info.savedStoredBytes > 0 && info.savedStoredBytes <= info.losslessUniqueStoredBytes);
      assert.deepEqual(lossyOf(r.stored.metadataJson), info);

      // The lossy bytes, run here on the held-out rows, score what the search recorded.
      const [file] = await store.files(r.stored);
      const { bytes } = await store.loadFile(file!);
      assert.equal(sha(bytes), file!.sha256.toString('hex'));
      assert.notEqual(sha(bytes), sha(f.tuned));
      const { heldOut } = splitRows(ROWS, 0.5, 1);
      const answers = await top1(bytes, f.x, [...heldOut]);
      const right = answers.filter((a, i) => a === f.labels[heldOut[i]!]).length;
      assert.equal(right / heldOut.length, info.after.heldOut);
      // Every replaced block is the base's same-position block (the only stored near-identical one).
      const seg = (b: Buffer): TensorSegment[] => onnxReader.read(new BufferSource('m.onnx', b)).segments.filter((s): s is TensorSegment => s.kind === 'tensor' && s.dtype === 'F32');
      let same = 0;
      for (const [i, s] of seg(bytes).entries()) {
        const t = seg(f.base)[i]!;
        for (let o = 0; o < s.length; o += CHUNK) {
          const n = Math.min(CHUNK, s.length - o);
          const got = bytes.subarray(s.offset + o, s.offset + o + n);
          if (got.equals(f.base.subarray(t.offset + o, t.offset + o + n))) same++;
          else assert.ok(got.equals(f.tuned.subarray(s.offset + o, s.offset + o + n)), `${s.name}@${o}: neither the base's block nor the original's`);
        }
      }
      assert.equal(same, info.blocks.replaced);

      // Stored as a version that costs (almost) nothing: its blocks are stored chunks already.
      assert.ok(r.stored.newStoredBytes < 0.02 * bytes.length, `lossy version stored ${r.stored.newStoredBytes} new bytes`);
      // The original is untouched, and export still gives its bytes.
      const [orig] = await store.files((await store.find({ name: 'tuned', version: 1 }))!);
      assert.equal(sha((await store.loadFile(orig!)).bytes), sha(f.tuned));
      assert.equal(lossyOf((await store.find({ name: 'tuned', version: 1 }))!.metadataJson), undefined);

      // Removing the original frees exactly the stored bytes its replaced blocks needed.
      const before = await storedBytes(store);
      await store.remove({ name: 'tuned', version: 1 });
      await store.gc();
      const after = await storedBytes(store);
      assert.equal(before.stored - after.stored, info.savedStoredBytes);
      assert.equal(sha((await store.loadFile(file!)).bytes), file!.sha256.toString('hex'));
      assert.equal((await store.verify(true)).problems.length, 0);
    }, { kind: kind });
  });
}

test('without labels the metric is agreement with the original; an unrelated model gets no candidates and nothing is stored; a dry run stores nothing', async () => {
  await withFamily(async ({ store, dir, f }) => {
    writeFileSync(join(dir, 'other.onnx'), mlpModel(SIZES, 99));
    await store.import(join(dir, 'other.onnx'), { name: 'other', base: null });
    const t0 = await storedBytes(store);
    const dry = await approximate(store, { name: 'tuned' }, f.data, undefined, { maxDrop: 0.01, dryRun: true });
    assert.equal(dry.info.metric, 'agreement');
    assert.equal(dry.info.before.heldOut, 1);
    assert.ok(dry.info.blocks.replaced > 0);
    assert.equal(dry.stored, undefined);
    const none = await approximate(store, { name: 'other' }, f.data, undefined, { maxDrop: 0.01, maxBlockError: 0.05 });
    assert.equal(none.info.blocks.candidates, 0);
    assert.equal(none.stored, undefined);
    assert.deepEqual(await storedBytes(store), t0);
  });
});

test('bad input gets a clear error naming what is wrong, and writes nothing', async () => {
  await withFamily(async ({ store, dir, f }) => {
    writeFileSync(join(dir, 'w.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [4096], data: randomWeights(4096, 1) }]));
    await store.import(join(dir, 'w.safetensors'), { name: 'st' });
    const t0 = await storedBytes(store);
    const wide = join(dir, 'wide.npy');
    npy(wide, ROWS, 17, 1);
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['inner shape', () => approximate(store, { name: 'tuned' }, readEvalData(wide), undefined, { maxDrop: 0.01 }), /wide\.npy|17|16/],
      ['not ONNX', () => approximate(store, { name: 'st' }, f.data, undefined, { maxDrop: 0.01 }), /st:1 is not an ONNX model/],
      ['label out of range', () => approximate(store, { name: 'tuned' }, f.data, new Int32Array(ROWS).fill(7), { maxDrop: 0.01 }), /labels: row 0 has label 7, not a class of output "y" \(0 to 3\)/],
      ['label count', () => approximate(store, { name: 'tuned' }, f.data, new Int32Array(3), { maxDrop: 0.01 }), /3 labels for 600 evaluation rows/],
      ['bound', () => approximate(store, { name: 'tuned' }, f.data, undefined, { maxDrop: 1.5 }), /--max-drop 1\.5/],
      ['output', () => approximate(store, { name: 'tuned' }, f.data, undefined, { maxDrop: 0.01, output: 'nope' }), /--output nope: the model's outputs are y/],
      ['accuracy without labels', () => approximate(store, { name: 'tuned' }, f.data, undefined, { maxDrop: 0.01, metric: 'accuracy' }), /needs labels/],
      ['missing model', () => approximate(store, { name: 'nope' }, f.data, undefined, { maxDrop: 0.01 }), /nope/],
    ];
    for (const [what, run, message] of cases) await assert.rejects(run, message, what);
    assert.throws(() => readLabels(f.labelsPath, ROWS + 1), /y\.json: 600 labels, the evaluation data has 601 rows/);
    // A lossy version is not approximated again.
    const r = await approximate(store, { name: 'tuned' }, f.data, f.labels, { maxDrop: 0.02 });
    assert.ok(r.stored);
    const t1 = await storedBytes(store);
    assert.equal(t1.models, t0.models + 1);
    await assert.rejects(approximate(store, { name: 'tuned', version: 2 }, f.data, f.labels, { maxDrop: 0.02 }), /tuned:2 is itself a lossy version \(of tuned:1\)/);
    assert.deepEqual(await storedBytes(store), t1);
  });
});

test('the block sketches are kept: a second search decodes no pooled block again, and gc drops them with their chunks', async () => {
  await withFamily(async ({ store, path, f }) => {
    await approximate(store, { name: 'tuned' }, f.data, f.labels, { maxDrop: 0.02, dryRun: true });
    const tuned = (await store.find({ name: 'tuned', version: 1 }))!;
    const pool = (await store.relatedBlocks(tuned, 64)).filter((b) => b.rawSize >= MIN_BLOCK_BYTES).map((b) => b.chunkId);
    assert.ok(pool.length >= 8);
    const kept = await store.chunkSketches(pool, SKETCH_SCHEMES.F32, () => assert.fail('a kept sketch was computed again'));
    assert.equal(kept.size, new Set(pool).size);
    // Another scheme's rows are not taken for this one's.
    let computed = 0;
    await store.chunkSketches(pool.slice(0, 2), SKETCH_SCHEMES.F32 + 10, () => (computed++, Buffer.alloc(8)));
    assert.equal(computed, 2);
    await store.remove({ name: 'tuned' });
    await store.remove({ name: 'base' });
    await store.gc();
    assert.deepEqual(await storeSql(path, 'SELECT COUNT(*) AS n FROM chunk_sketches'), [{ n: 0 }]);
  });
});

test('a lossy version made earlier (at another bound) does not make the original\'s blocks look needed: a second approx finds the same candidates', async () => {
  await withFamily(async ({ store, f }) => {
    const first = await approximate(store, { name: 'tuned', version: 1 }, f.data, f.labels, { maxDrop: 0.02 });
    assert.ok(first.stored);
    const again = await approximate(store, { name: 'tuned', version: 1 }, f.data, f.labels, { maxDrop: 0.05, dryRun: true });
    assert.equal(again.info.blocks.candidates, first.info.blocks.candidates);
    assert.equal(again.info.losslessUniqueStoredBytes, first.info.losslessUniqueStoredBytes);
    assert.ok(again.info.blocks.replaced >= first.info.blocks.replaced);
  });
});

for (const weights of ['F16', 'BF16'] as const) {
  test(`${weights} weights: blocks read as half precision are sketched, matched and replaced the same way`, async () => {
    await withFamily(async ({ store, f }) => {
      const r = await approximate(store, { name: 'tuned' }, f.data, f.labels, { maxDrop: 0.02 });
      assert.ok(r.stored, 'nothing stored');
      assert.ok(r.info.blocks.replaced > 0 && r.info.drop.heldOut <= 0.02, JSON.stringify(r.info));
      // Only the half-precision weights were candidates: the float32 biases are under MIN_BLOCK_BYTES.
      const tensors = (await store.show({ name: 'tuned', version: 2 })).tensors;
      assert.ok(tensors.some((t) => t.dtype === weights));
      const [file] = await store.files(r.stored);
      const { heldOut } = splitRows(f.rows, 0.5, 1);
      const answers = await top1((await store.loadFile(file!)).bytes, f.x, [...heldOut]);
      assert.equal(answers.filter((a, i) => a === f.labels[heldOut[i]!]).length / heldOut.length, r.info.after.heldOut);
    }, { weights });
  });
}

/** Every block's bytes in the model's file are the bytes of the chunk it names. */
async function blocksMatchChunks(store: Store, name: string, fileBytes: Buffer): Promise<number> {
  const [file] = await store.files((await store.find({ name }))!);
  const blocks = await store.fileBlocks(file!);
  const chunks = await store.readChunks(blocks.map((b) => b.chunkId));
  blocks.forEach((b, i) => assert.ok(fileBytes.subarray(b.fileOffset, b.fileOffset + b.rawSize).equals(chunks[i]!), `${b.tensor}@${b.tensorOffset}`));
  return blocks.length;
}

test('blocks sit where their chunks are, also when two tensors of one file have the same name (ONNX node names need not be unique)', async () => {
  await withFamily(async ({ store, dir, f }) => {
    assert.equal(await blocksMatchChunks(store, 'base', f.base), 14);
    // Two Constant nodes both named W: two tensors named W/value, of other sizes and contents.
    const constant = (len: number, seed: number): OnnxNode => ({ opType: 'Constant', name: 'W', outputs: [`c${seed}`], attributes: [{ name: 'value', tensor: { dtype: 'F32', shape: [len], data: randomWeights(len, seed) } }] });
    const twins = buildOnnx({ graph: { name: 'g', nodes: [constant(3000, 1), constant(5000, 2)] } });
    writeFileSync(join(dir, 'twins.onnx'), twins);
    await store.import(join(dir, 'twins.onnx'), { name: 'twins' });
    assert.equal(await blocksMatchChunks(store, 'twins', twins), 3 + 5);
  }, { tuned: false });
});

test('a related model holding one chunk as F32 in one tensor and as F16 in another is sketched under each', async () => {
  await withFamily(async ({ store, dir, f }) => {
    // Shares w1 with the family (so it is related), and the same 4 KiB of zeros as F32 and as F16.
    const w1 = onnxReader.read(new BufferSource('b.onnx', f.base)).segments.find((s): s is TensorSegment => s.kind === 'tensor' && s.name === 'w1')!;
    writeFileSync(join(dir, 'z.safetensors'), buildSafetensors([
      { name: 'w1', dtype: 'F32', shape: [128, 64], data: f.base.subarray(w1.offset, w1.offset + w1.length) },
      { name: 'za', dtype: 'F32', shape: [1024], data: Buffer.alloc(4096) },
      { name: 'zb', dtype: 'F16', shape: [2048], data: Buffer.alloc(4096) },
    ]));
    await store.import(join(dir, 'z.safetensors'), { name: 'z' });
    await store.import(f.tunedPath, { name: 'tuned' });
    const r = await approximate(store, { name: 'tuned' }, f.data, f.labels, { maxDrop: 0.02 });
    assert.ok(r.stored && r.info.blocks.replaced > 0);
  }, { tuned: false });
});

test('a chunk another file of the model holds too frees nothing when replaced: not tried', async () => {
  await withFamily(async ({ store, dir, f }) => {
    // The tuned model as a folder: its ONNX file and the same weights as safetensors.
    const pair = join(dir, 'pair');
    mkdirSync(pair);
    writeFileSync(join(pair, 'model.onnx'), f.tuned);
    const tensors = onnxReader.read(new BufferSource('t.onnx', f.tuned)).segments.filter((s): s is TensorSegment => s.kind === 'tensor');
    writeFileSync(join(pair, 'model.safetensors'), buildSafetensors(tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, data: f.tuned.subarray(t.offset, t.offset + t.length) }))));
    await store.import(pair, { name: 'pair' });
    const before = await storedBytes(store);
    const r = await approximate(store, { name: 'pair' }, f.data, f.labels, { maxDrop: 0.02 });
    assert.equal(r.info.blocks.candidates, 0);
    assert.equal(r.info.savedStoredBytes, 0);
    assert.equal(r.stored, undefined);
    assert.deepEqual(await storedBytes(store), before);
  }, { tuned: false });
});
