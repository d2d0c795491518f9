/**
 * Connections: a body the server will not read to the end is answered with
 * `Connection: close` and a graceful close (so keep-alive clients open a new
 * connection instead of failing on a reset one), and the server caps its
 * connections and the bytes it buffers for requests in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { VAD_MODELS, randomBytes } from '../helpers/store-fixtures.js';
import { serveModels } from './helpers.js';
import { exchange, once, rawRequest } from './raw-response.js';
import { stalledDownload } from './raw-http.js';
import { metric, scrape } from './server-metrics.js';

const V5 = VAD_MODELS[1]!;
const MiB = 2 ** 20;

interface AgentReply {
  status: number;
  connection: string | undefined;
  body: string;
}

/** One request through `agent`, its body sent whole (as Node's client does: it reads the answer only once the body has gone). */
function viaAgent(agent: Agent, port: number, method: string, path: string, body?: Buffer, chunked = false): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === undefined ? {} : chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(body.length) };
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a keep-alive client whose body the server will not read to the end is told Connection: close, gets its answer, and its next request goes through on a new connection', async () => {
  const s = await serveModels([['vad', V5]], { maxBodyBytes: MiB });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const p = s.server.port;
    // Just past the 8 MiB the server drops: the client has sent it all (into the kernel's buffers) and reads its answer, as a keep-alive
    // answer; the server then closed the connection, and the client's next request on it failed with ECONNRESET.
    const big = Buffer.alloc(8.5 * MiB, 0x20);
    const cases: [string, string, Buffer, boolean, number][] = [
      ['413 by Content-Length', '/v2/models/vad/infer', big, false, 413],
      ['early 404', '/v2/models/nope/infer', big, false, 404],
      ['413 while reading a chunked body', '/v2/models/vad/infer', big, true, 413],
      ['early 404, chunked', '/v2/models/nope/infer', Buffer.alloc(2 * MiB, 0x20), true, 404],
    ];
    for (const [what, path, body, chunked, status] of cases) {
      const r = await viaAgent(agent, p, 'POST', path, body, chunked);
      assert.equal(r.status, status, `${what}: ${r.body}`);
      const next = await viaAgent(agent, p, 'GET', '/v2/health/live');
      assert.equal(next.status, 200, `${what}: the next request`);
      assert.equal(r.connection, 'close', what);
    }
    // A refused body small enough to be read and dropped keeps the connection.
    const small = await viaAgent(agent, p, 'POST', '/v2/models/nope/infer', Buffer.alloc(2 * MiB, 0x20));
    assert.equal(small.status, 404);
    assert.equal(small.connection, 'keep-alive');
    assert.equal((await viaAgent(agent, p, 'GET', '/v2/health/live')).status, 200);
  } finally {
    agent.destroy();
    await s.close();
  }
});

test('the answer to a body left unread comes whole, then the server closes the connection: without a reset once the body is through', async () => {
  const s = await serveModels([['vad', V5]], { maxBodyBytes: MiB });
  try {
    const p = s.server.port;
    // Refusals of requests without a body keep the connection.
    const pair = await exchange(p, [rawRequest('GET', '/v2/nothing', { Host: 'localhost' }), rawRequest('DELETE', '/v2/health/live', { Host: 'localhost' }),
      rawRequest('GET', '/v2/health/live', { Host: 'attacker.example' }), rawRequest('GET', '/v2/health/live', { Host: 'localhost', Connection: 'close' })], 5000);
    assert.deepEqual(pair.responses.map((r) => `${r.status} ${r.headers.get('connection')}`), ['404 keep-alive', '405 keep-alive', '421 keep-alive', '200 close']);
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    // A chunked body of 4 MiB, refused with 413 after 1 MiB: the rest is read and dropped, then the connection closed cleanly.
    const chunked = rawRequest('POST', '/v2/models/vad/infer', { Host: 'localhost', 'Transfer-Encoding': 'chunked' });
    const whole = await exchange(p, [chunked, ...Array<Buffer>(64).fill(chunk), '0\r\n\r\n'], 10_000);
    assert.equal(whole.responses[0]?.status, 413);
    assert.equal(whole.responses[0]?.headers.get('connection'), 'close');
    assert.ok(whole.closed && !whole.reset, `closed (${whole.closed}), not reset (${whole.reset})`);
    // A client that declared 12 MiB and sends it all: the server drops 8 MiB after its answer, then closes; the answer arrived before.
    const cut = await exchange(p, [rawRequest('POST', '/v2/models/vad/infer', { Host: 'localhost', 'Content-Length': String(12 * MiB) }), ...Array<Buffer>(192).fill(piece)], 10_000);
    assert.equal(cut.responses[0]?.status, 413);
    assert.equal(cut.responses[0]?.headers.get('connection'), 'close');
    assert.ok(cut.closed);
  } finally {
    await s.close();
  }
});

/** Opens a connection and resolves once it is connected (and, the server accepting at once, counted). */
function idle(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves once `ok()` holds, polling; fails after `ms` (a loaded machine is slow, a fixed wait would be a guess). */
async function until(ok: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  for (const t0 = performance.now(); !(await ok()); await new Promise((r) => setTimeout(r, 20))) {
    if (performance.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
  }
}

test('--max-connections: past it a connection is answered 503 with Retry-After and closed; below it again, served', async () => {
  const s = await serveModels([], { maxConnections: 4 });
  const held: Socket[] = [];
  try {
    const p = s.server.port;
    for (let i = 0; i < 4; i++) held.push(await idle(p));
    const over = await once(p, 'GET', '/v2/health/live', {});
    assert.equal(over.status, 503, over.body.toString());
    assert.match(over.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.equal(over.headers.get('connection'), 'close');
    assert.match(over.body.toString(), /--max-connections/);
    held.pop()!.destroy();
    await until(async () => (await once(p, 'GET', '/v2/health/live', {})).status === 200, 'served once a connection has gone');
  } finally {
    for (const h of held) h.destroy();
    await s.close();
  }
});

test('--max-inflight: a request whose body would not fit the bytes already buffered gets 503 with Retry-After, before its body is read', async () => {
  // A JSON body counts 8 times its size: two of 1.5 MiB hold 24 MiB, a third would go past 32.
  const s = await serveModels([['vad', V5]], { maxBodyBytes: 2 * MiB, maxInflightBytes: 32 * MiB });
  const held: Socket[] = [];
  try {
    const p = s.server.port;
    const declared = (n: number): Buffer => rawRequest('POST', '/v2/models/vad/infer', { Host: 'localhost', 'Content-Type': 'application/json', 'Content-Length': String(n) }, '{');
    // Two bodies of 1.5 MiB that arrive slowly.
    for (let i = 0; i < 2; i++) {
      const c = await idle(p);
      c.write(declared(1.5 * MiB));
      held.push(c);
    }
    const { inflight } = s.server.context;
    await until(() => inflight.held === 2 * 8 * 1.5 * MiB, 'both bodies counted');
    const gauges = await scrape(s.url);
    assert.equal(metric(gauges, 'tessera_http_inflight_bytes'), 2 * 8 * 1.5 * MiB, 'a JSON body counts 8 times its size');
    assert.ok(metric(gauges, 'tessera_http_connections') >= 3, 'the two held and the scrape\'s own');
    const r = (await exchange(p, [declared(1.5 * MiB)], 5000)).responses[0];
    assert.equal(r?.status, 503, r?.body.toString());
    assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(r.body.toString(), /--max-inflight/);
    // A small one still fits.
    assert.equal((await once(p, 'POST', '/v2/models/vad/infer', { 'Content-Type': 'application/json' }, '{"inputs": []}')).status, 400);
    // Once they are gone, there is room again.
    for (const c of held.splice(0)) c.destroy();
    await until(() => inflight.held === 0, 'released once their clients are gone');
    const again = (await exchange(p, [Buffer.concat([declared(1.5 * MiB), Buffer.alloc(1.5 * MiB - 1, 0x20)])], 5000)).responses[0];
    assert.equal(again?.status, 400, 'read and parsed (malformed JSON)');
  } finally {
    for (const c of held) c.destroy();
    await s.close();
  }
});

test('--max-inflight: downloads stuck on clients that read nothing count what they hold; past it, a new download gets 503 until they are cut off', async () => {
  const s = await serveModels([], { maxInflightBytes: 24 * MiB, sendTimeoutMs: 1500 });
  try {
    const file = join(s.dir, 'large.bin');
    writeFileSync(file, randomBytes(24 * MiB, 3));
    await s.store.import(file, { name: 'large' });
    await s.server.context.catalog.refresh();
    const p = s.server.port;
    const path = '/v2/models/large/versions/1/files/large.bin';
    const stalled = Array.from({ length: 8 }, () => stalledDownload(p, path, 24 * MiB, 3000, 10_000));
    await until(() => s.server.context.inflight.held > 0, 'a download under way');
    const busy = await once(p, 'GET', path, {});
    assert.equal(busy.status, 503, busy.body.toString());
    assert.match(busy.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    for (const o of await Promise.all(stalled)) assert.ok(o.cut || o.received === 0, 'cut off by the send timeout, or refused');
    const r = await once(p, 'GET', path, { Range: 'bytes=0-9' });
    assert.equal(r.status, 206, 'served again once the stuck downloads were cut off');
  } finally {
    await s.close();
  }
});
