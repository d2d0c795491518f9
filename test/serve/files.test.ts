import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VAD_MODELS, randomBytes, randomWeights } from '../helpers/store-fixtures.js';
import { http, postJson, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { parseRange } from '../../src/serve/http/range.js';
import { importLossyPair } from '../helpers/lossy-fixture.js';

const V5 = VAD_MODELS[1]!;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let s: TestServer;
/** A 5 MB file of random and repeated parts: well over a hundred chunks, several read batches. */
const big = Buffer.concat([randomBytes(2_000_000, 11), randomWeights(500_000, 3), randomBytes(1_000_000, 12)]);

before(async () => {
  s = await serveModels([['vad', V5]], { maxUploadBytes: 8 << 20 });
});
after(async () => {
  await s.close();
});

test('parseRange: single ranges, suffixes, open ends; several ranges or nonsense serve the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 100 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 1000 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 1000 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 1000 });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 1000 });
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,5-6', 1000), undefined);
  assert.equal(parseRange('bytes=9-3', 1000), undefined);
  assert.equal(parseRange('items=0-1', 1000), undefined);
  assert.equal(parseRange(undefined, 1000), undefined);
});

test('a model file downloads byte-identical with its SHA-256 as ETag; HEAD and If-None-Match', async () => {
  const original = readFileSync(V5);
  const url = `${s.url}/v2/models/vad/versions/1/files/silero_vad_v5.onnx`;
  const r = await http(url);
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(original));
  assert.equal(r.headers.get('etag'), `"${sha(original)}"`);
  assert.equal(r.headers.get('content-length'), String(original.length));
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  const head = await http(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers.get('content-length'), String(original.length));
  const cached = await http(url, { headers: { 'If-None-Match': `"${sha(original)}"` } });
  assert.equal(cached.status, 304);
  // The latest version when none is named; the file list.
  assert.ok((await http(`${s.url}/v2/models/vad/files/silero_vad_v5.onnx`)).body.equals(original));
  const list = (await http(`${s.url}/v2/models/vad/versions/1/files`)).json<{ files: { path: string; size: number; sha256: string }[] }>();
  assert.deepEqual(list.files.map((f) => [f.path, f.size, f.sha256]), [['silero_vad_v5.onnx', original.length, sha(original)]]);
  const missing = await http(`${s.url}/v2/models/vad/versions/1/files/other.onnx`);
  assert.equal(missing.status, 404);
  assert.match(missing.json<{ error: string }>().error, /has no file "other.onnx"; its files are "silero_vad_v5.onnx"/);
});

test('a lossy version\'s files download with X-Tessera-Lossy naming its lossless version (GET, HEAD, 304, Range); the lossless version\'s without', async () => {
  const pair = await importLossyPair(s.store, s.dir, 'approx');
  await s.server.context.catalog.refresh();
  const url = (v: number): string => `${s.url}/v2/models/approx/versions/${v}/files/model.onnx`;
  const lossy = await http(url(2));
  assert.equal(lossy.status, 200);
  assert.ok(lossy.body.equals(readFileSync(pair.lossyFile)), 'the lossy version\'s own bytes');
  assert.equal(lossy.headers.get('x-tessera-lossy'), 'approx:1');
  assert.equal(lossy.headers.get('etag'), `"${sha(readFileSync(pair.lossyFile))}"`);
  assert.equal((await http(url(2), { method: 'HEAD' })).headers.get('x-tessera-lossy'), 'approx:1');
  const cached = await http(url(2), { headers: { 'If-None-Match': lossy.headers.get('etag')! } });
  assert.equal(cached.status, 304);
  assert.equal(cached.headers.get('x-tessera-lossy'), 'approx:1');
  const part = await http(url(2), { headers: { Range: 'bytes=0-9' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('x-tessera-lossy'), 'approx:1');
  // The latest version when none is named: the lossy one.
  assert.equal((await http(`${s.url}/v2/models/approx/files/model.onnx`)).headers.get('x-tessera-lossy'), 'approx:1');

  const lossless = await http(url(1));
  assert.equal(lossless.status, 200);
  assert.ok(lossless.body.equals(readFileSync(pair.losslessFile)), 'the lossless version is unchanged');
  assert.equal(lossless.headers.get('x-tessera-lossy'), null);
  assert.equal((await http(`${s.url}/v2/models/vad/versions/1/files/silero_vad_v5.onnx`, { method: 'HEAD' })).headers.get('x-tessera-lossy'), null);
});

test('upload with PUT, then Range downloads of the multi-chunk file match the original bytes', async () => {
  const put = await http(`${s.url}/v2/models/blob/versions/1/files/data/big.bin`, { method: 'PUT', body: big });
  assert.equal(put.status, 201, put.body.toString());
  assert.deepEqual(put.json<Record<string, unknown>>().sha256, sha(big));
  assert.equal(put.headers.get('location'), '/v2/models/blob/versions/1/files/data/big.bin');
  const url = `${s.url}/v2/models/blob/versions/1/files/data/big.bin`;
  // Same bytes again: nothing new; other bytes under the same version: conflict.
  assert.equal((await http(url, { method: 'PUT', body: big })).status, 200);
  const conflict = await http(url, { method: 'PUT', body: big.subarray(1) });
  assert.equal(conflict.status, 409);
  assert.match(conflict.json<{ error: string }>().error, /already exists with other files/);

  const file = s.server.context.catalog.find('blob', 1)!.files[0]!;
  const layout = await s.server.context.store.fileLayout(file);
  assert.ok(layout.ids.length > 64, `${layout.ids.length} chunks: more than one read batch`);
  const whole = await http(url);
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(big));
  const n = big.length;
  const ranges: [string, number, number][] = [
    ['bytes=0-0', 0, 1], ['bytes=0-65535', 0, 65536], ['bytes=65530-65545', 65530, 65546], ['bytes=1000000-3999999', 1_000_000, 4_000_000],
    [`bytes=${n - 10}-`, n - 10, n], ['bytes=-70000', n - 70000, n], [`bytes=123456-${n + 50}`, 123456, n], ['bytes=4999990-4999999', 4999990, 5_000_000],
  ];
  for (const [h, start, end] of ranges) {
    const r = await http(url, { headers: { Range: h } });
    assert.equal(r.status, 206, h);
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end - 1}/${n}`, h);
    assert.equal(r.headers.get('content-length'), String(end - start), h);
    assert.ok(r.body.equals(big.subarray(start, end)), `${h}: bytes differ`);
  }
  const outside = await http(url, { headers: { Range: `bytes=${n}-` } });
  assert.equal(outside.status, 416);
  assert.equal(outside.headers.get('content-range'), `bytes */${n}`);
  // If-Range with another ETag: the whole file.
  const stale = await http(url, { headers: { Range: 'bytes=0-9', 'If-Range': '"0000"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.body.length, n);
  // Without a version the upload becomes the next version.
  const next = await http(`${s.url}/v2/models/blob/files/data/big.bin`, { method: 'PUT', body: big.subarray(0, 100_000) });
  assert.equal(next.status, 201);
  assert.equal(next.json<{ version: string }>().version, '2');
});

test('an uploaded ONNX model is served at once; bad uploads are refused; DELETE removes a version', async () => {
  const original = readFileSync(VAD_MODELS[2]!);
  const put = await http(`${s.url}/v2/models/uploaded/versions/3/files/model.onnx`, { method: 'PUT', body: original });
  assert.equal(put.status, 201, put.body.toString());
  const body = {
    inputs: [
      { name: 'input', shape: [1, 512], datatype: 'FP32', data: new Array(512).fill(0.1) },
      { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
      { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
    ],
  };
  const r = await postJson(`${s.url}/v2/models/uploaded/infer`, body);
  assert.equal(r.status, 200, r.body.toString());
  assert.equal(r.json<{ model_version: string }>().model_version, '3');

  const tooBig = await http(`${s.url}/v2/models/huge/files/x.bin`, { method: 'PUT', body: Buffer.alloc((8 << 20) + 1) });
  assert.equal(tooBig.status, 413);
  const truncated = await http(`${s.url}/v2/models/broken/files/model.onnx`, { method: 'PUT', body: original.subarray(0, 5000) });
  assert.equal(truncated.status, 400);
  assert.match(truncated.json<{ error: string }>().error, /^model\.onnx: /, 'the message names the file, not the temporary path');
  assert.equal((await http(`${s.url}/v2/models/x/files/..%2Fescape`, { method: 'PUT', body: 'abc' })).status, 400);
  assert.equal((await http(`${s.url}/v2/models/x/files/a.bin`, { method: 'PUT', body: '' })).status, 400);
  assert.equal((await http(`${s.url}/v2/models/broken`)).status, 404, 'a refused upload leaves nothing behind');

  const del = await http(`${s.url}/v2/models/uploaded/versions/3`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await postJson(`${s.url}/v2/models/uploaded/infer`, body)).status, 404);
  assert.equal((await http(`${s.url}/v2/models/vad`, { method: 'DELETE' })).status, 400);
});
