import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BufferSource, FileSource } from '../../src/io/file-source.js';
import { MAX_MODEL_JSON_BYTES, readTfjs, tfjsReader } from '../../src/formats/tfjs.js';
import type { Segmentation, TensorSegment } from '../../src/formats/segment.js';
import { fillGaps } from '../../src/store/import/inputs.js';
import { buildTfjsModel, type TfjsWeight } from '../helpers/build-tfjs.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, repoRoot } from '../helpers/segments.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tfjs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function readFile(path: string): Segmentation {
  const src = new FileSource(path);
  try {
    return tfjsReader.read(src);
  } finally {
    src.close();
  }
}

const strip = (t: TensorSegment) => ({ name: t.name, dtype: t.dtype, shape: t.shape, offset: t.offset, length: t.length });

// 60 + 4 + 4 + 32 + 8 + 3 bytes; with 80-byte shards, 'dense/kernel2' spans bytes 68..100 across the boundary at 80.
const sample: TfjsWeight[] = [
  { name: 'conv/kernel', shape: [3, 5], dtype: 'float32', data: pseudoRandom(60, 1) },
  { name: 'conv/bias', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', min: -0.5, scale: 0.01 }, data: pseudoRandom(4, 2) },
  { name: 'bn/gamma', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' }, data: pseudoRandom(4, 3) },
  { name: 'dense/kernel2', shape: [2, 4], dtype: 'float32', data: pseudoRandom(32, 4) },
  { name: 'ids', shape: [2], dtype: 'int32', data: pseudoRandom(8, 5) },
  { name: 'mask', shape: [3], dtype: 'bool', data: Buffer.from([1, 0, 1]) },
];

test('model.json + 2 shards: one literal, companions per shard, a weight split at the boundary', (t) => {
  const dir = tempDir(t);
  const { shards, sizes, modelJson } = buildTfjsModel(dir, sample, 80);
  assert.deepEqual(sizes, [80, 31]);
  const size = statSync(modelJson).size;
  const head = readFileSync(modelJson).subarray(0, 64);
  assert.ok(tfjsReader.sniff(head, modelJson, size));
  const seg = readFile(modelJson);
  assert.equal(seg.format, 'tfjs');
  assert.deepEqual(seg.segments, [{ kind: 'literal', offset: 0, length: size }]);
  assert.equal(seg.companions?.length, 2);
  const [c1, c2] = seg.companions!;
  assert.equal(c1!.relPath, shards[0]);
  assert.equal(c2!.relPath, shards[1]);
  assert.deepEqual(c1!.tensors.map(strip), [
    { name: 'conv/kernel', dtype: 'F32', shape: [3, 5], offset: 0, length: 60 },
    { name: 'conv/bias', dtype: 'U8', shape: [4], offset: 60, length: 4 },
    { name: 'bn/gamma', dtype: 'F16', shape: [2], offset: 64, length: 4 },
    { name: 'dense/kernel2', dtype: 'F32', shape: [3], offset: 68, length: 12 },
  ]);
  assert.deepEqual(c2!.tensors.map(strip), [
    { name: 'dense/kernel2#part2', dtype: 'F32', shape: [5], offset: 0, length: 20 },
    { name: 'ids', dtype: 'I32', shape: [2], offset: 20, length: 8 },
    { name: 'mask', dtype: 'BOOL', shape: [3], offset: 28, length: 3 },
  ]);
  // The caller's fillGaps accepts them, and the bytes are the weights' bytes.
  const bytes = new Map<string, Buffer>();
  for (const c of seg.companions!) {
    const path = join(dir, c.relPath);
    const buf = readFileSync(path);
    const segs = fillGaps(path, buf.length, c.tensors);
    assertCovers(segs, buf.length);
    assert.ok(segs.every((s) => s.kind === 'tensor'), 'shards are all tensor bytes');
    for (const s of c.tensors) bytes.set(s.name, buf.subarray(s.offset, s.offset + s.length));
  }
  for (const w of sample) {
    const got = w.name === 'dense/kernel2' ? Buffer.concat([bytes.get(w.name)!, bytes.get(`${w.name}#part2`)!]) : bytes.get(w.name)!;
    assert.ok(got.equals(w.data), `bytes of ${w.name}`);
  }
});

test('in memory: shard sizes from the option; without them a multi-shard group is left out', (t) => {
  const dir = tempDir(t);
  const { sizes, shards, modelJson } = buildTfjsModel(dir, sample, 80);
  const buf = readFileSync(modelJson);
  const viaDisk = readFile(modelJson);
  const viaOption = readTfjs(new BufferSource('mem/model.json', buf), { shardSize: (p) => (p === shards[0] ? sizes[0] : p === shards[1] ? sizes[1] : undefined) });
  assert.deepEqual(viaOption, viaDisk);
  const blind = tfjsReader.read(new BufferSource('mem/model.json', buf));
  assert.deepEqual(blind, { format: 'tfjs', segments: [{ kind: 'literal', offset: 0, length: buf.length }] });
  // A single-shard group needs no sizes.
  const one = buildTfjsModel(join(dir, 'one'), sample, 1000);
  const single = tfjsReader.read(new BufferSource('mem/model.json', readFileSync(one.modelJson)));
  assert.equal(single.companions?.length, 1);
  assert.equal(single.companions![0]!.tensors.reduce((n, s) => n + s.length, 0), 111);
});

test('a weight crossing two boundaries, not on an element boundary: three UNKNOWN pieces', (t) => {
  const dir = tempDir(t);
  const ws: TfjsWeight[] = [
    { name: 'flags', shape: [3], dtype: 'bool', data: Buffer.from([1, 1, 0]) },
    { name: 'w', shape: [4], dtype: 'float32', data: pseudoRandom(16, 9) },
  ];
  const { modelJson } = buildTfjsModel(dir, ws, 8);
  const seg = readFile(modelJson);
  assert.deepEqual(seg.companions!.map((c) => [c.relPath, c.tensors.map(strip)]), [
    ['group1-shard1of3.bin', [{ name: 'flags', dtype: 'BOOL', shape: [3], offset: 0, length: 3 }, { name: 'w', dtype: 'UNKNOWN', shape: [5], offset: 3, length: 5 }]],
    ['group1-shard2of3.bin', [{ name: 'w#part2', dtype: 'UNKNOWN', shape: [8], offset: 0, length: 8 }]],
    ['group1-shard3of3.bin', [{ name: 'w#part3', dtype: 'UNKNOWN', shape: [3], offset: 0, length: 3 }]],
  ]);
});

test('zero-size weights are skipped; a string weight stops placement for the rest of its group', (t) => {
  const dir = tempDir(t);
  const { modelJson } = buildTfjsModel(dir, [
    { name: 'empty', shape: [0, 4], dtype: 'float32', data: Buffer.alloc(0) },
    { name: 'a', shape: [1], dtype: 'float32', data: pseudoRandom(4, 1) },
    { name: 'vocab', shape: [1], dtype: 'string', data: Buffer.from([2, 0, 0, 0, 0x68, 0x69]) },
    { name: 'b', shape: [1], dtype: 'float32', data: pseudoRandom(4, 2) },
  ], 1000);
  const seg = readFile(modelJson);
  assert.deepEqual(seg.companions!.map((c) => c.tensors.map((s) => s.name)), [['a']]);
});

test('layers model without weights: just the literal; bare weights manifest array is read too', (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'model.json');
  writeFileSync(p, JSON.stringify({ modelTopology: { class_name: 'Sequential', config: {} }, format: 'layers-model' }));
  assert.equal(readFile(p).companions, undefined);
  const m = join(dir, 'x-weights_manifest.json');
  writeFileSync(join(dir, 'x.bin'), pseudoRandom(8, 1));
  writeFileSync(m, JSON.stringify([{ weights: [{ name: 'k', shape: [2], dtype: 'float32' }], paths: ['x.bin'] }], null, 2));
  assert.ok(tfjsReader.sniff(readFileSync(m).subarray(0, 64), m));
  assert.deepEqual(readFile(m).companions!.map((c) => [c.relPath, c.tensors.map(strip)]), [['x.bin', [{ name: 'k', dtype: 'F32', shape: [2], offset: 0, length: 8 }]]]);
});

test('sniff: TF.js heads in .json files only', () => {
  const h = (s: string) => Buffer.from(s);
  assert.ok(tfjsReader.sniff(h('{"format": "graph-model", "generatedBy": "2.1'), 'a/model.json'));
  assert.ok(tfjsReader.sniff(h('{"modelTopology": {"class_name": "Sequential"'), 'x/foo.json'));
  assert.ok(tfjsReader.sniff(h('{\n  "format": "layers-model",\n'), 'MODEL.JSON'));
  assert.ok(tfjsReader.sniff(h('[{"weights": [{"name": "a"'), 'w.json'));
  assert.ok(tfjsReader.sniff(h('[\n' + ' '.repeat(62)), 'foo-weights_manifest.json'));
  assert.ok(!tfjsReader.sniff(h('{"format": "graph-model"'), 'model.bin'));
  assert.ok(!tfjsReader.sniff(h('{"architectures": ["LlamaForCausalLM"], "bos'), 'config.json'));
  assert.ok(!tfjsReader.sniff(h('{"version": "1.0", "truncation": null'), 'tokenizer.json'));
  assert.ok(!tfjsReader.sniff(h('[1, 2, 3]'), 'list.json'));
});

function model(manifest: unknown): Buffer {
  return Buffer.from(JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: manifest }));
}
const NAME = 'models/bad/model.json';
const group = (weights: unknown[], paths: unknown = ['group1-shard1of1.bin']) => [{ paths, weights }];
const W = { name: 'w', shape: [2], dtype: 'float32' };

test('malformed manifests give FormatError naming the file and the field', () => {
  const cases: [Buffer, RegExp][] = [
    [model([{ weights: [W] }]), /weightsManifest\[0\]\.paths is missing/],
    [model(group([W], [])), /weightsManifest\[0\]\.paths is empty/],
    [model(group([W], [7])), /paths\[0\] is not a string/],
    [model([{ paths: ['a.bin'] }]), /weightsManifest\[0\]\.weights is missing/],
    [model(group([{ ...W, shape: [2, -1] }])), /weights\[0\] \('w'\): shape\[1\] = -1 is not a non-negative integer/],
    [model(group([{ ...W, shape: [1.5] }])), /shape\[0\] = 1.5/],
    [model(group([{ ...W, shape: [2 ** 53] }])), /shape\[0\]/],
    [model(group([{ ...W, shape: [2 ** 30, 2 ** 30, 2 ** 30] }])), /more than 2\^53 elements/],
    [model(group([{ ...W, dtype: 'float128' }])), /weights\[0\] \('w'\): unknown dtype "float128"/],
    [model(group([{ ...W, quantization: { dtype: 'int4' } }])), /unknown quantization\.dtype "int4"/],
    [model(group([{ ...W, quantization: { dtype: 'uint8', scale: 'x' } }])), /quantization\.scale/],
    [model(group([{ shape: [1], dtype: 'float32' }])), /weights\[0\]\.name is missing/],
    [model(group([W], ['../secret.bin'])), /paths\[0\].*escapes the model directory/],
    [model(group([W], ['a/../../x.bin'])), /escapes the model directory/],
    [model(group([W], ['/etc/passwd'])), /absolute path/],
    [model(group([W], ['C:\\w.bin'])), /absolute path/],
    [model(group([W], ['https://example.com/w.bin'])), /URL or absolute path/],
    [model(group([W], ['a.bin', './a.bin'])), /names the same file as weightsManifest\[0\]\.paths\[0\]/],
    [model({ paths: [] }), /weightsManifest is not an array/],
    [Buffer.from('{"format": "graph-model", "modelTopology": '), /not valid JSON/],
    [Buffer.from('{"format": "graph-model"}'), /neither modelTopology nor weightsManifest/],
    [Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    [Buffer.alloc(0), /empty/],
  ];
  for (const [buf, re] of cases) assertFormatError(() => tfjsReader.read(new BufferSource(NAME, buf)), NAME, re);
});

test('a huge model.json is refused before it is read', () => {
  const src = new RecordingSource(NAME, Buffer.from('{"modelTopology": {}}'), 1024, MAX_MODEL_JSON_BYTES + 1);
  assertFormatError(() => tfjsReader.read(src), NAME, /above the 67108864-byte limit/);
  assert.equal(src.bytesRead, 0);
});

test('on disk: a missing middle shard, or weights beyond the shards, are errors; fewer weights than shard bytes are not', (t) => {
  const dir = tempDir(t);
  const { shards, modelJson } = buildTfjsModel(dir, sample, 80);
  rmSync(join(dir, shards[0]!));
  assertFormatError(() => readFile(modelJson), modelJson, /paths\[0\]: shard file "group1-shard1of2.bin" is missing/);
  const dir2 = tempDir(t);
  const b = buildTfjsModel(dir2, sample, 80);
  writeFileSync(join(dir2, b.shards[1]!), pseudoRandom(10, 1)); // truncated last shard
  assertFormatError(() => readFile(b.modelJson), b.modelJson, /weightsManifest\[0\]: weights take 111 bytes, but the shard files hold 90/);
  writeFileSync(join(dir2, b.shards[1]!), pseudoRandom(40, 1)); // trailing bytes: a literal for the caller
  const seg = readFile(b.modelJson);
  const segs = fillGaps(join(dir2, b.shards[1]!), 40, seg.companions![1]!.tensors);
  assert.deepEqual(segs.at(-1), { kind: 'literal', offset: 31, length: 9 });
});

function faceApiModelDir(): string | undefined {
  const candidates = [resolve(repoRoot(), 'node_modules/face-api-1715/model'), resolve(repoRoot(), 'node_modules/@vladmandic/face-api/model'), process.env['TESSERA_FACEAPI_MODEL_DIR']];
  return candidates.find((d): d is string => d !== undefined && existsSync(d));
}

test('real TF.js models (@vladmandic/face-api): companions cover every shard byte', (t) => {
  const dir = faceApiModelDir();
  if (!dir) {
    t.skip('@vladmandic/face-api is not installed');
    return;
  }
  const jsons = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(jsons.length > 0);
  for (const f of jsons) {
    const path = join(dir, f);
    const buf = readFileSync(path);
    assert.ok(tfjsReader.sniff(buf.subarray(0, 64), path, buf.length), `${f} sniffs as tfjs`);
    const seg = readFile(path);
    assert.ok(seg.companions && seg.companions.length > 0, `${f} has companions`);
    for (const c of seg.companions) {
      const shard = join(dir, c.relPath);
      const size = statSync(shard).size;
      const total = c.tensors.reduce((n, s) => n + s.length, 0);
      assert.equal(total, size, `${f}: tensors in ${c.relPath} sum to ${total}, the file has ${size} bytes`);
      const segs = fillGaps(shard, size, c.tensors);
      assertCovers(segs, size);
      assert.ok(segs.every((s) => s.kind === 'tensor'), `${f}: ${c.relPath} is all tensors`);
    }
  }
});
