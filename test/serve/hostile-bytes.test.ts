import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/store-fixtures.js';
import { binaryBody, http, postJson, serveModels, splitBinaryReply } from './helpers.js';
import type { Reply, TestServer } from './helpers.js';
import { exactTextCases, framedElements, invalidUtf8Cases, loneSurrogateCases, nulCases } from './hostile-strings.js';
import { constantStringModel } from './string-model.js';

/**
 * BYTES tensors through a real onnxruntime string tensor: every element comes
 * back exactly, or the request is refused with a 400 naming the element and
 * why. Never a 200 with other data.
 */

const CONSTANTS = {
  // NUL is carried out of onnxruntime whole (its outputs are length-delimited).
  nul: [Buffer.from('a\0b'), Buffer.from([0]), Buffer.alloc(0)],
  // Not UTF-8: onnxruntime-node would hand these on as U+FFFD.
  invalid: [Buffer.from('fine'), Buffer.from([0x61, 0xff, 0x62])],
  // A real U+FFFD: indistinguishable from a replacement once it reaches the server.
  replacement: [Buffer.from('\ufffd', 'utf8')],
};

let s: TestServer;
let cleanupDir: () => void;
before(async () => {
  const { dir, cleanup } = tempDir();
  cleanupDir = cleanup;
  const models: [string, string][] = [];
  for (const [name, elements] of Object.entries({ echo: [Buffer.from('k')], ...CONSTANTS })) {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, constantStringModel(elements));
    models.push([name, file]);
  }
  s = await serveModels(models);
});
after(async () => {
  await s.close();
  cleanupDir();
});

const inferUrl = (model: string): string => `${s.url}/v2/models/${model}/infer`;

/** The echo model's `y` for JSON strings, as JSON. */
const echoJson = (texts: unknown[]): Promise<Reply> =>
  postJson(inferUrl('echo'), { inputs: [{ name: 'x', shape: [texts.length], datatype: 'BYTES', data: texts }], outputs: [{ name: 'y' }] });

/** The echo model's `y` for binary elements, as binary. */
function echoBinary(elements: readonly Buffer[]): Promise<Reply> {
  const wire = framedElements(elements);
  const req = binaryBody({
    inputs: [{ name: 'x', shape: [elements.length], datatype: 'BYTES', parameters: { binary_data_size: wire.length } }],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  }, [wire]);
  return http(inferUrl('echo'), { method: 'POST', body: req.body, headers: req.headers });
}

function assertRefused(r: Reply, pattern: RegExp, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.body.toString()}`);
  assert.match(r.json<{ error: string }>().error, pattern, what);
}

test('valid text round-trips exactly through a string tensor, JSON and binary', async () => {
  const cases = exactTextCases();
  const texts = cases.map((c) => c.text);
  const r = await echoJson(texts);
  assert.equal(r.status, 200, r.body.toString());
  const out = r.json<{ outputs: { data: string[] }[] }>().outputs[0]!.data;
  for (const [i, c] of cases.entries()) assert.equal(out[i], c.text, `JSON: ${c.name}`);

  const elements = texts.map((t) => Buffer.from(t, 'utf8'));
  const rb = await echoBinary(elements);
  assert.equal(rb.status, 200, rb.body.toString());
  const { header, binary } = splitBinaryReply(rb);
  assert.equal(header.outputs[0]!.parameters?.binary_data_size, binary.length);
  assert.ok(binary.equals(framedElements(elements)), 'binary: every element byte for byte');
});

test('an element holding NUL is refused with a 400 naming it (onnxruntime would cut it at the NUL)', async () => {
  for (const c of nulCases()) {
    const text = c.bytes.toString('utf8');
    assertRefused(await echoJson(['ok', text, 'ok']), /input "x": BYTES element 1 holds NUL .*onnxruntime/, `JSON: ${c.name}`);
    assertRefused(await echoBinary([Buffer.from('ok'), c.bytes]), /input "x": BYTES element 1 holds NUL at byte \d+/, `binary: ${c.name}`);
  }
});

test('binary elements that are not UTF-8 are refused with a 400 naming them, every class of error', async () => {
  for (const c of invalidUtf8Cases()) {
    assertRefused(await echoBinary([Buffer.from('ok'), Buffer.from('ok'), c.bytes]), /input "x": BYTES element 2 is not valid UTF-8/, c.name);
  }
});

test('JSON strings with lone surrogates, and JSON bodies that are not UTF-8, are refused with a 400', async () => {
  for (const c of loneSurrogateCases()) {
    assertRefused(await echoJson([c.text]), /input "x": BYTES element 0 holds a lone surrogate U\+D[89A-F][0-9A-F]{2} at character \d+/, c.name);
  }
  // Raw bytes that are not UTF-8 inside a JSON string: the JSON text itself is not UTF-8 (RFC 8259 §8.1).
  for (const c of invalidUtf8Cases().filter((x) => x.name.endsWith('in the middle'))) {
    const body = Buffer.concat([Buffer.from('{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["'), c.bytes, Buffer.from('"]}]}')]);
    assertRefused(await http(inferUrl('echo'), { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }), /JSON is not valid UTF-8/, `raw in JSON: ${c.name}`);
  }
});

test('string outputs: NUL comes back whole; bytes that are not UTF-8 (or a U+FFFD standing for them) are never handed out silently', async () => {
  const json = await postJson(inferUrl('nul'), { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['q'] }], outputs: [{ name: 'k' }] });
  assert.equal(json.status, 200, json.body.toString());
  assert.deepEqual(json.json<{ outputs: { data: string[] }[] }>().outputs[0]!.data, ['a\0b', '\0', '']);
  const bin = await postJson(inferUrl('nul'), { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['q'] }], outputs: [{ name: 'k', parameters: { binary_data: true } }] });
  assert.equal(bin.status, 200, bin.body.toString());
  assert.ok(splitBinaryReply(bin).binary.equals(framedElements(CONSTANTS.nul)));

  for (const model of ['invalid', 'replacement']) {
    const r = await postJson(inferUrl(model), { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: ['q'] }], outputs: [{ name: 'k' }] });
    // Not the client's doing: an internal error (500), never a 200 with other text.
    assert.equal(r.status, 500, `${model}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, new RegExp(`output "k": BYTES element ${model === 'invalid' ? 1 : 0} holds U\\+FFFD`), model);
  }
});
