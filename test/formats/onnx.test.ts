import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource, FileSource } from '../../src/io/file-source.js';
import { checkLocation, onnxReader } from '../../src/formats/onnx.js';
import { safetensorsReader } from '../../src/formats/safetensors.js';
import type { Segmentation } from '../../src/formats/segment.js';
import { buildOnnx, buildOnnxExternal, encodeVarint, ifNode, ProtoWriter, type OnnxModel, type OnnxTensor } from '../helpers/build-onnx.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, corpusDir, sha256, sileroPath, tensorsOf } from '../helpers/segments.js';

const NAME = 'model-under-test.onnx';

function t(name: string | undefined, dtype: string, shape: number[], seed: number, extra: Partial<OnnxTensor> = {}): OnnxTensor {
  const size = { F32: 4, F16: 2, I64: 8, U8: 1, BF16: 2, F64: 8 }[dtype] ?? 1;
  return { name, dtype, shape, data: pseudoRandom(shape.reduce((a, b) => a * b, 1) * size, seed), ...extra };
}

function read(file: Buffer, name = NAME): Segmentation {
  return onnxReader.read(new BufferSource(name, file));
}

/** Checks every expected tensor is a segment over exactly its bytes, and nothing else is. */
function expectTensors(file: Buffer, seg: Segmentation, expected: Array<{ name: string; tensor: OnnxTensor; dtype?: string }>) {
  assertCovers(seg.segments, file.length);
  const found = tensorsOf(seg);
  assert.deepEqual(found.map((s) => s.name).sort(), expected.map((e) => e.name).sort());
  for (const e of expected) {
    const s = found.find((x) => x.name === e.name)!;
    assert.deepEqual(bytesOf(file, s), e.tensor.data, e.name);
    assert.deepEqual(s.shape, e.tensor.shape, e.name);
    assert.equal(s.dtype, e.dtype ?? e.tensor.dtype, e.name);
  }
}

test('initializers: any field order, packed or unpacked dims, several dtypes', () => {
  const inits = [
    t('conv.weight', 'F32', [4, 1, 3, 3], 1),
    t('conv.bias', 'F16', [4], 2, { nameLast: true }),
    t('steps', 'I64', [], 3, { unpackedDims: true }),
    t('lut', 'U8', [2, 5], 4, { unpackedDims: true, nameLast: true }),
    t('proj', 'BF16', [3, 3], 5),
  ];
  const file = buildOnnx(inits);
  const seg = read(file);
  assert.equal(seg.format, 'onnx');
  assert.equal(seg.companions, undefined);
  expectTensors(file, seg, inits.map((x) => ({ name: x.name!, tensor: x })));
  assert.equal(seg.segments[0]!.kind, 'literal');
});

test('subgraphs at any depth, Constant nodes, sparse initializers, functions', () => {
  const outer = t('outer.weight', 'F32', [8], 1);
  const then = t('then.weight', 'F32', [2, 2], 2);
  const otherwise = t('else.weight', 'F32', [2, 3], 3, { nameLast: true });
  const nested = t('nested.weight', 'F64', [3], 4);
  const constant = t(undefined, 'I64', [2], 5);
  const values = t(undefined, 'F32', [3], 6);
  const indices = t('sp.indices', 'I64', [3], 7);
  const fnConst = t('fn.const', 'F32', [2], 8);
  const listed = [t('list.0', 'F32', [1], 9), t(undefined, 'U8', [4], 10)];
  const model: OnnxModel = {
    graph: {
      initializers: [outer],
      sparseInitializers: [{ values, indices, dims: [10] }],
      nodes: [
        { opType: 'Relu', name: 'relu', inputs: ['x'], outputs: ['y'] },
        ifNode(then, otherwise, nested, constant),
        { opType: 'Custom', name: 'custom', attributes: [{ name: 'int_attr', int: -1 }, { name: 'tables', tensors: listed }] },
      ],
    },
    functions: [{ name: 'f', nodes: [{ opType: 'Constant', name: 'fn_c', attributes: [{ name: 'value', tensor: fnConst }] }] }],
  };
  const file = buildOnnx(model);
  const seg = read(file);
  expectTensors(file, seg, [
    { name: 'outer.weight', tensor: outer },
    { name: 'then.weight', tensor: then },
    { name: 'else.weight', tensor: otherwise },
    { name: 'nested.weight', tensor: nested },
    { name: 'k/value', tensor: constant },
    { name: 'ModelProto.graph.sparse_initializer[0]/values', tensor: values },
    { name: 'sp.indices', tensor: indices },
    { name: 'fn.const', tensor: fnConst },
    { name: 'list.0', tensor: listed[0]! },
    { name: 'custom/tables[1]', tensor: listed[1]! },
  ]);
});

test('external data: companions with offsets, lengths, and computed lengths', () => {
  const tensors = [
    { name: 'w1', dtype: 'F32', shape: [16, 4], data: pseudoRandom(256, 1) },
    { name: 'w2', dtype: 'F16', shape: [5], data: pseudoRandom(10, 2) },
    { name: 'w3', dtype: 'I64', shape: [3], data: pseudoRandom(24, 3) },
  ];
  for (const omitLength of [false, true]) {
    const { model, external, offsets } = buildOnnxExternal(tensors, 'weights/model.bin', { omitLength });
    const seg = read(model);
    assertCovers(seg.segments, model.length);
    assert.equal(tensorsOf(seg).length, 0, 'no raw_data in the model itself');
    assert.equal(seg.companions?.length, 1);
    const c = seg.companions![0]!;
    assert.equal(c.relPath, 'weights/model.bin');
    assert.deepEqual(c.tensors.map((x) => [x.name, x.offset, x.length, x.dtype]), tensors.map((x, i) => [x.name, offsets[i], x.data.length, x.dtype]));
    for (const [i, x] of tensors.entries()) assert.deepEqual(bytesOf(external, c.tensors[i]!), x.data);
  }
});

test('external data: several files, shared ranges, normalized paths', () => {
  const ext = (name: string, location: string, offset: number, length: number): OnnxTensor => ({ name, dtype: 'U8', shape: [length], external: { location, offset, length } });
  const file = buildOnnx([ext('a', 'x.bin', 0, 4), ext('b', './sub/../y.bin', 8, 4), ext('tied', 'x.bin', 0, 4), ext('c', 'x.bin', 4, 4)]);
  const seg = read(file);
  assert.deepEqual(seg.companions!.map((c) => [c.relPath, c.tensors.map((x) => x.name)]), [['x.bin', ['a', 'c']], ['y.bin', ['b']]]);
  const overlap = buildOnnx([ext('a', 'x.bin', 0, 8), ext('b', 'x.bin', 4, 8)]);
  assertFormatError(() => read(overlap), NAME, /external data in x.bin: tensor 'b' .* overlaps tensor 'a'/);
});

test('external data: locations and numbers are validated', () => {
  const bad = (external: OnnxTensor['external'], pattern: RegExp, dtype = 'F32') => {
    assertFormatError(() => read(buildOnnx([{ name: 'w', dtype, shape: [4], external }])), NAME, pattern);
  };
  bad({ location: '../secret.bin', offset: 0, length: 16 }, /external tensor 'w': .*escapes the model directory/);
  bad({ location: 'a/../../secret.bin', offset: 0, length: 16 }, /escapes/);
  bad({ location: '..\\secret.bin', offset: 0, length: 16 }, /escapes/);
  bad({ location: '/etc/passwd', offset: 0, length: 16 }, /absolute path/);
  bad({ location: 'C:\\weights.bin', offset: 0, length: 16 }, /absolute path/);
  bad({ location: '', offset: 0, length: 16 }, /location is empty/);
  bad({ location: 'dir/', offset: 0, length: 16 }, /names a directory/);
  bad({ location: 'w.bin', offset: -1, length: 16 }, /offset "-1" is not a non-negative integer/);
  bad({ location: 'w.bin', offset: '12abc', length: 16 }, /offset "12abc"/);
  bad({ location: 'w.bin', offset: 0, length: '1e3' }, /length "1e3"/);
  bad({ location: 'w.bin', offset: '99999999999999999999', length: 4 }, /offset/);
  bad({ location: 'w.bin' }, /has no external_data length/, 'STRING_LIKE');
});

test('data_location EXTERNAL without a location is an error', () => {
  const tensor = new ProtoWriter().packedVarints(1, [4]).varint(2, 1).string(8, 'w').varint(14, 1).finish();
  const graph = new ProtoWriter().message(5, tensor).finish();
  assertFormatError(() => read(new ProtoWriter().message(7, graph).finish()), NAME, /external tensor 'w' has no external_data location/);
});

test('checkLocation normalizes', () => {
  assert.equal(checkLocation('a/./b/../c.bin'), 'a/c.bin');
  assert.equal(checkLocation('sub\\w.bin'), 'sub/w.bin');
});

test('raw_data whose length disagrees with dims is kept as is', () => {
  const odd: OnnxTensor = { name: 'odd', dtype: 'F32', shape: [100], data: pseudoRandom(12, 1) };
  const file = buildOnnx([odd]);
  const s = tensorsOf(read(file))[0]!;
  assert.equal(s.length, 12);
  assert.deepEqual(bytesOf(file, s), odd.data);
});

test('an empty file is an empty model', () => {
  assert.deepEqual(read(Buffer.alloc(0)).segments, []);
});

test('the reader skips raw_data without reading it', () => {
  const big = t('big', 'F32', [1 << 20], 1);
  const file = buildOnnx([t('small', 'F32', [4], 2), big]);
  const src = new RecordingSource(NAME, file);
  const seg = onnxReader.read(src);
  assert.equal(tensorsOf(seg)[1]!.length, 4 << 20);
  assert.ok(src.bytesRead < 4 * 65536, `read ${src.bytesRead} bytes of ${file.length}`);
});

test('sniff: the extension only', () => {
  assert.ok(onnxReader.sniff(Buffer.from([0x08, 0x07]), '/m/model.ONNX'));
  assert.ok(!onnxReader.sniff(Buffer.from([0x08, 0x07]), '/m/model.pb'));
});

// ------------------------------------------------------------ bad input

test('truncations: FormatError, or (cut between top-level fields) a valid smaller model', () => {
  const model: OnnxModel = {
    graph: { initializers: [t('w', 'F32', [4, 4], 1)], nodes: [ifNode(t('a', 'F32', [2], 2), t('b', 'F32', [2], 3), t('c', 'F32', [2], 4), t(undefined, 'I64', [1], 5))] },
  };
  const file = buildOnnx(model);
  // Top-level fields: ir_version (2 bytes), producer, graph, opset_import.
  const graphStart = 2 + 2 + 'tessera-test'.length;
  let errors = 0;
  for (let cut = 0; cut < file.length; cut++) {
    const part = file.subarray(0, cut);
    try {
      const seg = read(part);
      assertCovers(seg.segments, cut);
      assert.ok(cut <= graphStart + 1 || cut > file.length - 8, `cut at ${cut} (inside the graph) parsed`);
    } catch (e) {
      assertFormatError(() => {
        throw e;
      }, NAME);
      errors++;
    }
  }
  assert.ok(errors > file.length - 24, `${errors} of ${file.length} cuts rejected`);
});

test('malformed protobuf inside the model', () => {
  const g = (inner: Buffer) => new ProtoWriter().varint(1, 8).message(7, inner).finish();
  assertFormatError(() => read(Buffer.from([0x08, 0x80, 0x80])), NAME, /ModelProto: varint .* runs past end/);
  assertFormatError(() => read(g(Buffer.from([0x2a, 0x80]))), NAME, /ModelProto.graph: varint \(length of field 5\) runs past end/);
  assertFormatError(() => read(g(new ProtoWriter().tag(5, 2).raw(encodeVarint(2n ** 62n)).finish())), NAME, /ModelProto.graph: field 5 .* declares over 2\^53 bytes/);
  assertFormatError(() => read(g(new ProtoWriter().message(5, new ProtoWriter().tag(9, 2).raw(encodeVarint(1000)).finish()).finish())), NAME, /initializer\[0\]: field 9 .* declares 1000 bytes/);
  assertFormatError(() => read(g(new ProtoWriter().message(5, Buffer.from([0x0b])).finish())), NAME, /group/);
  const negDim = new ProtoWriter().varint(1, -1).varint(2, 1).string(8, 'neg').bytes(9, Buffer.alloc(4)).finish();
  assertFormatError(() => read(g(new ProtoWriter().message(5, negDim).finish())), NAME, /initializer\[0\]: dims entry is negative/);
  const hugeName = new ProtoWriter().string(8, 'n'.repeat(2 << 20)).finish();
  assertFormatError(() => read(g(new ProtoWriter().message(5, hugeName).finish())), NAME, /tensor name is 2097152 bytes long/);
});

test('subgraphs nested past the depth limit', () => {
  let graph = new ProtoWriter().message(5, new ProtoWriter().string(8, 'deep').bytes(9, Buffer.alloc(4)).finish()).finish();
  for (let i = 0; i < 30; i++) {
    const attr = new ProtoWriter().string(1, 'body').message(6, graph).finish();
    graph = new ProtoWriter().message(1, new ProtoWriter().string(4, 'Loop').message(5, attr).finish()).finish();
  }
  assertFormatError(() => read(new ProtoWriter().message(7, graph).finish()), NAME, /nest more than 64 deep/);
});

// ------------------------------------------------------------ real files

const SILERO = ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx', 'silero_vad_v6.onnx'] as const;

for (const name of SILERO) {
  test(`Silero VAD: ${name}`, (tt) => {
    const path = sileroPath(name);
    if (!existsSync(path)) return tt.skip(`${path} absent`);
    const src = new FileSource(path);
    try {
      const seg = onnxReader.read(src);
      assertCovers(seg.segments, src.size);
      const tensors = tensorsOf(seg);
      const bytes = tensors.reduce((a, s) => a + s.length, 0);
      const inSubgraphs = tensors.filter((s) => s.name.startsWith('If_') || /branch/.test(s.name));
      tt.diagnostic(`${name}: ${src.size} bytes, ${tensors.length} tensor segments, ${bytes} tensor bytes (${((100 * bytes) / src.size).toFixed(1)}%), ${seg.segments.length} segments`);
      assert.ok(tensors.length >= 200, `${tensors.length} tensors`);
      assert.ok(bytes > 0.9 * src.size, `${bytes} tensor bytes of ${src.size}`);
      // Every F32 weight whose dims are known holds exactly dims × 4 bytes.
      for (const s of tensors.filter((x) => x.dtype === 'F32' && x.shape.length > 0)) {
        assert.equal(s.length, s.shape.reduce((a, b) => a * b, 1) * 4, s.name);
      }
      if (name !== 'silero_vad_legacy.onnx') {
        // v5/v6 keep the 16 kHz and 8 kHz weights inside the two If branches.
        const big = tensors.filter((s) => s.length >= 1024);
        assert.equal(big.filter((s) => s.name === 'decoder.rnn.weight_ih').length, 2);
        assert.ok(inSubgraphs.length > 200, `${inSubgraphs.length} tensors named after subgraph nodes`);
        assert.ok(big.reduce((a, s) => a + s.length, 0) > 2_000_000);
      }
    } finally {
      src.close();
    }
  });
}

test('corpus: each .onnx holds the same tensor bytes as its .safetensors', (tt) => {
  const corpus = corpusDir();
  if (!corpus) return tt.skip('corpus ../shared/corpus absent');
  let pairs = 0;
  for (const family of ['mlp', 'conv']) {
    const dir = join(corpus, 'trained-digits', family);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.onnx'))) {
      const onnxSrc = new FileSource(join(dir, f));
      const stSrc = new FileSource(join(dir, f.replace(/\.onnx$/, '.safetensors')));
      try {
        const onnx = onnxReader.read(onnxSrc);
        assertCovers(onnx.segments, onnxSrc.size);
        const st = safetensorsReader.read(stSrc);
        const onnxHashes = new Set(tensorsOf(onnx).map((s) => sha256(bytesOf(onnxSrc, s))));
        for (const s of tensorsOf(st)) {
          assert.ok(onnxHashes.has(sha256(bytesOf(stSrc, s))), `${family}/${f}: safetensors tensor ${s.name} not found in the ONNX file`);
        }
        pairs++;
      } finally {
        onnxSrc.close();
        stSrc.close();
      }
    }
  }
  tt.diagnostic(`${pairs} onnx/safetensors pairs compared`);
  assert.ok(pairs >= 2);
});
