import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { halfToNumber, numberToHalf } from '../../src/serve/oip/fp16.js';
import { checkJsonDepth } from '../../src/serve/oip/json-limits.js';
import { binaryToTensorData, flattenJsonData, jsonToTensorData, tensorDataToBinary, tensorDataToJson } from '../../src/serve/oip/tensor-codec.js';
import { splitRequestBody } from '../../src/serve/oip/binary-extension.js';
import { tempDir } from '../helpers/store-fixtures.js';
import { binaryBody, http, postJson, serveModels, splitBinaryReply } from './helpers.js';
import { ONNX_ELEM, identityModel } from './identity-model.js';

test('FP16: every half survives half -> number -> half; numbers round to nearest even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfToNumber(h);
    if (Number.isNaN(v)) continue;
    assert.equal(numberToHalf(v), h, `0x${h.toString(16)}`);
  }
  assert.equal(numberToHalf(1 + 2 ** -11), 0x3c00, 'tie to even (down)');
  assert.equal(numberToHalf(1 + 3 * 2 ** -11), 0x3c02, 'tie to even (up)');
  assert.equal(numberToHalf(65504), 0x7bff);
  assert.equal(numberToHalf(65519.99), 0x7bff);
  assert.equal(numberToHalf(65520), 0x7c00);
  assert.equal(numberToHalf(2 ** -25), 0, 'half the smallest subnormal ties to zero');
  assert.equal(numberToHalf(1.5 * 2 ** -25), 1);
  assert.equal(numberToHalf(-0), 0x8000);
  assert.equal(numberToHalf(NaN) & 0x7c00, 0x7c00);
});

test('JSON floats print as String() prints each, whether the array has a -0, a NaN or an infinity (the slow path) or not', () => {
  const f = new Float32Array(1000).map((_, i) => Math.sin(i) * 10 ** ((i % 40) - 20));
  const each = (a: ArrayLike<number>): string => `[${Array.from(a, (v) => String(v)).join(',')}]`;
  assert.equal(tensorDataToJson('FP32', f), each(f));
  const d = Float64Array.from(f, (v) => v / 3);
  assert.equal(tensorDataToJson('FP64', d), each(d));
  const withNegZero = Float32Array.from([...f, -0]);
  assert.equal(tensorDataToJson('FP32', withNegZero), `${each(f).slice(0, -1)},-0]`);
});

test('JSON floats are exact: FP32 and FP64 values, -0, NaN and infinities come back bit-identical', () => {
  const f = new Float32Array([0.1, -0, 1e-45, 3.4028234663852886e38, NaN, Infinity, -Infinity, 1 / 3, -2.5]);
  const text = tensorDataToJson('FP32', f);
  assert.match(text, /^\[0\.10000000149011612,-0,/);
  assert.match(text, /"NaN","Infinity","-Infinity"/);
  const back = jsonToTensorData('FP32', JSON.parse(text) as unknown[], 'x') as Float32Array;
  assert.ok(Buffer.from(back.buffer).equals(Buffer.from(f.buffer)));
  const d = new Float64Array([Math.PI, -0, Number.MIN_VALUE, Number.MAX_VALUE]);
  const d2 = jsonToTensorData('FP64', JSON.parse(tensorDataToJson('FP64', d)) as unknown[], 'x') as Float64Array;
  assert.ok(Buffer.from(d2.buffer).equals(Buffer.from(d.buffer)));
});

test('INT64 and UINT64: exact through JSON as numbers or decimal strings; ranges checked', () => {
  const big = BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]);
  const text = tensorDataToJson('INT64', big);
  assert.equal(text, '[-9223372036854775808,9223372036854775807,0,-1]');
  const back = jsonToTensorData('INT64', ['-9223372036854775808', '9223372036854775807', 0, -1], 'x') as BigInt64Array;
  assert.deepEqual([...back], [...big]);
  assert.throws(() => jsonToTensorData('INT64', ['9223372036854775808'], 'x'), /not a INT64 value/);
  assert.throws(() => jsonToTensorData('UINT64', [-1], 'x'), /not a UINT64 value/);
  assert.deepEqual([...(jsonToTensorData('UINT64', ['18446744073709551615'], 'x') as BigUint64Array)], [2n ** 64n - 1n]);
  assert.throws(() => jsonToTensorData('UINT8', [256], 'x'), /not a UINT8 value \(an integer from 0 to 255\)/);
  assert.throws(() => jsonToTensorData('INT8', [-129], 'x'), /INT8/);
  assert.throws(() => jsonToTensorData('BOOL', ['true'], 'x'), /not a BOOL value/);
  assert.throws(() => jsonToTensorData('BYTES', [1], 'x'), /not a string/);
});

test('flat and nested data, checked against the shape before allocating', () => {
  assert.deepEqual(flattenJsonData([[1, 2, 3], [4, 5, 6]], [2, 3], 6, 'x'), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(flattenJsonData([1, 2, 3, 4, 5, 6], [2, 3], 6, 'x'), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(flattenJsonData(5, [], 1, 'x'), [5]);
  assert.throws(() => flattenJsonData([[1, 2], [3, 4]], [2, 3], 6, 'x'), /nested data has 2 entries at data\[0\]/);
  assert.throws(() => flattenJsonData([[[1]], [[2]]], [2, 1], 2, 'x'), /deeper than the shape/);
  assert.throws(() => flattenJsonData([1, 2], [3], 3, 'x'), /"data" has 2 elements, the shape \[3\] needs 3/);
  assert.throws(() => flattenJsonData({}, [1], 1, 'x'), /must be an array/);
});

test('binary data: sizes checked before allocating; BYTES length-prefixed', () => {
  assert.throws(() => binaryToTensorData('FP32', Buffer.alloc(10), 3, 'x'), /binary_data_size is 10 bytes, the shape and datatype FP32 need 12/);
  const strings = ['', 'abc', 'é✓'];
  const wire = tensorDataToBinary(strings);
  assert.equal(wire.toString('hex'), '00000000' + '03000000616263' + '05000000c3a9e29c93');
  assert.deepEqual(binaryToTensorData('BYTES', wire, 3, 'x'), strings);
  assert.throws(() => binaryToTensorData('BYTES', wire, 2, 'x'), /holds 2 BYTES elements in 11 of 20 bytes/);
  assert.throws(() => binaryToTensorData('BYTES', wire.subarray(0, 9), 3, 'x'), /claims 3 bytes, 1 remain/);
  assert.throws(() => binaryToTensorData('BOOL', Buffer.from([0, 2]), 2, 'x'), /not 0 or 1/);
  // Unaligned input is copied into an aligned array.
  const body = Buffer.concat([Buffer.from([9]), Buffer.from(new Float32Array([1.5, -2]).buffer)]);
  assert.deepEqual([...(binaryToTensorData('FP32', body.subarray(1), 2, 'x') as Float32Array)], [1.5, -2]);
});

test('the test vector of binary-extension.md', () => {
  // {"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]} + 1.0f, -2.5f
  const header = '{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}';
  const body = Buffer.concat([Buffer.from(header), Buffer.from('0000803f000020c0', 'hex')]);
  assert.equal(header.length, 91);
  const { json, binary } = splitRequestBody(body, '91');
  assert.equal(json.toString(), header);
  assert.deepEqual([...(binaryToTensorData('FP32', binary, 2, 'x') as Float32Array)], [1, -2.5]);
});

test('JSON depth is checked before parsing, ignoring brackets inside strings', () => {
  checkJsonDepth('{"a":"[[[[[[[[[[","b":[[1]]}', 3);
  checkJsonDepth('{"a":"\\"[[[[["}', 1);
  assert.throws(() => checkJsonDepth('[[[[1]]]]', 3), /nested deeper than 3 levels/);
  // An escaped backslash ends no string; the quote after it does.
  checkJsonDepth('{"a":"\\\\","b":[1]}', 2);
  assert.throws(() => checkJsonDepth('{"a":"\\\\","b":[[1]]}', 2), /nested deeper than 2 levels/);
});

const SAMPLES: Record<string, unknown[]> = {
  FP32: [0.5, -0, 'NaN', 'Infinity', 1e-40, 3.4028234663852886e38],
  FP64: [Math.PI, -0, 'NaN', 5e-324, -1e308, 2],
  FP16: [0.5, -0, 65504, 'Infinity', 5.960464477539063e-8, -2],
  UINT8: [0, 1, 2, 127, 128, 255],
  INT8: [-128, -1, 0, 1, 2, 127],
  UINT16: [0, 1, 65535, 3, 4, 5],
  INT16: [-32768, 32767, 0, -1, 1, 2],
  UINT32: [0, 4294967295, 1, 2, 3, 4],
  INT32: [-2147483648, 2147483647, 0, -1, 1, 2],
  INT64: ['-9223372036854775808', '9223372036854775807', 0, -1, 1, 2],
  UINT64: ['18446744073709551615', 0, 1, 2, 3, 4],
  BOOL: [true, false, true, true, false, false],
  BYTES: ['', 'a', 'hello', 'é✓', 'x y', '"quoted"'],
};

/** What the server writes back for each sample (exact values; strings for NaN and infinities). */
function expected(dt: string, v: unknown): unknown {
  if (dt === 'INT64' || dt === 'UINT64') return BigInt(v as string | number);
  // JSON.stringify on the client side writes -0 as 0.
  if (Object.is(v, -0)) return 0;
  if (dt === 'FP32' && typeof v === 'number') return Math.fround(v);
  if (dt === 'FP16' && typeof v === 'number') return halfToNumber(numberToHalf(v));
  return v;
}

test('every datatype onnxruntime-node supports goes through the server, JSON and binary, unchanged', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'identity.onnx');
  writeFileSync(file, identityModel(3));
  const s = await serveModels([['identity', file]]);
  try {
    const meta = (await http(`${s.url}/v2/models/identity`)).json<{ inputs: { name: string; datatype: string; shape: number[] }[] }>();
    assert.deepEqual(meta.inputs.map((i) => [i.name, i.datatype, i.shape]), Object.keys(ONNX_ELEM).map((dt) => [`x_${dt}`, dt, [-1, 3]]));
    const inputs = Object.keys(ONNX_ELEM).map((dt) => ({ name: `x_${dt}`, datatype: dt, shape: [2, 3], data: SAMPLES[dt]! }));
    const r = await postJson(`${s.url}/v2/models/identity/infer`, { inputs });
    assert.equal(r.status, 200, r.body.toString());
    // Parse INT64/UINT64 exactly: swap big integers for strings before JSON.parse.
    const text = r.body.toString().replace(/([[,])(-?\d{16,})(?=[,\]])/g, '$1"$2"');
    const outs = (JSON.parse(text) as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] }).outputs;
    for (const o of outs) {
      const dt = o.name.slice(2);
      assert.equal(o.datatype, dt);
      assert.deepEqual(o.shape, [2, 3]);
      const got = o.data.map((v) => ((dt === 'INT64' || dt === 'UINT64') ? BigInt(v as string | number) : v));
      assert.deepEqual(got, SAMPLES[dt]!.map((v) => expected(dt, v)), dt);
    }

    // Binary both ways: the bytes come back unchanged.
    const parts = inputs.map((i) => tensorDataToBinary(jsonToTensorData(i.datatype as 'FP32', i.data, i.name)));
    const header = {
      inputs: inputs.map((i, k) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: parts[k]!.length } })),
      parameters: { binary_data_output: true },
    };
    const req = binaryBody(header, parts);
    const rb = await http(`${s.url}/v2/models/identity/infer`, { method: 'POST', body: req.body, headers: req.headers });
    assert.equal(rb.status, 200, rb.body.toString());
    const split = splitBinaryReply(rb);
    let off = 0;
    for (const [k, o] of split.header.outputs.entries()) {
      const size = o.parameters!.binary_data_size!;
      assert.ok(split.binary.subarray(off, off + size).equals(parts[k]!), o.name);
      off += size;
    }
    assert.equal(off, split.binary.length);
  } finally {
    await s.close();
    cleanup();
  }
});
