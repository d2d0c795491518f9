import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { FormatError } from '../../src/formats/errors.js';
import { tfliteReader } from '../../src/formats/tflite.js';
import { buildTflite, FbWriter, type TfliteTensorSpec } from '../helpers/build-tflite.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, tensorsOf } from '../helpers/segments.js';

const NAME = 'model-under-test.tflite';

const specs: TfliteTensorSpec[] = [
  { name: 'input', type: 0, shape: [1, 4] },
  { name: 'dense/kernel', type: 0, shape: [4, 3], data: pseudoRandom(48, 1) },
  { name: 'dense/bias', type: 1, shape: [3], data: pseudoRandom(6, 2) },
  { name: 'big/weights', type: 9, shape: [5, 7], data: pseudoRandom(35, 3), external: true },
  { name: 'output', type: 0, shape: [1, 3] },
];
const metadata = Buffer.from('{"min_runtime_version":"1.5.0"}');
const built = buildTflite(specs, [metadata]);

function read(file: Buffer, name = NAME) {
  return tfliteReader.read(new RecordingSource(name, file, 1 << 20));
}

test('tflite: segments point exactly at the tensor bytes and cover the file', () => {
  const { file } = built;
  const seg = read(file);
  assert.equal(seg.format, 'tflite');
  assertCovers(seg.segments, file.length);
  const found = tensorsOf(seg);
  assert.deepEqual(found.map((t) => t.name), ['dense/kernel', 'dense/bias', 'buffer6', 'big/weights']);
  const byName = new Map(found.map((t) => [t.name, t]));
  assert.deepEqual(byName.get('dense/kernel'), { kind: 'tensor', offset: built.tensors[0]!.offset, length: 48, name: 'dense/kernel', dtype: 'F32', shape: [4, 3] });
  assert.deepEqual(byName.get('dense/bias')!.dtype, 'F16');
  assert.deepEqual(byName.get('dense/bias')!.shape, [3]);
  assert.deepEqual(byName.get('big/weights')!.dtype, 'I8');
  assert.deepEqual(byName.get('big/weights')!.shape, [5, 7]);
  assert.deepEqual(byName.get('buffer6'), { kind: 'tensor', offset: built.positions.get('data6'), length: metadata.length, name: 'buffer6', dtype: 'UNKNOWN', shape: [metadata.length] });
  for (const s of specs) {
    if (!s.data) continue;
    assert.deepEqual(bytesOf(file, byName.get(s.name)!), s.data, `bytes of ${s.name}`);
  }
  assert.deepEqual(bytesOf(file, byName.get('buffer6')!), metadata);
  // The external tensor lies after the flatbuffer; inline ones inside it, right after their u32 length.
  assert.ok(byName.get('big/weights')!.offset >= built.flatbufferEnd);
  for (const t of built.tensors.filter((t) => t.name !== 'big/weights')) {
    assert.equal(file.readUInt32LE(t.offset - 4), t.length);
    assert.equal(t.offset % 16, 0, 'buffer data is 16-aligned');
  }
  // Everything else is literal.
  assert.equal(seg.segments.filter((s) => s.kind === 'literal').reduce((n, s) => n + s.length, 0), file.length - found.reduce((n, t) => n + t.length, 0));
});

test('tflite: never reads tensor bytes', () => {
  const big = buildTflite([{ name: 'w', type: 0, shape: [65536], data: pseudoRandom(262144, 9) }, { name: 'x', type: 0, shape: [65536], data: pseudoRandom(262144, 8), external: true }]);
  const src = new RecordingSource(NAME, big.file);
  const seg = tfliteReader.read(src);
  assertCovers(seg.segments, big.file.length);
  assert.deepEqual(tensorsOf(seg).map((t) => [t.name, t.length, t.dtype]), [['w', 262144, 'F32'], ['x', 262144, 'F32']]);
  assert.ok(src.maxRead <= 64 * 1024, `largest read ${src.maxRead}`);
});

test('tflite: all TensorType codes map to canonical dtypes', () => {
  const codes: [number, string][] = [
    [0, 'F32'], [1, 'F16'], [2, 'I32'], [3, 'U8'], [4, 'I64'], [5, 'UNKNOWN'], [6, 'BOOL'], [7, 'I16'], [8, 'C64'],
    [9, 'I8'], [10, 'F64'], [11, 'C128'], [12, 'U64'], [13, 'UNKNOWN'], [15, 'U32'], [16, 'U16'], [17, 'I4'], [18, 'BF16'], [99, 'UNKNOWN'],
  ];
  const b = buildTflite(codes.map(([type], i) => ({ name: `t${type}`, type, shape: [2], data: pseudoRandom(16, i + 1) })));
  const seg = read(b.file);
  assert.deepEqual(tensorsOf(seg).map((t) => [t.name, t.dtype]), codes.map(([type, d]) => [`t${type}`, d]));
});

test('tflite: first tensor referencing a buffer names it; unreferenced buffers are buffer<i>', () => {
  const b = buildTflite([
    { name: 'a', type: 3, shape: [4], data: Buffer.from([1, 2, 3, 4]) },
    { name: 'a_alias', type: 9, shape: [2, 2], shareBuffer: 1 },
    { name: 'b', type: 3, shape: [2], data: Buffer.from([5, 6]) },
  ], [Buffer.from([7, 7, 7])]);
  const seg = read(b.file);
  assert.deepEqual(tensorsOf(seg).map((t) => [t.name, t.dtype, t.shape, t.length]), [['a', 'U8', [4], 4], ['b', 'U8', [2], 2], ['buffer3', 'UNKNOWN', [3], 3]]);
  assert.deepEqual(b.tensors.map((t) => [t.name, t.buffer]), [['a', 1], ['b', 2]]);
});

test('tflite: sniff', () => {
  assert.ok(tfliteReader.sniff(Buffer.alloc(0), 'x/model.TFLITE'));
  assert.ok(tfliteReader.sniff(built.file.subarray(0, 64), 'model.bin'));
  assert.ok(!tfliteReader.sniff(Buffer.from('\x00\x00\x00\x00GGUF'), 'model.bin'));
  assert.ok(!tfliteReader.sniff(Buffer.alloc(4), 'model.bin'));
});

test('tflite: a model with no buffers or subgraphs is all literal', () => {
  const w = new FbWriter();
  w.u32(0);
  w.raw(Buffer.from('TFL3'));
  const root = w.emit({ kind: 'table', fields: [{ u32: 3 }] });
  w.patchU32(0, root);
  const file = w.bytes();
  const seg = read(file);
  assert.deepEqual(seg.segments, [{ kind: 'literal', offset: 0, length: file.length }]);
});

test('tflite: a tensor referencing a missing buffer, a negative dimension', () => {
  const b = buildTflite([{ name: 'a', type: 0, shape: [1], shareBuffer: 7 }]);
  assertFormatError(() => read(b.file), NAME, /tensors\[0\]\.buffer = 7 but the model has 1 buffers/);
  const n = buildTflite([{ name: 'a', type: 0, shape: [2, -1], data: pseudoRandom(8, 1) }]);
  assertFormatError(() => read(n.file), NAME, /shape\[1\] = -1 is negative/);
});

test('tflite: bad identifier, truncation, offsets out of range', () => {
  const { file, positions } = built;
  assertFormatError(() => read(Buffer.alloc(0)), NAME, /too short/);
  const bad = Buffer.from(file);
  bad.write('TFL2', 4, 'latin1');
  assertFormatError(() => read(bad), NAME, /identifier/);

  const root = Buffer.from(file);
  root.writeUInt32LE(0xfffffff0, 0);
  assertFormatError(() => read(root), NAME, /Model root.*outside the file/);

  // Data vector length far past the end.
  const huge = Buffer.from(file);
  huge.writeUInt32LE(0xffffffff, positions.get('data2')! - 4);
  assertFormatError(() => read(huge), NAME, /Model\.buffers\[2\]\.data: vector of 4294967295/);

  // External buffer past the end, and with a 2^64-1 offset.
  const ext = Buffer.from(file);
  ext.writeBigUInt64LE(BigInt(file.length), positions.get('offset4')!);
  assertFormatError(() => read(ext), NAME, /Model\.buffers\[4\]: offset .* runs past the end/);
  ext.writeBigUInt64LE(0xffffffffffffffffn, positions.get('offset4')!);
  assertFormatError(() => read(ext), NAME, /runs past the end/);
  const sz = Buffer.from(file);
  sz.writeBigUInt64LE(0xffffffffffffffffn, positions.get('size4')!);
  assertFormatError(() => read(sz), NAME, /runs past the end/);

  // vtable offset pointing outside the file.
  const vt = Buffer.from(file);
  vt.writeInt32LE(-0x7fffffff, positions.get('buffer2')!);
  assertFormatError(() => read(vt), NAME, /vtable/);
  vt.writeInt32LE(0x7fffffff, positions.get('buffer2')!);
  assertFormatError(() => read(vt), NAME, /vtable/);
});

test('tflite: overlapping buffers are rejected', () => {
  // External buffer 4 aimed at the inline data of buffer 2.
  const { file, positions } = built;
  const ov = Buffer.from(file);
  ov.writeBigUInt64LE(BigInt(positions.get('data2')!), positions.get('offset4')!);
  assertFormatError(() => read(ov), NAME, /overlaps/);
  // Buffer 2's data offset redirected to buffer 3's vector (aliased data; uoffsets only point forward).
  const alias = Buffer.from(file);
  const b1 = positions.get('buffer2')!;
  const b2 = positions.get('buffer3')!;
  // Both tables have the same layout (one ref field at +4).
  const target2 = b2 + 4 + alias.readUInt32LE(b2 + 4);
  alias.writeUInt32LE(target2 - (b1 + 4), b1 + 4);
  assertFormatError(() => read(alias), NAME, /overlaps/);
});

test('tflite: truncation at every point is a FormatError, never a crash', () => {
  const { file } = built;
  for (let n = 0; n < file.length; n++) {
    const cut = file.subarray(0, n);
    try {
      const seg = read(cut);
      assertCovers(seg.segments, n); // never reached: the file ends with external data, so every cut loses some of it
      assert.fail(`truncation at ${n} of ${file.length} was accepted`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      if (!(e instanceof FormatError)) assert.fail(`truncation at ${n}: ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(e.message.startsWith(`${NAME}: tflite: `), e.message);
    }
  }
});

test('tflite: mutation fuzz gives a covering segmentation or a FormatError', () => {
  const { file } = built;
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8);
  let ok = 0;
  let rejected = 0;
  for (let i = 0; i < 5000; i++) {
    const m = Buffer.from(file);
    const at = rnd() % m.length;
    switch (rnd() % 4) {
      case 0: m[at] = rnd() & 0xff; break;
      case 1: m[at] = [0, 0xff, 0x7f, 0x80][rnd() % 4]!; break;
      case 2: m.fill(0xff, at, Math.min(m.length, at + 4)); break;
      case 3: if (at + 4 <= m.length) m.writeUInt32LE(rnd() * 16 >>> 0, at); break;
    }
    const src = new RecordingSource(NAME, m, 1 << 20);
    try {
      assertCovers(tfliteReader.read(src).segments, m.length);
      ok++;
    } catch (e) {
      if (!(e instanceof FormatError)) assert.fail(`${(e as Error).name}: ${(e as Error).message}\n${(e as Error).stack}`);
      rejected++;
    }
    assert.ok(src.maxRead <= 64 * 1024);
  }
  assert.ok(ok > 0 && rejected > 0, `ok ${ok}, rejected ${rejected}`);
});

test('tflite: aliased tensor vectors cannot cause quadratic work', () => {
  // 2000 subgraph entries all pointing at one subgraph whose tensors vector holds 2000 entries pointing at one tensor.
  const w = new FbWriter();
  w.u32(0);
  w.raw(Buffer.from('TFL3'));
  const tensor = { kind: 'table' as const, fields: [undefined, { i8: 0 }, { u32: 0 }] };
  const sg = { kind: 'table' as const, fields: [{ ref: { kind: 'tables' as const, items: [tensor] } }] };
  const root = w.emit({ kind: 'table', fields: [{ u32: 3 }, undefined, { ref: { kind: 'tables', items: [sg] } }] });
  w.patchU32(0, root);
  // Rewrite: make the subgraphs vector 1 entry and the tensors vector 1 entry, then append aliases by hand.
  const file = w.bytes();
  const src = new BufferSource(NAME, file);
  assert.equal(tensorsOf(tfliteReader.read(src)).length, 0);
  // Build an aliasing file: vector of N uoffsets all to the same table.
  const N = 20000;
  const a = new FbWriter();
  a.u32(0);
  a.raw(Buffer.from('TFL3'));
  const modelAt = a.emit({ kind: 'table', fields: [{ u32: 3 }, undefined, { ref: { kind: 'ints', values: [] } }] });
  a.patchU32(0, modelAt);
  const bytes = a.bytes();
  // Model field 2 points at an empty ints vector; replace it with N entries all aliasing one SubGraph whose tensors are N aliases of one Tensor.
  const tail = new FbWriter();
  const base = bytes.length + ((4 - (bytes.length % 4)) % 4);
  const pad = base - bytes.length;
  // Every uoffset points forward: subgraphs vector, SubGraph, tensors vector, Tensor.
  const vec = base;
  const sgVt = vec + 4 + 4 * N; // subgraph vtable (6 bytes) + 2 pad
  const sgAt = sgVt + 8;
  const tvec = sgAt + 8;
  const tVt = tvec + 4 + 4 * N; // tensor vtable (10 bytes) + 6 pad
  const tAt = tVt + 16;
  for (let i = 0; i < pad; i++) tail.u8(0);
  tail.u32(N);
  for (let i = 0; i < N; i++) tail.u32(sgAt - (vec + 4 + 4 * i));
  tail.u16(6); tail.u16(8); tail.u16(4); tail.u16(0);
  tail.u32(sgAt - sgVt); tail.u32(tvec - (sgAt + 4));
  tail.u32(N);
  for (let i = 0; i < N; i++) tail.u32(tAt - (tvec + 4 + 4 * i));
  tail.u16(10); tail.u16(12); tail.u16(0); tail.u16(4); tail.u16(8); tail.u16(0); tail.u16(0); tail.u16(0);
  tail.u32(tAt - tVt); tail.u32(0); tail.u32(0);
  const evil = Buffer.concat([bytes, tail.bytes()]);
  // Point Model.subgraphs at the new vector.
  const fieldPos = modelAt + 8; // version at +4, subgraphs ref at +8
  evil.writeUInt32LE(vec - fieldPos, fieldPos);
  const t0 = Date.now();
  assertFormatError(() => tfliteReader.read(new BufferSource(NAME, evil)), NAME, /too many tables/);
  assert.ok(Date.now() - t0 < 5000);
});
