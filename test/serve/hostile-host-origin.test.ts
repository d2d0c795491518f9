/**
 * A web page the user visits must not be able to drive the server: not by
 * DNS rebinding (its own name resolved to 127.0.0.1, so the browser sends
 * `Host: attacker.example`), not by a cross-site request (a form or a
 * "simple" fetch to http://127.0.0.1:8000 from another origin). Headers are
 * sent exactly as given, on raw connections.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VAD_MODELS, tempStore } from '../helpers/store-fixtures.js';
import { startServer } from '../../src/serve/server.js';
import { serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { once, refused } from './raw-response.js';
import type { RawResponse } from './raw-response.js';

const V5 = VAD_MODELS[1]!;
const APP = 'http://app.example:3000';
const TOKEN = 'test-token-0123456789';

let s: TestServer;
let port: number;
before(async () => {
  s = await serveModels([['vad', V5]], { allowHosts: ['models.internal'], allowOrigins: [APP] });
  port = s.server.port;
});
after(async () => {
  await s.close();
});

const own = (): string => `http://127.0.0.1:${port}`;
const exists = async (path: string): Promise<boolean> => (await once(port, 'GET', path, {})).status === 200;
const vary = (r: RawResponse): string[] => (r.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
const list = (r: RawResponse, name: string): string[] => (r.headers.get(name) ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean);

test('a Host that is neither a loopback address nor an allowed name is refused with 421 before anything is done (DNS rebinding)', async () => {
  const body = readFileSync(V5);
  const attacker = { Host: `attacker.example:${port}` };
  refused(await once(port, 'PUT', '/v2/models/x/files/m.onnx', attacker, body), 421, /Host "attacker\.example:\d+".*--allow-host/, 'upload');
  assert.equal(await exists('/v2/models/x'), false, 'nothing was stored');
  refused(await once(port, 'DELETE', '/v2/models/vad/versions/1', attacker), 421, /Host/, 'delete');
  assert.equal(await exists('/v2/models/vad'), true, 'nothing was deleted');
  refused(await once(port, 'GET', '/v2/models/vad/versions/1/files/silero_vad_v5.onnx', attacker), 421, /Host/, 'download');
  for (const host of ['attacker.example', '127.0.0.1.attacker.example', 'localhost.attacker.example', 'models.internal.attacker.example', '10.0.0.1',
    '[::2]', `evil@127.0.0.1:${port}`, `127.0.0.1:${port}:1`, '127.0.0.1 x', '']) {
    assert.equal((await once(port, 'GET', '/v2/health/live', { Host: host })).status, 421, `Host: ${host}`);
  }
  for (const host of [`127.0.0.1:${port}`, '127.0.0.1', '127.9.8.7:1', `localhost:${port}`, 'LOCALHOST', 'localhost.', `[::1]:${port}`, '[::1]',
    'models.internal', 'Models.Internal:8443']) {
    assert.equal((await once(port, 'GET', '/v2/health/live', { Host: host })).status, 200, `Host: ${host}`);
  }
});

test('the Host check holds with a token too: the right token from a rebound page is still refused', async () => {
  const t = await serveModels([['vad', V5]], { token: TOKEN });
  try {
    const p = t.server.port;
    const r = await once(p, 'POST', '/v2/repository/models/vad/unload', { Host: `attacker.example:${p}`, Authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 421);
    assert.equal((await once(p, 'POST', '/v2/repository/models/vad/unload', { Authorization: `Bearer ${TOKEN}` })).status, 200);
  } finally {
    await t.close();
  }
});

test('a cross-origin request that changes state is refused with 403; same-origin, origin-less and allowed-origin ones are served', async () => {
  const evil = { Origin: 'http://evil.example', 'Content-Type': 'text/plain' };
  refused(await once(port, 'POST', '/v2/repository/models/vad/load', evil, '{}'), 403, /Origin "http:\/\/evil\.example".*--allow-origin/, 'load');
  refused(await once(port, 'POST', '/v2/repository/models/vad/unload', evil), 403, /Origin/, 'unload');
  refused(await once(port, 'PUT', '/v2/models/x/files/m.onnx', evil, readFileSync(V5)), 403, /Origin/, 'upload');
  assert.equal(await exists('/v2/models/x'), false, 'nothing was stored');
  refused(await once(port, 'DELETE', '/v2/models/vad/versions/1', evil), 403, /Origin/, 'delete');
  refused(await once(port, 'POST', '/v2/models/vad/infer', evil, '{}'), 403, /Origin/, 'infer');
  // Another port of the same host is another origin; "null" (a sandboxed frame, a file: page) is no origin of ours.
  for (const origin of [`http://127.0.0.1:${port + 1}`, 'null', `https://evil.example:${port}`, `http://localhost:${port}`]) {
    assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { Origin: origin })).status, 403, `Origin: ${origin}`);
  }
  // No Origin, but the browser says the request comes from another site.
  for (const site of ['cross-site', 'same-site']) {
    refused(await once(port, 'POST', '/v2/repository/models/vad/unload', { 'Sec-Fetch-Site': site }), 403, /Sec-Fetch-Site/, site);
  }
  assert.equal(await exists('/v2/models/vad'), true, 'nothing was deleted');

  // The dashboard (its own origin, whichever loopback name it was opened by), curl and SDKs (no Origin), and the allowed origin.
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { Origin: own(), 'Sec-Fetch-Site': 'same-origin' })).status, 200);
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status, 200);
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { Host: 'models.internal', Origin: 'https://models.internal' })).status, 200);
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', {})).status, 200);
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { 'Sec-Fetch-Site': 'none' })).status, 200);
  assert.equal((await once(port, 'POST', '/v2/repository/models/vad/unload', { Origin: APP })).status, 200);
});

test('cross-origin reads are answered, but carry no CORS headers unless the origin is allowed (a page cannot read them)', async () => {
  const r = await once(port, 'GET', '/v2/models/vad', { Origin: 'http://evil.example' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), undefined);
  const same = await once(port, 'GET', '/v2/models/vad', { Origin: own() });
  assert.equal(same.headers.get('access-control-allow-origin'), undefined, 'a same-origin read needs no CORS');
  const allowed = await once(port, 'GET', '/v2/models/vad/versions/1/files/silero_vad_v5.onnx', { Origin: APP, Range: 'bytes=0-99' });
  assert.equal(allowed.status, 206);
  assert.equal(allowed.headers.get('access-control-allow-origin'), APP);
  assert.ok(vary(allowed).includes('origin'));
  for (const h of ['content-range', 'etag', 'content-length', 'inference-header-content-length', 'location', 'content-disposition', 'repr-digest', 'www-authenticate', 'retry-after', 'x-request-id']) {
    assert.ok(list(allowed, 'access-control-expose-headers').includes(h), `exposes ${h}: ${allowed.headers.get('access-control-expose-headers')}`);
  }
  assert.equal(allowed.headers.get('access-control-allow-credentials'), undefined, 'no cookies: the token goes in Authorization');
  // Errors too, so that the page can read why.
  const missing = await once(port, 'GET', '/v2/models/nope', { Origin: APP });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('access-control-allow-origin'), APP);
});

test('CORS preflight: answered for an allowed origin, refused for any other', async () => {
  const ask = (origin: string, method = 'PUT', headers = 'authorization, content-type'): Promise<RawResponse> =>
    once(port, 'OPTIONS', '/v2/models/x/files/m.onnx', { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers });
  const ok = await ask(APP);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), APP);
  for (const m of ['get', 'head', 'put', 'post', 'delete']) assert.ok(list(ok, 'access-control-allow-methods').includes(m), m);
  for (const h of ['authorization', 'content-type', 'inference-header-content-length', 'range', 'if-none-match', 'if-range']) {
    assert.ok(list(ok, 'access-control-allow-headers').includes(h), h);
  }
  assert.match(ok.headers.get('access-control-max-age') ?? '', /^[1-9]\d*$/);
  assert.ok(vary(ok).includes('origin'));
  const no = await ask('http://evil.example');
  assert.equal(no.status, 403);
  assert.equal(no.headers.get('access-control-allow-origin'), undefined);
  // A preflight needs no token (the browser sends none), even under --token-read.
  const t = await serveModels([], { token: TOKEN, tokenRead: true, allowOrigins: [APP] });
  try {
    const r = await once(t.server.port, 'OPTIONS', '/v2/models', { Origin: APP, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' });
    assert.equal(r.status, 204);
    assert.equal((await once(t.server.port, 'GET', '/v2/models', { Origin: APP })).headers.get('access-control-allow-origin'), APP, 'the 401 is readable');
  } finally {
    await t.close();
  }
});

test('--allow-origin and --allow-host are checked at start: exact origins, no "*"', async () => {
  const t = await tempStore();
  try {
    for (const origin of ['*', 'null', 'app.example', 'http://app.example/', 'http://app.example:3000/x', 'ftp://app.example', 'http://user@app.example']) {
      await assert.rejects(startServer(t.store, { port: 0, allowOrigins: [origin] }), /--allow-origin/, origin);
    }
    for (const host of ['*', 'a b', 'http://models.internal', 'models.internal:80', '']) {
      await assert.rejects(startServer(t.store, { port: 0, allowHosts: [host] }), /--allow-host/, host);
    }
  } finally {
    await t.cleanup();
  }
});
