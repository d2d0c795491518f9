import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource, FileSource } from '../../src/io/file-source.js';
import { MAX_HEADER_LENGTH, safetensorsReader } from '../../src/formats/safetensors.js';
import { buildSafetensors, buildSafetensorsRaw, safetensorsHeaderLength, type SafetensorsTensor } from '../helpers/build-safetensors.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, corpusDir, tensorsOf } from '../helpers/segments.js';

const NAME = 'model-under-test.safetensors';

const sample: SafetensorsTensor[] = [
  { name: 'embed.weight', dtype: 'F32', shape: [4, 3], data: pseudoRandom(48, 1) },
  { name: 'embed.bias', dtype: 'BF16', shape: [3], data: pseudoRandom(6, 2) },
  { name: 'steps', dtype: 'I64', shape: [], data: pseudoRandom(8, 3) },
  { name: 'mask', dtype: 'BOOL', shape: [5], data: Buffer.from([1, 0, 1, 1, 0]) },
];

function read(file: Buffer, name = NAME) {
  return safetensorsReader.read(new BufferSource(name, file));
}

test('segments: header literal, then each tensor exactly at its bytes', () => {
  const file = buildSafetensors(sample, { accuracy: '0.97' });
  const seg = read(file);
  assert.equal(seg.format, 'safetensors');
  assertCovers(seg.segments, file.length);
  const headerEnd = 8 + safetensorsHeaderLength(file);
  assert.deepEqual(seg.segments[0], { kind: 'literal', offset: 0, length: headerEnd });
  const tensors = tensorsOf(seg);
  assert.deepEqual(tensors.map((t) => t.name), sample.map((t) => t.name));
  for (const t of sample) {
    const s = tensors.find((x) => x.name === t.name)!;
    assert.equal(s.dtype, t.dtype);
    assert.deepEqual(s.shape, t.shape);
    assert.deepEqual(bytesOf(file, s), t.data);
  }
  // Contiguous data: nothing but tensors after the header.
  assert.equal(seg.segments.length, 1 + sample.length);
});

test('tensors are emitted in offset order, whatever the header order', () => {
  // JSON key order differs from data order here: write data reversed.
  const header = {
    b: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
    a: { dtype: 'U8', shape: [4], data_offsets: [4, 8] },
  };
  const file = buildSafetensorsRaw(header, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
  const seg = read(file);
  assert.deepEqual(tensorsOf(seg).map((t) => t.name), ['b', 'a']);
  assertCovers(seg.segments, file.length);
});

test('gaps between tensors and trailing bytes become literal segments', () => {
  const file = Buffer.concat([buildSafetensors(sample, undefined, { align: 64 }), Buffer.from('trailing')]);
  const seg = read(file);
  assertCovers(seg.segments, file.length);
  const kinds = seg.segments.map((s) => s.kind).join(',');
  assert.equal(kinds, 'literal,tensor,literal,tensor,literal,tensor,literal,tensor,literal');
  for (const t of sample) assert.deepEqual(bytesOf(file, tensorsOf(seg).find((x) => x.name === t.name)!), t.data);
});

test('zero-sized tensors are valid but produce no segment', () => {
  const file = buildSafetensors([{ name: 'empty', dtype: 'F32', shape: [0, 7], data: Buffer.alloc(0) }, sample[0]!]);
  const seg = read(file);
  assertCovers(seg.segments, file.length);
  assert.deepEqual(tensorsOf(seg).map((t) => t.name), ['embed.weight']);
});

test('a file with no tensors is one literal', () => {
  const file = buildSafetensors([], { note: 'empty' });
  assert.deepEqual(read(file).segments, [{ kind: 'literal', offset: 0, length: file.length }]);
});

test('sub-byte dtypes: F4 packs two values per byte', () => {
  const file = buildSafetensors([{ name: 'q', dtype: 'F4', shape: [2, 3], data: Buffer.alloc(3) }]);
  assert.equal(tensorsOf(read(file))[0]!.length, 3);
  assertFormatError(() => read(buildSafetensorsRaw({ q: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, Buffer.alloc(2))), NAME, /whole number of bytes/);
});

test('the reader reads only the header, never tensor bytes', () => {
  const big = { name: 'big', dtype: 'F32', shape: [1024, 1024], data: Buffer.alloc(4 << 20) };
  const file = buildSafetensors([big]);
  const src = new RecordingSource(NAME, file);
  const seg = safetensorsReader.read(src);
  assert.equal(tensorsOf(seg)[0]!.length, 4 << 20);
  assert.ok(src.bytesRead <= 8 + safetensorsHeaderLength(file), `read ${src.bytesRead} bytes`);
});

test('sniff: extension, or a plausible header', () => {
  const file = buildSafetensors(sample);
  const head = file.subarray(0, 64);
  assert.ok(safetensorsReader.sniff(Buffer.alloc(0), '/x/model.SAFETENSORS'));
  assert.ok(safetensorsReader.sniff(head, '/x/weights.bin'));
  assert.ok(safetensorsReader.sniff(head, '/x/weights.bin', file.length));
  assert.ok(!safetensorsReader.sniff(head, '/x/weights.bin', 20), 'header length past the end of the file');
  assert.ok(!safetensorsReader.sniff(Buffer.from('{"hello": "world"}\n'), '/x/data.json'));
  assert.ok(!safetensorsReader.sniff(Buffer.alloc(64), '/x/zeros.bin'));
  const huge = Buffer.from(head);
  huge.writeBigUInt64LE(1n << 40n);
  assert.ok(!safetensorsReader.sniff(huge, '/x/weights.bin'));
});

// ------------------------------------------------------------ bad input

test('truncated at every byte: FormatError naming the file', () => {
  const file = buildSafetensors(sample, { a: 'b' });
  for (let cut = 0; cut < file.length; cut++) {
    assertFormatError(() => read(file.subarray(0, cut)), NAME);
  }
});

test('header length past the end, or over the limit (checked before reading it)', () => {
  const file = buildSafetensors(sample);
  const bad = Buffer.from(file);
  bad.writeBigUInt64LE(BigInt(file.length));
  assertFormatError(() => read(bad), NAME, /header length .* runs past the end/);
  bad.writeBigUInt64LE(0xffffffffffffffffn);
  assertFormatError(() => read(bad), NAME, /header length/);
  // A 200 MiB file whose header claims 150 MiB: refused without reading it.
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(150 * 1024 * 1024));
  head.write('{"', 8);
  const src = new RecordingSource(NAME, head, 1024, 200 * 1024 * 1024);
  assertFormatError(() => safetensorsReader.read(src), NAME, new RegExp(`exceeds the ${MAX_HEADER_LENGTH}-byte limit`));
  assert.ok(src.maxRead <= 8);
});

test('malformed headers are FormatErrors naming the tensor or field', () => {
  const data = Buffer.alloc(64);
  const cases: Array<[string, object | string, RegExp]> = [
    ['not JSON', '{"a": {"dtype": "F32",', /not valid JSON/],
    ['array', '[1, 2]', /does not start with|not a JSON object/],
    ['not an object', '{"w": 5}', /tensor 'w': entry is not an object/],
    ['unknown dtype', { w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, /tensor 'w': unknown dtype "F128"/],
    ['missing dtype', { w: { shape: [1], data_offsets: [0, 4] } }, /tensor 'w': dtype is missing/],
    ['negative dim', { w: { dtype: 'F32', shape: [-1, 4], data_offsets: [0, 16] } }, /tensor 'w': shape\[0\] = -1/],
    ['fractional dim', { w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, /tensor 'w': shape\[0\]/],
    ['huge dim', { w: { dtype: 'F32', shape: [2 ** 60], data_offsets: [0, 4] } }, /tensor 'w': shape\[0\]/],
    ['overflowing shape', { w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, /tensor 'w': shape .* more than 2\^53/],
    ['shape not array', { w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, /tensor 'w': shape is missing/],
    ['size mismatch', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, /tensor 'w': .* hold 16 bytes, but .* needs 12/],
    ['offsets reversed', { w: { dtype: 'U8', shape: [0], data_offsets: [8, 4] } }, /tensor 'w': .* end before they begin/],
    ['offsets past end', { w: { dtype: 'U8', shape: [16], data_offsets: [60, 76] } }, /tensor 'w': .* run past the end of the data area \(64 bytes\)/],
    ['offsets huge', { w: { dtype: 'U8', shape: [1], data_offsets: [2 ** 62, 2 ** 62 + 1] } }, /tensor 'w': data_offsets/],
    ['offsets not pair', { w: { dtype: 'U8', shape: [1], data_offsets: [0] } }, /tensor 'w': data_offsets is not/],
    ['offsets strings', { w: { dtype: 'U8', shape: [1], data_offsets: ['0', '1'] } }, /tensor 'w': data_offsets are not/],
    [
      'overlapping tensors',
      { a: { dtype: 'U8', shape: [16], data_offsets: [0, 16] }, b: { dtype: 'U8', shape: [16], data_offsets: [8, 24] } },
      /tensor 'b' .* overlaps tensor 'a'/,
    ],
    ['metadata not object', { __metadata__: 'x' }, /__metadata__ is not an object/],
    ['metadata value not string', { __metadata__: { n: 3 } }, /__metadata__ entry 'n' is not a string/],
  ];
  for (const [what, header, pattern] of cases) {
    assert.doesNotThrow(() => {
      assertFormatError(() => read(buildSafetensorsRaw(header, data)), NAME, pattern);
    }, what);
  }
  const badUtf8 = Buffer.concat([Buffer.alloc(8), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]);
  badUtf8.writeBigUInt64LE(4n);
  assertFormatError(() => read(badUtf8), NAME, /UTF-8/);
});

// ------------------------------------------------------------ real files

test('corpus: every trained-digits safetensors file', (t) => {
  const corpus = corpusDir();
  if (!corpus) return t.skip('corpus ../shared/corpus absent');
  let files = 0;
  for (const family of ['mlp', 'conv']) {
    const dir = join(corpus, 'trained-digits', family);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.safetensors'))) {
      const src = new FileSource(join(dir, f));
      try {
        const seg = safetensorsReader.read(src);
        assertCovers(seg.segments, src.size);
        const tensors = tensorsOf(seg);
        assert.ok(tensors.length >= 4, `${f}: ${tensors.length} tensors`);
        const tensorBytes = tensors.reduce((a, s) => a + s.length, 0);
        assert.ok(tensorBytes > 0.99 * src.size - 4096, `${f}: tensors hold only ${tensorBytes} of ${src.size} bytes`);
        files++;
      } finally {
        src.close();
      }
    }
  }
  assert.ok(files >= 2);
});
