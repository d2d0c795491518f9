import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BufferSource, FileSource } from '../../src/io/file-source.js';
import { FormatError, readerFor, readers, segmentFile, validateCoverage, type Segment } from '../../src/formats/index.js';
import { buildGguf } from '../helpers/build-gguf.js';
import { buildOnnx } from '../helpers/build-onnx.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { assertFormatError, pseudoRandom } from '../helpers/sources.js';
import { assertCovers, sileroPath } from '../helpers/segments.js';

const st = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 2], data: pseudoRandom(16) }]);
const gguf = buildGguf([{ name: 'w', type: 'F32', shape: [2, 2], data: pseudoRandom(16) }]);
const onnx = buildOnnx([{ name: 'w', dtype: 'F32', shape: [2, 2], data: pseudoRandom(16) }]);

function seg(buf: Buffer, path: string) {
  const s = segmentFile(new BufferSource(path, buf), path);
  assertCovers(s.segments, buf.length);
  return s;
}

test('dispatch by extension and by content', () => {
  assert.deepEqual(readers.map((r) => r.format), ['gguf', 'tflite', 'onnx', 'tfjs', 'ensemble', 'pytorch', 'keras', 'hdf5', 'safetensors']);
  assert.equal(seg(st, 'a/model.safetensors').format, 'safetensors');
  assert.equal(seg(st, 'a/blob-without-extension').format, 'safetensors');
  assert.equal(seg(gguf, 'a/model.gguf').format, 'gguf');
  assert.equal(seg(gguf, 'a/model.bin').format, 'gguf');
  assert.equal(seg(onnx, 'a/model.onnx').format, 'onnx');
  assert.equal(seg(onnx, 'a/model.pb').format, 'raw', 'ONNX is recognized by extension only');
  assert.equal(seg(Buffer.from('hello, world\n'), 'a/readme.txt').format, 'raw');
  assert.equal(seg(pseudoRandom(5000), 'a/noise.bin').format, 'raw');
  assert.deepEqual(seg(Buffer.alloc(0), 'a/empty').segments, []);
  assert.deepEqual(seg(Buffer.alloc(0), 'a/empty.txt'), { format: 'raw', segments: [] });
  assert.equal(readerFor(st.subarray(0, 64), 'x', 10).format, 'raw', 'a header length past the end is not safetensors');
});

test('a file that sniffs as a format but does not parse is rejected, not stored raw', () => {
  assertFormatError(() => segmentFile(new BufferSource('broken.safetensors', Buffer.from('not a model')), 'broken.safetensors'), 'broken.safetensors');
  assertFormatError(() => segmentFile(new BufferSource('broken.gguf', Buffer.from('GGUF')), 'broken.gguf'), 'broken.gguf');
  assertFormatError(() => segmentFile(new BufferSource('broken.onnx', Buffer.from([0x0a, 0x7f])), 'broken.onnx'), 'broken.onnx');
});

test('validateCoverage catches gaps, overlaps, empty segments and short coverage', () => {
  const lit = (offset: number, length: number): Segment => ({ kind: 'literal', offset, length });
  validateCoverage([lit(0, 4), lit(4, 6)], 10);
  validateCoverage([], 0);
  assert.throws(() => validateCoverage([lit(0, 4), lit(5, 5)], 10), /does not continue at offset 4/);
  assert.throws(() => validateCoverage([lit(0, 4), lit(3, 7)], 10), /does not continue/);
  assert.throws(() => validateCoverage([lit(0, 4), lit(4, 0), lit(4, 6)], 10), /segment 1/);
  assert.throws(() => validateCoverage([lit(0, 4)], 10, 'f.bin'), /f\.bin: internal error: segments cover 4 bytes of 10/);
  assert.throws(() => validateCoverage([], 1), (e) => !(e instanceof FormatError));
});

test('segmentFile on a real file through FileSource', (t) => {
  const path = sileroPath('silero_vad_v5.onnx');
  if (!existsSync(path)) return t.skip(`${path} absent`);
  const src = new FileSource(path);
  try {
    const s = segmentFile(src, path);
    assert.equal(s.format, 'onnx');
    assertCovers(s.segments, src.size);
  } finally {
    src.close();
  }
});
