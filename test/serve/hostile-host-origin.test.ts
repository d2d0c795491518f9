/**
 * A web page the user visits must not be able to drive the server by DNS
 * rebinding (its own name resolved to 127.0.0.1, so the browser sends
 * `Host: attacker.example`). Headers are sent exactly as given, on raw
 * connections.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VAD_MODELS, tempStore } from '../helpers/store-fixtures.js';
import { startServer } from '../../src/serve/server.js';
import { serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { once } from './raw-response.js';
import type { RawResponse } from './raw-response.js';

const V5 = VAD_MODELS[1]!;
const TOKEN = 'test-token-0123456789';

let s: TestServer;
let port: number;
before(async () => {
  s = await serveModels([['vad', V5]], { allowHosts: ['models.internal'] });
  port = s.server.port;
});
after(async () => {
  await s.close();
});

const exists = async (path: string): Promise<boolean> => (await once(port, 'GET', path, {})).status === 200;

function refused(r: RawResponse, status: number, pattern: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
  assert.match((JSON.parse(r.body.toString()) as { error: string }).error, pattern, what);
}

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

test('--allow-host is checked at start: a name or an address, no port', async () => {
  const t = await tempStore();
  try {
    for (const host of ['*', 'a b', 'http://models.internal', 'models.internal:80', '']) {
      await assert.rejects(startServer(t.store, { port: 0, allowHosts: [host] }), /--allow-host/, host);
    }
  } finally {
    await t.cleanup();
  }
});
