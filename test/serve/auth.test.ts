import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VAD_MODELS, tempStore } from '../helpers/store-fixtures.js';
import { http, serveModels } from './helpers.js';
import { startServer } from '../../src/serve/server.js';
import { isLoopback } from '../../src/serve/http/hosts.js';

const V5 = VAD_MODELS[1]!;
const TOKEN = 'test-token-0123456789';
const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });

test('with a token, writes need it and reads stay open', async () => {
  const s = await serveModels([['vad', V5]], { token: TOKEN });
  try {
    const file = readFileSync(V5);
    const put = `${s.url}/v2/models/up/files/model.onnx`;
    const none = await http(put, { method: 'PUT', body: file });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(none.json<{ error: string }>().error, /Authorization: Bearer <token>/);
    assert.equal((await http(put, { method: 'PUT', body: file, headers: bearer('wrong-token-xxxx') })).status, 401);
    assert.equal((await http(put, { method: 'PUT', body: file, headers: bearer(TOKEN) })).status, 201);
    for (const path of ['/v2/repository/models/vad/load', '/v2/repository/models/vad/unload']) {
      assert.equal((await http(`${s.url}${path}`, { method: 'POST' })).status, 401, path);
      assert.equal((await http(`${s.url}${path}`, { method: 'POST', headers: bearer(TOKEN) })).status, 200, path);
    }
    assert.equal((await http(`${s.url}/v2/models/up/versions/1`, { method: 'DELETE' })).status, 401);
    assert.equal((await http(`${s.url}/v2/models/up/versions/1`, { method: 'DELETE', headers: bearer(TOKEN) })).status, 200);
    // Reads need nothing.
    assert.equal((await http(`${s.url}/v2/models/vad`)).status, 200);
    assert.equal((await http(`${s.url}/v2/models/vad/versions/1/files/silero_vad_v5.onnx`)).status, 200);
    assert.equal((await http(`${s.url}/metrics`)).status, 200);
    assert.equal((await http(`${s.url}/v2/repository/index`, { method: 'POST' })).status, 200);
  } finally {
    await s.close();
  }
});

test('with --token-read, reads need the token too; without a token, everything is open on loopback', async () => {
  const s = await serveModels([['vad', V5]], { token: TOKEN, tokenRead: true });
  try {
    assert.equal((await http(`${s.url}/v2/models/vad`)).status, 401);
    assert.equal((await http(`${s.url}/v2/models/vad/versions/1/files/silero_vad_v5.onnx`)).status, 401);
    assert.equal((await http(`${s.url}/v2/models/vad`, { headers: bearer(TOKEN) })).status, 200);
    assert.equal((await http(`${s.url}/v2/models/vad`, { headers: { Authorization: `bearer  ${TOKEN}` } })).status, 200);
  } finally {
    await s.close();
  }
  const open = await serveModels([['vad', V5]]);
  try {
    assert.equal((await http(`${open.url}/v2/repository/models/vad/load`, { method: 'POST' })).status, 200);
  } finally {
    await open.close();
  }
});

test('refuses a non-loopback address without a token, and short tokens', async () => {
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.3.2.1') && isLoopback('::1') && isLoopback('[::1]') && isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('::') && !isLoopback('10.0.0.1') && !isLoopback('example.com'));
  const t = await tempStore();
  try {
    await assert.rejects(startServer(t.store, { host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0.*without a token/);
    await assert.rejects(startServer(t.store, { port: 0, token: 'short' }), /must be 16 to 256 printable ASCII characters/);
    await assert.rejects(startServer(t.store, { port: 0, tokenRead: true }), /--token-read needs a token/);
  } finally {
    await t.cleanup();
  }
});
