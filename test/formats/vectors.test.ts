import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { segmentFile } from '../../src/formats/index.js';
import { buildGguf } from '../helpers/build-gguf.js';
import { buildOnnx } from '../helpers/build-onnx.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';

/** The test vectors of src/formats/{safetensors,gguf,onnx}.md: exact bytes and segments. */

const seg = (name: string, buf: Buffer) => segmentFile(new BufferSource(name, buf), name).segments;
const lit = (offset: number, length: number) => ({ kind: 'literal', offset, length });
const ten = (offset: number, length: number, name: string, dtype: string, shape: number[]) => ({ kind: 'tensor', offset, length, name, dtype, shape });
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('safetensors.md vector', () => {
  const file = buildSafetensors([
    { name: 'w', dtype: 'F16', shape: [2], data: Buffer.from([1, 2, 3, 4]) },
    { name: 'b', dtype: 'U8', shape: [3], data: Buffer.from([0xaa, 0xbb, 0xcc]) },
  ]);
  assert.equal(file.length, 127);
  assert.deepEqual(file.subarray(0, 9), hex('70 00 00 00 00 00 00 00 7b'));
  assert.deepEqual(file.subarray(112), hex('7d 7d 20 20 20 20 20 20 01 02 03 04 aa bb cc'));
  assert.deepEqual(seg('tiny.safetensors', file), [lit(0, 120), ten(120, 4, 'w', 'F16', [2]), ten(124, 3, 'b', 'U8', [3])]);
});

test('gguf.md vector', () => {
  const file = buildGguf([{ name: 'w', type: 'F32', shape: [2], data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) }], {
    metadata: { 'general.architecture': { type: 'string', value: 't' } },
  });
  assert.equal(file.length, 160);
  assert.deepEqual(file.subarray(0x30, 0x60), hex(`
    74 75 72 65 08 00 00 00 01 00 00 00 00 00 00 00
    74 01 00 00 00 00 00 00 00 77 01 00 00 00 02 00
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`));
  assert.deepEqual(seg('tiny.gguf', file), [lit(0, 128), ten(128, 8, 'w', 'F32', [2]), lit(136, 24)]);
});

test('onnx.md vector', () => {
  const file = buildOnnx({
    graph: {
      initializers: [{ name: 'w', dtype: 'F32', shape: [2], data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) }],
      nodes: [{ opType: 'Constant', name: 'c', attributes: [{ name: 'value', tensor: { dtype: 'I64', shape: [], data: Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]) } }] }],
    },
  });
  assert.deepEqual(file, hex(`
    08 08 12 0c 74 65 73 73 65 72 61 2d 74 65 73 74
    3a 44 0a 27 1a 01 63 22 08 43 6f 6e 73 74 61 6e
    74 2a 18 0a 05 76 61 6c 75 65 2a 0c 10 07 4a 08
    09 00 00 00 00 00 00 00 a0 01 04 12 05 67 72 61
    70 68 2a 12 0a 01 02 10 01 42 01 77 4a 08 01 02
    03 04 05 06 07 08 42 04 0a 00 10 11`));
  assert.deepEqual(seg('tiny.onnx', file), [lit(0, 48), ten(48, 8, 'c/value', 'I64', []), lit(56, 22), ten(78, 8, 'w', 'F32', [2]), lit(86, 6)]);
});
