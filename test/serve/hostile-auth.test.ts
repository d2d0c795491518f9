/**
 * The token: checked before anything else is said about the request (a wrong
 * method, an unknown path), validated at start, and read from the header as
 * ASCII only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { VAD_MODELS, tempDir, tempStore } from '../helpers/store-fixtures.js';
import { startServer } from '../../src/serve/server.js';
import { BIN } from './child-server.js';
import { serveModels } from './helpers.js';
import { exchange, once, rawRequest } from './raw-response.js';

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

test('tokens are 16 to 256 printable ASCII characters without spaces, checked at start', async () => {
  const t = await tempStore();
  try {
    const bad = ['has spaces in it, sadly', 'tab\tinside-0123456789', 'tökén-0123456789abcdef', 'new\nline-0123456789', 'a'.repeat(15), 'a'.repeat(257), ''];
    for (const token of bad) {
      await assert.rejects(startServer(t.store, { port: 0, token }), /the token \(--token or TESSERA_TOKEN\) must be 16 to 256 printable ASCII characters/, JSON.stringify(token));
    }
    for (const token of ['a'.repeat(16), 'a'.repeat(256), '!~"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`{|}']) {
      const server = await startServer(t.store, { port: 0, token, log: () => {} });
      const r = await once(server.port, 'POST', '/v2/repository/models/x/unload', { Authorization: `Bearer ${token}` });
      assert.equal(r.status, 404, `${token}: the token is accepted (${r.body.toString()})`);
      await server.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('tessera serve refuses a bad token in one line, exit code 2, before it opens the store', () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = `${dir}/never.db`;
    for (const [args, env] of [[['--token', 'two words here 12345']], [[], { TESSERA_TOKEN: 'short' }]] as [string[], Record<string, string>?][]) {
      const r = spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--store', store, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^tessera: the token \(--token or TESSERA_TOKEN\) must be 16 to 256 printable ASCII characters[^\n]*\n$/);
      assert.doesNotMatch(r.stderr, /two words|short/, 'the token itself is not printed');
      assert.equal(existsSync(store), false, 'the store was not opened');
    }
  } finally {
    cleanup();
  }
});

test('an Authorization header with bytes outside ASCII is refused with 401, not compared as Latin-1', async () => {
  const s = await serveModels([], { token: TOKEN, tokenRead: true });
  try {
    const p = s.server.port;
    const head = (auth: Buffer): Buffer => Buffer.concat([
      rawRequest('GET', '/v2/models', { Host: `127.0.0.1:${p}`, Connection: 'close' }).subarray(0, -2), Buffer.from('Authorization: '), auth, Buffer.from('\r\n\r\n'),
    ]);
    for (const auth of [Buffer.from(`Bearer ${TOKEN}\u00e9`, 'latin1'), Buffer.from(`Bearer ${TOKEN}\u00e9`, 'utf8'), Buffer.from(`Bearer\u00a0${TOKEN}`, 'latin1')]) {
      const r = (await exchange(p, [head(auth)])).responses[0];
      assert.equal(r?.status, 401);
      assert.match(r.body.toString(), /ASCII/);
    }
    assert.equal((await exchange(p, [head(Buffer.from(`Bearer ${TOKEN}`))])).responses[0]?.status, 200);
    assert.equal((await exchange(p, [head(Buffer.from(`bearer \t ${TOKEN}  `))])).responses[0]?.status, 200);
  } finally {
    await s.close();
  }
});
