import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { GGML_TYPES, ggufReader } from '../../src/formats/gguf.js';
import { buildGguf, buildGgufLayout, GGML_TEST_TYPES, ggufTensorBytes, type GgufTensor, type GgufValue } from '../helpers/build-gguf.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, tensorsOf } from '../helpers/segments.js';

const NAME = 'model-under-test.gguf';

function tensor(name: string, type: string, shape: number[], seed: number): GgufTensor {
  return { name, type, shape, data: pseudoRandom(ggufTensorBytes(type, shape), seed) };
}

const sample: GgufTensor[] = [
  tensor('token_embd.weight', 'Q4_0', [8, 64], 1),
  tensor('blk.0.attn_norm.weight', 'F32', [64], 2),
  tensor('blk.0.ffn_up.weight', 'Q8_0', [3, 32], 3),
  tensor('blk.0.ffn_down.weight', 'Q4_K', [2, 256], 4),
  tensor('blk.0.scale', 'F16', [3], 5),
  tensor('output.weight', 'BF16', [2, 5], 6),
];

const metadata: Record<string, GgufValue> = {
  'general.architecture': { type: 'string', value: 'llama' },
  'general.name': { type: 'string', value: 'tiny — test' },
  'llama.context_length': { type: 'u32', value: 2048 },
  'llama.rope.freq_base': { type: 'f32', value: 10000 },
  'general.file_type': { type: 'u64', value: 2n },
  'tokenizer.ggml.add_bos_token': { type: 'bool', value: true },
  'test.i8': { type: 'i8', value: -3 },
  'test.u16': { type: 'u16', value: 65535 },
  'test.i64': { type: 'i64', value: -5n },
  'test.f64': { type: 'f64', value: 0.5 },
  'tokenizer.ggml.tokens': { type: 'array', itemType: 'string', items: ['<s>', '</s>', 'hello'].map((value) => ({ type: 'string', value })) },
  'tokenizer.ggml.scores': { type: 'array', itemType: 'f32', items: [0, -1, -2].map((value) => ({ type: 'f32', value })) },
  'test.nested': {
    type: 'array', itemType: 'array',
    items: [
      { type: 'array', itemType: 'i32', items: [{ type: 'i32', value: 1 }, { type: 'i32', value: 2 }] },
      { type: 'array', itemType: 'string', items: [{ type: 'string', value: 'x' }] },
    ],
  },
};

function read(file: Buffer, name = NAME) {
  return ggufReader.read(new BufferSource(name, file));
}

function checkTensors(file: Buffer, tensors: readonly GgufTensor[], dataStart: number) {
  const seg = read(file);
  assert.equal(seg.format, 'gguf');
  assertCovers(seg.segments, file.length);
  assert.deepEqual(seg.segments[0], { kind: 'literal', offset: 0, length: dataStart }, 'header and its padding are one literal');
  const found = tensorsOf(seg);
  assert.deepEqual(found.map((t) => t.name), tensors.map((t) => t.name));
  for (const t of tensors) {
    const s = found.find((x) => x.name === t.name)!;
    assert.equal(s.dtype, t.type);
    assert.deepEqual(s.shape, t.shape, 'shape is reported outermost first');
    assert.deepEqual(bytesOf(file, s), t.data);
  }
  return seg;
}

test('v3 with every metadata type, nested arrays, plain and quantized tensors', () => {
  const { file, dataStart } = buildGgufLayout(sample, { metadata });
  checkTensors(file, sample, dataStart);
});

test('v2 and a custom general.alignment', () => {
  const { file, dataStart, tensorOffsets } = buildGgufLayout(sample, { version: 2, alignment: 128, metadata });
  assert.equal(dataStart % 128, 0);
  assert.ok(tensorOffsets.every((o) => o % 128 === 0));
  const seg = checkTensors(file, sample, dataStart);
  assert.ok(seg.segments.some((s, i) => i > 0 && s.kind === 'literal'), 'padding between tensors is literal');
});

test('no tensors: the whole file is the header', () => {
  const file = buildGguf([], { metadata });
  assert.deepEqual(read(file).segments, [{ kind: 'literal', offset: 0, length: file.length }]);
});

test('every known ggml type is accepted with the right size', () => {
  for (const [name, [id, block, size]] of Object.entries(GGML_TEST_TYPES)) {
    assert.deepEqual(GGML_TYPES.get(id), { name, blockSize: block, typeSize: size }, name);
    const t = tensor(`t.${name}`, name, [2, block], id + 1);
    const { file, dataStart } = buildGgufLayout([t]);
    checkTensors(file, [t], dataStart);
  }
});

test('the reader never reads tensor data', () => {
  const big = tensor('big', 'F32', [1024, 1024], 9);
  const { file, dataStart } = buildGgufLayout([big], { metadata });
  const src = new RecordingSource(NAME, file);
  ggufReader.read(src);
  assert.ok(src.bytesRead < dataStart + 64 * 1024, `read ${src.bytesRead} bytes for a ${dataStart}-byte header`);
});

test('sniff: magic or extension', () => {
  const file = buildGguf(sample);
  assert.ok(ggufReader.sniff(file.subarray(0, 64), '/x/blob'));
  assert.ok(ggufReader.sniff(Buffer.alloc(0), '/x/model.GGUF'));
  assert.ok(!ggufReader.sniff(Buffer.from('GGML....'), '/x/model.bin'));
});

// ------------------------------------------------------------ bad input

/** Overwrites bytes of a copy of `file`. */
function patch(file: Buffer, offset: number, write: (b: Buffer) => void): Buffer {
  const out = Buffer.from(file);
  write(out.subarray(offset));
  return out;
}

test('truncated at every byte: FormatError naming the file', () => {
  const { file } = buildGgufLayout(sample.slice(0, 3), { metadata });
  for (let cut = 0; cut < file.length; cut++) {
    // Cutting into trailing padding after the last tensor leaves a valid file.
    const last = tensorsOf(read(file)).at(-1)!;
    if (cut >= last.offset + last.length) continue;
    assertFormatError(() => read(file.subarray(0, cut)), NAME);
  }
});

test('magic and version', () => {
  const file = buildGguf(sample);
  assertFormatError(() => read(patch(file, 0, (b) => b.write('GGUG'))), NAME, /missing GGUF magic/);
  assertFormatError(() => read(buildGguf(sample, { version: 1 })), NAME, /version 1 is not supported/);
  assertFormatError(() => read(buildGguf(sample, { version: 4 })), NAME, /unsupported GGUF version 4/);
  assertFormatError(() => read(patch(file, 4, (b) => b.writeUInt32BE(3))), NAME, /big-endian/);
});

test('absurd counts are refused before any allocation', () => {
  const file = buildGguf(sample, { metadata });
  assertFormatError(() => read(patch(file, 8, (b) => b.writeBigUInt64LE(1n << 62n))), NAME, /tensor_count 4611686018427387904 .* exceeds/);
  assertFormatError(() => read(patch(file, 16, (b) => b.writeBigUInt64LE(1n << 62n))), NAME, /metadata_kv_count .* exceeds/);
  assertFormatError(() => read(patch(file, 8, (b) => b.writeBigUInt64LE(0xffffffffffffffffn))), NAME, /tensor_count/);
});

test('string lengths: huge, past the end, over the limit', () => {
  const { file, kvStart, tensorInfoStart } = buildGgufLayout(sample, { metadata });
  assertFormatError(() => read(patch(file, kvStart, (b) => b.writeBigUInt64LE(1n << 63n))), NAME, /metadata key 0 .* declares 9223372036854775808 bytes/);
  assertFormatError(() => read(patch(file, kvStart, (b) => b.writeBigUInt64LE(BigInt(file.length)))), NAME, /metadata key 0 .* more than the .* left/);
  assertFormatError(() => read(patch(file, tensorInfoStart, (b) => b.writeBigUInt64LE(1n << 40n))), NAME, /name of tensor 0/);
  // A string value (general.architecture, the first KV) with a huge length.
  const valueLen = kvStart + 8 + 'general.architecture'.length + 4;
  assertFormatError(() => read(patch(file, valueLen, (b) => b.writeBigUInt64LE(1n << 50n))), NAME, /value of 'general.architecture'/);
});

test('array counts bounded by the bytes left; unknown value types', () => {
  const mk = (value: GgufValue) => buildGgufLayout([], { metadata: { k: value } });
  const arr = mk({ type: 'array', itemType: 'u8', items: [{ type: 'u8', value: 1 }] });
  const countAt = arr.kvStart + 8 + 1 + 4 + 4;
  assertFormatError(() => read(patch(arr.file, countAt, (b) => b.writeBigUInt64LE(1n << 62n))), NAME, /item count .* exceeds/);
  const strs = mk({ type: 'array', itemType: 'string', items: [{ type: 'string', value: 'a' }] });
  assertFormatError(() => read(patch(strs.file, countAt, (b) => b.writeBigUInt64LE(1000n))), NAME, /item count 1000 .* exceeds/);
  const nested = mk({ type: 'array', itemType: 'array', items: [] });
  assertFormatError(() => read(patch(nested.file, countAt, (b) => b.writeBigUInt64LE(1n << 40n))), NAME, /item count/);
  const u8 = mk({ type: 'u8', value: 1 });
  assertFormatError(() => read(patch(u8.file, u8.kvStart + 9, (b) => b.writeUInt32LE(13))), NAME, /unknown value type 13/);
  // Arrays of arrays nested deeper than the limit.
  let deep: GgufValue = { type: 'array', itemType: 'u8', items: [] };
  for (let i = 0; i < 12; i++) deep = { type: 'array', itemType: 'array', items: [deep] };
  assertFormatError(() => read(mk(deep).file), NAME, /nest more than/);
});

test('tensor infos: n_dims, unknown types, block multiples, duplicates', () => {
  const one = [tensor('w', 'F32', [2, 3], 1)];
  const { file, tensorInfoStart } = buildGgufLayout(one);
  const nDimsAt = tensorInfoStart + 8 + 1;
  assertFormatError(() => read(patch(file, nDimsAt, (b) => b.writeUInt32LE(9))), NAME, /tensor 'w': n_dims 9 exceeds 8/);
  assertFormatError(() => read(patch(file, nDimsAt, (b) => b.writeUInt32LE(0xffffffff))), NAME, /tensor 'w': n_dims/);
  const typeAt = nDimsAt + 4 + 16;
  for (const id of [4, 5, 31, 99, 0xffffffff]) {
    assertFormatError(() => read(patch(file, typeAt, (b) => b.writeUInt32LE(id))), NAME, new RegExp(`tensor 'w': unknown ggml type ${id}`));
  }
  assertFormatError(() => read(patch(file, typeAt, (b) => b.writeUInt32LE(2))), NAME, /tensor 'w': first dimension 3 is not a multiple of the Q4_0 block size 32/);
  assertFormatError(() => read(patch(file, nDimsAt + 4, (b) => b.writeBigUInt64LE(1n << 60n))), NAME, /tensor 'w': .*dims\[0\]/);
  assertFormatError(() => read(patch(file, nDimsAt + 4, (b) => b.writeBigUInt64LE(1n << 50n))), NAME, /tensor 'w': byte size exceeds 2\^53/);
  assertFormatError(() => read(buildGguf([one[0]!, { ...one[0]! }])), NAME, /tensor 'w': duplicate tensor name/);
  const dupKey = buildGgufLayout([], { metadata: { a: { type: 'u8', value: 1 }, b: { type: 'u8', value: 2 } } });
  assertFormatError(() => read(patch(dupKey.file, dupKey.kvStart + 8 + 1 + 4 + 1 + 8, (b) => b.write('a'))), NAME, /duplicate metadata key 'a'/);
});

test('offsets: unaligned, out of range, overlapping', () => {
  const two = [tensor('a', 'F32', [16], 1), tensor('b', 'F32', [16], 2)];
  const { file, tensorInfoStart } = buildGgufLayout(two);
  const offsetOf = (i: number) => tensorInfoStart + i * (8 + 1 + 4 + 8 + 4 + 8) + 8 + 1 + 4 + 8 + 4;
  assertFormatError(() => read(patch(file, offsetOf(1), (b) => b.writeBigUInt64LE(33n))), NAME, /tensor 'b': offset 33 is not a multiple of the alignment 32/);
  assertFormatError(() => read(patch(file, offsetOf(1), (b) => b.writeBigUInt64LE(1024n))), NAME, /tensor 'b': data at offset 1024 .* runs past the end/);
  assertFormatError(() => read(patch(file, offsetOf(1), (b) => b.writeBigUInt64LE(1n << 62n))), NAME, /tensor 'b': offset 4611686018427387904 .* exceeds/);
  assertFormatError(() => read(patch(file, offsetOf(1), (b) => b.writeBigUInt64LE(0n))), NAME, /overlaps tensor/);
});

test('general.alignment must be a u32 power of two', () => {
  const bad = (value: GgufValue) => buildGguf([], { metadata: { 'general.alignment': value } });
  assertFormatError(() => read(bad({ type: 'u32', value: 48 })), NAME, /general.alignment 48 is not a power of two/);
  assertFormatError(() => read(bad({ type: 'u32', value: 0 })), NAME, /general.alignment 0/);
  assertFormatError(() => read(bad({ type: 'u64', value: 64n })), NAME, /general.alignment has value type 10/);
});
