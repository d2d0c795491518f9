import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VAD_MODELS, randomBytes } from '../helpers/store-fixtures.js';
import { oversizedBodies, slowBodies, slowHeaders, stalledDownloads } from './abuse.js';
import { binaryBody, http, postJson, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { rawExchange } from './raw-http.js';

const V5 = VAD_MODELS[1]!;

const audio = new Array<number>(512).fill(0.01);
const state = new Array<number>(256).fill(0);
const good = (): { name: string; shape: number[]; datatype: string; data: unknown }[] => [
  { name: 'input', shape: [1, 512], datatype: 'FP32', data: audio },
  { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: state },
  { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
];
const replace = (name: string, patch: Record<string, unknown>): unknown[] => good().map((i) => (i.name === name ? { ...i, ...patch } : i));

let s: TestServer;
before(async () => {
  s = await serveModels([['vad', V5]], { maxBodyBytes: 1 << 20, maxJsonDepth: 16 });
  // A model that is not ONNX (raw bytes) to show that only ONNX models are served.
  const raw = join(s.dir, 'weights.bin');
  writeFileSync(raw, randomBytes(100_000, 5));
  await s.store.import(raw, { name: 'blob' });
  await s.server.context.catalog.refresh();
});
after(async () => {
  await s.close();
});

async function expectError(p: Promise<{ status: number; json<T>(): T; headers: Headers }>, status: number, pattern: RegExp): Promise<void> {
  const r = await p;
  assert.equal(r.status, status);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  const body = r.json<{ error: string }>();
  assert.equal(typeof body.error, 'string');
  assert.match(body.error, pattern);
}

test('inference requests with a bad input are 400 with a message naming the problem', async () => {
  const url = `${s.url}/v2/models/vad/infer`;
  const cases: [unknown, RegExp][] = [
    [{ inputs: [...good(), { name: 'nope', shape: [1], datatype: 'FP32', data: [1] }] }, /unknown input "nope"; the model's inputs are "input", "state", "sr"/],
    [{ inputs: good().slice(0, 2) }, /missing input\(s\) "sr"/],
    [{ inputs: replace('input', { datatype: 'FP64' }) }, /input "input": datatype FP64 does not match the model's FP32/],
    [{ inputs: replace('input', { datatype: 'FLOAT' }) }, /"datatype" must be one of/],
    [{ inputs: replace('state', { shape: [2, 1, 64], data: state.slice(0, 128) }) }, /input "state": shape \[2,1,64\] does not match the model's \[2,-1,128\]/],
    [{ inputs: replace('input', { shape: [512] }) }, /shape \[512\] does not match the model's \[-1,-1\]/],
    [{ inputs: replace('input', { data: audio.slice(1) }) }, /"data" has 511 elements, the shape \[1,512\] needs 512/],
    [{ inputs: replace('input', { shape: [1, -3] }) }, /shape dimension -3 is not a non-negative integer/],
    [{ inputs: replace('input', { shape: [100000, 100000] }) }, /more than 2147483647 elements|"data" has 512 elements/],
    [{ inputs: replace('input', { data: [[1, 2], [3]] , shape: [2, 2] }) }, /nested data has 1 entries at data\[1\]/],
    [{ inputs: replace('input', { data: ['a', ...audio.slice(1)] }) }, /element 0 \("a"\) is not a number/],
    [{ inputs: replace('sr', { data: [1.5] }) }, /element 0 \(1\.5\) is not a INT64 value/],
    [{ inputs: replace('sr', { data: [2 ** 60] }) }, /beyond 2\^53 must be sent as decimal strings/],
    [{ inputs: replace('input', { data: undefined }) }, /"data" is missing/],
    [{ inputs: [...good(), good()[0]] }, /input "input" is given twice/],
    [{ inputs: good(), outputs: [{ name: 'logits' }] }, /unknown output "logits"; the model's outputs are "output", "stateN"/],
    [{ inputs: good(), outputs: [{ name: 'output' }, { name: 'output' }] }, /requested twice/],
    [{ inputs: good(), id: 42 }, /"id" must be a string/],
    [{ inputs: good(), parameters: { binary_data_output: 'yes' } }, /"binary_data_output" must be true or false/],
    [{ inputs: good(), parameters: { nested: { a: 1 } } }, /parameter "nested" must be a string, number or boolean/],
    [{ inputs: [] }, /"inputs" must be a non-empty array/],
    [[1, 2, 3], /must be a JSON object/],
    // A batch of 2 with a state for a batch of 1 passes the shape check but not onnxruntime.
    [{ inputs: replace('input', { shape: [2, 512], data: [...audio, ...audio] }) }, /inference failed/],
  ];
  for (const [body, pattern] of cases) await expectError(postJson(url, body), 400, pattern);
  // The server still answers a good request after all of that.
  assert.equal((await postJson(url, { inputs: good() })).status, 200);
});

test('malformed bodies: bad JSON, too deep, too large, bad binary header and sizes', async () => {
  const url = `${s.url}/v2/models/vad/infer`;
  await expectError(http(url, { method: 'POST', body: '{"inputs": [' }), 400, /malformed JSON/);
  await expectError(http(url, { method: 'POST', body: '['.repeat(17) + ']'.repeat(17) }), 400, /nested deeper than 16 levels/);
  await expectError(http(url, { method: 'POST', body: Buffer.alloc((1 << 20) + 1, 0x20) }), 413, /over the limit of 1048576 bytes/);
  const f32 = Buffer.alloc(512 * 4);
  const st = Buffer.alloc(256 * 4);
  const sr = Buffer.alloc(8);
  sr.writeBigInt64LE(16000n);
  const header = (sizes: number[]) => ({
    inputs: [
      { name: 'input', shape: [1, 512], datatype: 'FP32', parameters: { binary_data_size: sizes[0] } },
      { name: 'state', shape: [2, 1, 128], datatype: 'FP32', parameters: { binary_data_size: sizes[1] } },
      { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: sizes[2] } },
    ],
  });
  const ok = binaryBody(header([2048, 1024, 8]), [f32, st, sr]);
  assert.equal((await http(url, { method: 'POST', body: ok.body, headers: ok.headers })).status, 200);
  const wrongSize = binaryBody(header([2044, 1028, 8]), [f32, st, sr]);
  await expectError(http(url, { method: 'POST', body: wrongSize.body, headers: wrongSize.headers }), 400, /binary_data_size is 2044 bytes, the shape and datatype FP32 need 2048/);
  const short = binaryBody(header([2048, 1024, 8]), [f32, st]);
  await expectError(http(url, { method: 'POST', body: short.body, headers: short.headers }), 400, /runs past the end of the binary data/);
  const extra = binaryBody(header([2048, 1024, 8]), [f32, st, sr, Buffer.alloc(3)]);
  await expectError(http(url, { method: 'POST', body: extra.body, headers: extra.headers }), 400, /add up to 3080/);
  await expectError(http(url, { method: 'POST', body: ok.body, headers: { ...ok.headers, 'Inference-Header-Content-Length': '999999' } }), 400, /the body has only/);
  await expectError(http(url, { method: 'POST', body: ok.body, headers: { ...ok.headers, 'Inference-Header-Content-Length': 'x' } }), 400, /must be a non-negative integer/);
});

test('unknown models, versions and endpoints are 404; malformed names and versions 400; wrong methods 405', async () => {
  await expectError(postJson(`${s.url}/v2/models/nope/infer`, { inputs: good() }), 404, /no model named "nope"/);
  await expectError(postJson(`${s.url}/v2/models/vad/versions/9/infer`, { inputs: good() }), 404, /model "vad" has no version 9; it has 1/);
  await expectError(http(`${s.url}/v2/models/nope`), 404, /no model named "nope"/);
  await expectError(http(`${s.url}/v2/models/vad/versions/2/ready`), 404, /no version 2/);
  await expectError(http(`${s.url}/v2/models/vad/versions/x1`), 400, /invalid model version "x1"/);
  await expectError(http(`${s.url}/v2/models/..%2Fetc`), 400, /invalid model name/);
  await expectError(http(`${s.url}/v2/nothing/here`), 404, /no such endpoint: GET \/v2\/nothing\/here/);
  const r = await http(`${s.url}/v2/models/vad/infer`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST');
  // A stored model that is not ONNX is listed, downloadable, but not servable.
  await expectError(postJson(`${s.url}/v2/models/blob/infer`, { inputs: good() }), 400, /blob:1 is a raw model; only ONNX models can be served/);
  const ready = await http(`${s.url}/v2/models/blob/ready`);
  assert.equal(ready.status, 400);
  assert.equal(ready.json<{ ready: boolean }>().ready, false);
  assert.equal((await http(`${s.url}/v2/models/blob/versions/1/files/weights.bin`)).status, 200);
});

test('a malformed HTTP request gets a 400 and the server stays up', async () => {
  const port = s.server.port;
  const status = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v2/health/live', method: 'GET', headers: { 'Content-Length': 'abc' } }, (res) => resolve(String(res.statusCode)));
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, '400');
  assert.equal((await http(`${s.url}/v2/health/live`)).status, 200);
});

test('a model whose stored bytes are damaged fails to load with a 500, and the others keep working', async () => {
  const d = await serveModels([['good', VAD_MODELS[2]!], ['bad', VAD_MODELS[0]!]]);
  try {
    // Damage one chunk only the "bad" model uses: flip its stored bytes (raw copy or compressed payload alike).
    const db = new Database(d.path);
    const row = db.prepare(`SELECT c.id, c.data FROM chunks c JOIN file_chunks fc ON fc.chunk_id = c.id JOIN files f ON f.id = fc.file_id
        JOIN models m ON m.id = f.model_id WHERE m.name = 'bad' AND c.codec = 0 AND c.id NOT IN (
          SELECT fc2.chunk_id FROM file_chunks fc2 JOIN files f2 ON f2.id = fc2.file_id JOIN models m2 ON m2.id = f2.model_id WHERE m2.name = 'good')
        ORDER BY c.raw_size DESC LIMIT 1`).get() as { id: number; data: Buffer } | undefined;
    assert.ok(row, 'a raw chunk of the bad model');
    const data = Buffer.from(row.data);
    data[data.length >> 1] ^= 0xff;
    db.prepare('UPDATE chunks SET data = ? WHERE id = ?').run(data, row.id);
    db.close();
    const legacyInputs = [
      { name: 'input', shape: [1, 512], datatype: 'FP32', data: audio },
      { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
      { name: 'h', shape: [2, 1, 64], datatype: 'FP32', data: state.slice(0, 128) },
      { name: 'c', shape: [2, 1, 64], datatype: 'FP32', data: state.slice(0, 128) },
    ];
    await expectError(postJson(`${d.url}/v2/models/bad/infer`, { inputs: legacyInputs }), 500, /model bad:1 failed to load: .*SHA-256.*the store is damaged/);
    // Remembered: answered at once, the model reported unavailable.
    await expectError(postJson(`${d.url}/v2/models/bad/infer`, { inputs: legacyInputs }), 500, /failed to load/);
    assert.equal((await http(`${d.url}/v2/models/bad/ready`)).status, 400);
    // A download of the damaged file is cut short rather than completed.
    const dl = await fetch(`${d.url}/v2/models/bad/versions/1/files/silero_vad_legacy.onnx`).then((r) => r.arrayBuffer()).then(() => 'complete', () => 'cut');
    assert.equal(dl, 'cut');
    assert.equal((await postJson(`${d.url}/v2/models/good/infer`, { inputs: good() })).status, 200);
    assert.equal((await http(`${d.url}/v2/health/ready`)).status, 200);
  } finally {
    await d.close();
  }
});

test('slow and oversized clients: a 413 reaches a client that sends its whole body, slow headers and bodies get 408, headers too large 431, an unread download is cut off', async () => {
  const limits = { maxBodyBytes: 1 << 20, headersTimeoutMs: 1000, requestTimeoutMs: 2000, sendTimeoutMs: 500 };
  const d = await serveModels([['vad', V5]], limits);
  try {
    const large = join(d.dir, 'large.bin');
    writeFileSync(large, randomBytes(16 << 20, 6));
    await d.store.import(large, { name: 'large' });
    await d.server.context.catalog.refresh();
    const t = { url: d.url, port: d.server.port, inferPath: '/v2/models/vad/infer', ...limits, rss: async () => 0 };
    // A connection closed with the rest of the body unread was reset, and the client, still sending, often lost its 413.
    await oversizedBodies(t, 2);
    await Promise.all([slowHeaders(t, 1), slowBodies(t, 1)]);
    const huge = await rawExchange(d.server.port, [`GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`], 0, 5000);
    assert.equal(huge.status, 431, huge.head);
    const stalled = await stalledDownloads({ ...t, large: { model: 'large', path: 'large.bin', bytes: readFileSync(large) } }, 1, 1500);
    assert.match(stalled.line, /cut off/);
    assert.equal((await http(`${d.url}/v2/health/live`)).status, 200);
  } finally {
    await d.close();
  }
});
