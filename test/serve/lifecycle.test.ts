import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { VAD_MODELS, tempDir } from '../helpers/store-fixtures.js';
import { BIN, spawnServe } from './child-server.js';
import type { ChildServer } from './child-server.js';
import { http, serveModels } from './helpers.js';

test('graceful shutdown: a request in flight finishes, new connections are refused', async () => {
  const s = await serveModels([['v5', VAD_MODELS[1]!]]);
  const file = Buffer.alloc(200_000, 7);
  const { port } = s.server;
  // A slow upload: half the body now, the rest after shutdown has begun.
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/v2/models/slow/files/w.bin', headers: { 'Content-Length': String(file.length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(file.subarray(0, 100_000));
    setTimeout(() => req.end(file.subarray(100_000)), 300);
  });
  await new Promise((r) => setTimeout(r, 100));
  const closing = s.server.close();
  assert.equal(s.server.context.draining, true);
  const r = await reply;
  assert.equal(r.status, 201, r.body);
  await closing;
  await assert.rejects(http(`${s.url}/v2/health/live`));
  await s.close();
});

test('tessera serve: --demo imports into an empty store, prints the URL, serves, stops on SIGTERM', async () => {
  const { dir, cleanup } = tempDir();
  let running: ChildServer | undefined;
  try {
    const store = join(dir, 'demo.db');
    running = await spawnServe(['--demo', '--port', '0', '--store', store]);
    const { url } = running;
    const out = running.stdout();
    assert.match(out, /importing the demo models/);
    assert.match(out, /silero-vad-v6:1/);
    const list = (await http(`${url}/v2/models`)).json<{ models: { name: string; version: string }[] }>();
    assert.deepEqual(list.models.map((m) => `${m.name}:${m.version}`), ['face-api:1', 'face-api:2', 'silero-vad-legacy:1', 'silero-vad-v5:1', 'silero-vad-v6:1']);
    assert.match(out, /face-api:2 .* 0 B +100\.0%/, 'the second face-api release stores nothing new');
    const page = await http(`${url}/`);
    assert.match(running.stdout(), /dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(page.status, 200, 'the dashboard is served (npm run build made dist/web)');
    assert.equal(await running.stop(), 0, running.stderr());
    assert.match(running.stdout(), /SIGTERM: finishing requests in flight/);
    // A non-loopback address without a token is refused with one line and exit code 1.
    const refused = spawnSync(process.execPath, [BIN, 'serve', '--host', '0.0.0.0', '--port', '0', '--store', store], { encoding: 'utf8', env: { ...process.env, TESSERA_TOKEN: '' } });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^tessera: refusing to listen on 0\.0\.0\.0, which is not a loopback address, without a token/);
  } finally {
    // A failed assertion must not leave the server running (the test run would hang on it).
    running?.kill();
    cleanup();
  }
});
