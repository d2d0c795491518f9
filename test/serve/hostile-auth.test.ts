/** The token is checked before anything else is said about the request (a wrong method, an unknown path). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VAD_MODELS } from '../helpers/store-fixtures.js';
import { serveModels } from './helpers.js';
import { once } from './raw-response.js';

const V5 = VAD_MODELS[1]!;
const TOKEN = 'test-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };

test('under --token-read an unauthenticated request gets 401 whatever its method or path; with the token, 405 and 404 as before', async () => {
  const s = await serveModels([['vad', V5]], { token: TOKEN, tokenRead: true });
  try {
    const p = s.server.port;
    for (const [method, path] of [['POST', '/v2/models/vad'], ['PUT', '/v2/health/live'], ['GET', '/v2/models/vad/infer'], ['PATCH', '/v2/models/vad/versions/1/files/silero_vad_v5.onnx'],
      ['GET', '/v2/nothing/here'], ['DELETE', '/api/stats'], ['POST', '/']]) {
      const r = await once(p, method, path, {});
      assert.equal(r.status, 401, `${method} ${path}: ${r.body.toString()}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(r.headers.get('allow'), undefined, `${method} ${path}: nothing about the methods before the token`);
    }
    const wrong = await once(p, 'POST', '/v2/models/vad', bearer);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, DELETE, HEAD');
    assert.equal((await once(p, 'GET', '/v2/nothing/here', bearer)).status, 404);
    // The dashboard's files stay public.
    assert.notEqual((await once(p, 'GET', '/', {})).status, 401);
  } finally {
    await s.close();
  }
});

test('under --token (reads open) a wrong method that is not a read needs the token before it is told 405', async () => {
  const s = await serveModels([['vad', V5]], { token: TOKEN });
  try {
    const p = s.server.port;
    assert.equal((await once(p, 'DELETE', '/v2/health/live', {})).status, 401);
    assert.equal((await once(p, 'POST', '/v2/models/vad', {})).status, 401);
    assert.equal((await once(p, 'POST', '/v2/nothing', {})).status, 401);
    assert.equal((await once(p, 'DELETE', '/v2/health/live', bearer)).status, 405);
    // A read is open: a wrong one is a 405, an unknown path a 404.
    assert.equal((await once(p, 'GET', '/v2/models/vad/infer', {})).status, 405);
    assert.equal((await once(p, 'GET', '/v2/nothing', {})).status, 404);
  } finally {
    await s.close();
  }
});
