/**
 * No answer of the server names a path of the machine it runs on: not the
 * store's file, not the temporary directory uploads are received into, not
 * the directory Tessera is installed in. Every endpoint is walked with normal
 * and failing requests (bad names, bad files, a locked store, a damaged one)
 * and every status line, header and body is searched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildOnnxExternal } from '../helpers/build-onnx.js';
import { REPO_ROOT, VAD_MODELS, deleteChunkRow, randomBytes, randomWeights, tempDir } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import { answerOf, publicMessage } from '../../src/serve/http/errors.js';
import { Router } from '../../src/serve/http/router.js';
import type { RequestContext } from '../../src/serve/http/router.js';
import { dashboardRoutes } from '../../src/serve/routes/dashboard.js';
import { sqliteFault } from '../../src/backends/sqlite/errors.js';
import { postgresFault } from '../../src/backends/postgres/errors.js';
import { http } from './helpers.js';
import type { Reply } from './helpers.js';

interface Probe {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** Paths that must not appear in any answer. */
function secrets(storeDir: string): string[] {
  return [storeDir, `${tmpdir()}/`, REPO_ROOT];
}

/** What an answer gives away: one line per secret it contains. */
function leaks(r: Reply, p: Probe, storeDir: string): string[] {
  const text = [String(r.status), ...[...r.headers].map(([k, v]) => `${k}: ${v}`), r.body.toString('utf8')].join('\n');
  return secrets(storeDir).filter((s) => text.includes(s)).map((s) => `${p.method} ${p.path} (${r.status}) gives away ${s}: ${text.slice(0, 400)}`);
}

/** Sends every probe; fails listing every answer that gives a path away. */
async function walk(url: string, probes: Probe[], storeDir: string): Promise<Map<string, Reply>> {
  const out = new Map<string, Reply>();
  const found: string[] = [];
  for (const p of probes) {
    const init: RequestInit = { method: p.method, headers: p.headers ?? {} };
    if (p.body !== undefined) init.body = p.body;
    const r = await http(`${url}${p.path}`, init);
    found.push(...leaks(r, p, storeDir));
    out.set(`${p.method} ${p.path}`, r);
  }
  assert.deepEqual(found, []);
  return out;
}

interface Served {
  url: string;
  server: RunningServer;
  store: Store;
  dir: string;
  path: string;
}

/** A server on a fresh SQLite store in a temporary directory, holding `models` ([name, file]), for `fn`; all closed and removed after. */
async function withServer(models: [string, string][], fn: (s: Served) => Promise<void>, busyTimeoutMs?: number): Promise<void> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'store.db');
  const store = await Store.open(path, busyTimeoutMs === undefined ? {} : { busyTimeoutMs });
  try {
    for (const [name, file] of models) await store.import(file, { name });
    const server = await startServer(store, { port: 0, log: () => {} });
    try {
      await fn({ url: server.url, server, store, dir, path });
    } finally {
      await server.close();
    }
  } finally {
    await store.close();
    cleanup();
  }
}

const good = {
  inputs: [
    { name: 'input', shape: [1, 512], datatype: 'FP32', data: new Array(512).fill(0.1) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
};

test('every endpoint, answering normal and failing requests, keeps the server\'s paths to itself', () => withServer([['vad', VAD_MODELS[1]!]], async ({ url, dir }) => {
  const ext = buildOnnxExternal([{ name: 'w', dtype: 'F32', shape: [16], data: randomWeights(16, 1) }]);
  const outside = buildOnnxExternal([{ name: 'w', dtype: 'F32', shape: [16], data: randomWeights(16, 1) }], '../../../etc/passwd');
  const probes: Probe[] = [
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/index.html' },
    { method: 'GET', path: '/assets/nope.js' },
    { method: 'GET', path: '/v2' },
    { method: 'GET', path: '/v2/health/live' },
    { method: 'GET', path: '/v2/health/ready' },
    { method: 'GET', path: '/metrics' },
    { method: 'GET', path: '/api/stats' },
    { method: 'GET', path: '/api/store/models' },
    { method: 'GET', path: '/api/store/models/vad' },
    { method: 'GET', path: '/api/store/models/nope' },
    { method: 'GET', path: '/api/store/models/bad%20name' },
    { method: 'GET', path: '/api/sharing' },
    { method: 'GET', path: '/v2/models' },
    { method: 'GET', path: '/v2/models/vad' },
    { method: 'GET', path: '/v2/models/vad/versions/9' },
    { method: 'GET', path: '/v2/models/vad/ready' },
    { method: 'GET', path: '/v2/models/vad/files' },
    { method: 'GET', path: '/v2/models/vad/files/silero_vad_v5.onnx', headers: { Range: 'bytes=0-99' } },
    { method: 'GET', path: '/v2/models/vad/files/nope.onnx' },
    { method: 'GET', path: '/v2/models/vad/files/%ZZ' },
    { method: 'GET', path: '/v2/models/vad/files/silero_vad_v5.onnx', headers: { 'If-Match': '"nope"' } },
    { method: 'GET', path: '/v2/models/vad/files/silero_vad_v5.onnx', headers: { Range: 'bytes=99999999-' } },
    { method: 'POST', path: '/v2/models/vad/infer', body: JSON.stringify(good) },
    { method: 'POST', path: '/v2/models/vad/infer', body: '{"inputs": [' },
    { method: 'POST', path: '/v2/repository/index', body: '{}' },
    { method: 'POST', path: '/v2/repository/models/vad/load' },
    { method: 'POST', path: '/v2/repository/models/vad/unload' },
    { method: 'POST', path: '/v2/repository/models/nope/load' },
    { method: 'DELETE', path: '/v2/models/vad' },
    { method: 'PATCH', path: '/v2/models/vad' },
    { method: 'GET', path: '/no/such/endpoint' },
    // Uploads that fail in the receiver, the path check, the readers and the importer.
    { method: 'PUT', path: `/v2/models/long/files/${'x'.repeat(300)}.bin`, body: 'abc' },
    { method: 'PUT', path: `/v2/models/long/files/${'d/'.repeat(600)}f.bin`, body: 'abc' },
    { method: 'PUT', path: '/v2/models/trunc/files/model.onnx', body: randomBytes(5000, 1) },
    { method: 'PUT', path: '/v2/models/ext/files/model.onnx', body: ext.model },
    { method: 'PUT', path: '/v2/models/ext2/files/sub/model.onnx', body: outside.model },
    { method: 'PUT', path: '/v2/models/tfjs/files/model.json', body: '{"modelTopology": {}, "weightsManifest": [{"paths": ["shard1.bin"], "weights": [{"name": "w", "shape": [4], "dtype": "float32"}]}]}' },
    { method: 'PUT', path: '/v2/models/empty/files/a.bin', body: '' },
    { method: 'PUT', path: '/v2/models/ctl/files/a%01.bin', body: 'abc' },
    { method: 'PUT', path: '/v2/models/a%2Ffiles%2Fb/files/a.bin', body: 'abc' },
    { method: 'PUT', path: '/v2/models/vad/versions/1/files/silero_vad_v5.onnx', body: 'abc', headers: { 'If-Match': '"nope"' } },
    { method: 'PUT', path: '/v2/models/ok/files/a.bin', body: randomBytes(100, 2) },
    { method: 'PUT', path: '/v2/models/vad/versions/1/files/other.bin', body: randomBytes(100, 2) },
  ];
  const answers = await walk(url, probes, dir);
  // The walk did reach the failures it meant to.
  assert.equal(answers.get('PUT /v2/models/trunc/files/model.onnx')!.status, 400);
  assert.match(answers.get('PUT /v2/models/ext/files/model.onnx')!.json<{ error: string }>().error, /^model\.onnx: external data file "model\.onnx\.data" is missing/);
  assert.match(answers.get('PUT /v2/models/ext2/files/sub/model.onnx')!.json<{ error: string }>().error, /^sub\/model\.onnx: .*escapes the model directory/);
  // The store as the API shows it: what it holds, not where it is.
  const stats = answers.get('GET /api/stats')!.json<Record<string, unknown>>();
  assert.equal(stats.location, undefined);
  assert.equal(stats.backend, 'sqlite');
}));

test('a locked store and a damaged one fail without naming the store\'s file', () => withServer([['vad', VAD_MODELS[1]!], ['vad6', VAD_MODELS[2]!]], async ({ url, server, store, dir, path }) => {
  // Another process holds the write lock: the upload's import gives up after the busy timeout.
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  try {
    const [locked] = await walk(url, [{ method: 'PUT', path: '/v2/models/new/files/a.bin', body: randomBytes(100, 3) }], dir).then((m) => [...m.values()]);
    assert.equal(locked!.status, 500);
    assert.match(locked!.json<{ error: string }>().error, /locked/);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  // A chunk gone from the database: downloads and loads fail, and say why, but not where.
  const v = server.context.catalog.find('vad6', 1)!;
  const layout = await store.fileLayout(v.files[0]!);
  await deleteChunkRow(path, layout.ids[layout.ids.length - 1]!);
  store.dropCaches();
  const answers = await walk(url, [
    { method: 'GET', path: '/v2/models/vad6/files/silero_vad_v6.onnx' },
    { method: 'POST', path: '/v2/models/vad6/infer', body: JSON.stringify(good) },
    { method: 'POST', path: '/v2/repository/index', body: '{}' },
    { method: 'GET', path: '/v2/models' },
    { method: 'GET', path: '/v2/models/vad6/ready' },
  ], dir);
  assert.equal(answers.get('POST /v2/models/vad6/infer')!.status, 500);
  assert.match(answers.get('POST /v2/models/vad6/infer')!.json<{ error: string }>().error, /missing/);
}, 100));

test('an upload the server cannot keep (its temporary directory is gone) is a 500 that names the file as sent, not the directory', () => withServer([], async ({ url, dir }) => {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = join(dir, 'no-such-tmp');
  try {
    const [r] = [...(await walk(url, [{ method: 'PUT', path: '/v2/models/m/files/sub/w.bin', body: 'abc' }], dir)).values()];
    assert.equal(r!.status, 500);
    assert.equal(r!.json<{ error: string }>().error, 'could not keep the upload of "sub/w.bin" on the server (ENOENT)');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}));

test('the dashboard, when not built, says so without the directory it looked in', async () => {
  const router = new Router();
  const missing = join(REPO_ROOT, 'no-such-dashboard-dir');
  dashboardRoutes(router, missing);
  const m = router.match('GET', '/');
  const ctx = { req: { method: 'GET' }, res: {}, params: m.params, url: new URL('http://x/') } as unknown as RequestContext;
  const e = await Promise.resolve(m.method.handler(ctx)).then(() => undefined, (err: unknown) => err);
  const { status, message } = answerOf(e);
  assert.equal(status, 404);
  assert.match(message, /the dashboard is not built .*npm run build/);
  assert.ok(!message.includes(missing) && !message.includes(REPO_ROOT), message);
});

test('an outside failure of the store reaches clients as "the store", never its file or URL; the CLI keeps the location', () => {
  const file = '/srv/secret/place/tessera.db';
  const full = sqliteFault(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), file, 1000)!;
  assert.ok(full.message.startsWith(`${file}: disk full`), 'the CLI prints the location');
  assert.match(publicMessage(full), /^the store: disk full \(database or disk is full\)/);
  // Wrapped, as a model that failed to load wraps it.
  const wrapped = new Error(`model m:1 failed to load: ${full.message}, the model is not served`, { cause: new Error(`${full.message}, x`, { cause: full }) });
  assert.equal(publicMessage(wrapped), 'model m:1 failed to load: the store: disk full (database or disk is full); nothing of the failed write was kept, free some space and retry, the model is not served');
  assert.equal(answerOf(wrapped).message, publicMessage(wrapped));
  const url = 'postgres://tessera:***@db.internal:5432/models';
  const lost = postgresFault(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }), url)!;
  assert.ok(!publicMessage(lost).includes('db.internal'), publicMessage(lost));
});
