import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/store-fixtures.js';
import { binaryBody, http, postJson, serveModels } from './helpers.js';
import type { Reply, TestServer } from './helpers.js';
import { identityModel } from './identity-model.js';

/**
 * The protocol's numeric fields take JSON numbers only, and only the
 * integers they can mean: a numeric string, a fraction, a negative or a
 * boolean is a 400, not coerced.
 */

let s: TestServer;
let cleanupDir: () => void;
let url: string;
before(async () => {
  const { dir, cleanup } = tempDir();
  cleanupDir = cleanup;
  const file = join(dir, 'identity.onnx');
  writeFileSync(file, identityModel(2, ['FP32']));
  s = await serveModels([['identity', file]]);
  url = `${s.url}/v2/models/identity/infer`;
});
after(async () => {
  await s.close();
  cleanupDir();
});

const values = Buffer.from(new Float32Array([1, 2]).buffer);

function binaryRequest(size: unknown, headerLength?: string): Promise<Reply> {
  const req = binaryBody({ inputs: [{ name: 'x_FP32', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: size } }] }, [values]);
  const headers = headerLength === undefined ? req.headers : { ...req.headers, 'Inference-Header-Content-Length': headerLength };
  return http(url, { method: 'POST', body: req.body, headers });
}

function assert400(r: Reply, pattern: RegExp, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.body.toString()}`);
  assert.match(r.json<{ error: string }>().error, pattern, what);
}

test('binary_data_size must be a JSON number that is a non-negative integer: "8" is refused, not read as 8', async () => {
  assert.equal((await binaryRequest(8)).status, 200);
  for (const size of ['8', ' 8', '8.0', '0x8', '1e1', 8.5, -8, 1e300, true]) {
    assert400(await binaryRequest(size), /input "x_FP32": parameters\.binary_data_size must be a non-negative integer \(a JSON number\)/, JSON.stringify(size));
  }
  for (const size of [null, [8], { n: 8 }]) {
    assert400(await binaryRequest(size), /parameter "binary_data_size" must be a string, number or boolean/, JSON.stringify(size));
  }
});

test('shape dimensions, the binary flags and Inference-Header-Content-Length are as strict', async () => {
  const json = (shape: unknown[], extra: Record<string, unknown> = {}): Promise<Reply> =>
    postJson(url, { inputs: [{ name: 'x_FP32', shape, datatype: 'FP32', data: [1, 2] }], ...extra });
  assert.equal((await json([1, 2])).status, 200);
  for (const d of ['1', 1.5, -1, 1e300, true, null]) {
    assert400(await json([d, 2]), /input "x_FP32": shape dimension .* is not a non-negative integer/, `dimension ${JSON.stringify(d)}`);
  }
  for (const flag of ['true', 1, 0]) {
    assert400(await json([1, 2], { parameters: { binary_data_output: flag } }), /"binary_data_output" must be true or false/, `binary_data_output ${JSON.stringify(flag)}`);
    assert400(await json([1, 2], { outputs: [{ name: 'y_FP32', parameters: { binary_data: flag } }] }), /"binary_data" must be true or false/, `binary_data ${JSON.stringify(flag)}`);
  }
  for (const h of ['+91', '0x10', '1e2', '9 1', '-1', '']) {
    assert400(await binaryRequest(8, h), /Inference-Header-Content-Length must be a non-negative integer/, `header length ${JSON.stringify(h)}`);
  }
});
