/**
 * Three `tessera serve` processes on one PostgreSQL store, under a load of
 * downloads through all three: a change made through one (upload, new
 * version, removal, a version number used again for other bytes) is what the
 * others serve within a second, without a name they do not know to make them
 * look (LISTEN/NOTIFY); a loaded session of a replaced version is not used
 * again; two uploads of one model at once through two servers make one
 * version; gc running while the servers load models removes nothing a load
 * needs. Every answer of the load is checked: the bytes match their ETag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN } from '../helpers/cli.js';
import { VAD_MODELS, randomBytes, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import { get, startServe, stop } from '../helpers/serve-processes.js';
import type { Server } from '../helpers/serve-processes.js';

const kinds = await testBackends();
const skip = !kinds.includes('postgres') ? 'no PostgreSQL server' : false;

/** What the spec allows between a change through one server and the others serving it. */
const SEEN_WITHIN_MS = 1000;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Waits until `check` holds (polling), or fails after SEEN_WITHIN_MS; returns how long it took. */
async function within(what: string, check: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > SEEN_WITHIN_MS) assert.fail(`${what}: not seen within ${SEEN_WITHIN_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The latest version's file as a server sends it: status, version, bytes. */
async function latest(s: Server, name: string): Promise<{ status: number; body: Buffer }> {
  const r = await fetch(`${s.url}/v2/models/${name}/files/model.bin`);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
}

const put = (s: Server, name: string, body: Buffer, version?: number, path = 'model.bin') =>
  get(`${s.url}/v2/models/${name}${version ? `/versions/${version}` : ''}/files/${path}`, { method: 'PUT', body });

const INFER = JSON.stringify({
  inputs: [
    { name: 'input', shape: [1, 512], datatype: 'FP32', data: Array.from({ length: 512 }, (_, i) => Math.sin(i / 7) * 0.4) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
});
const infer = async (s: Server, name: string): Promise<unknown> => {
  const r = await get(`${s.url}/v2/models/${name}/versions/1/infer`, { method: 'POST', body: INFER, headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, r.body.toString());
  return r.json<{ outputs: unknown }>().outputs;
};

test('three servers on one PostgreSQL store see each other\'s changes within a second, serve no stale bytes, and lose nothing', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  const { location, drop } = tempLocation('postgres', dir);
  const servers: Server[] = [];
  let load: Promise<void> | undefined;
  let loading = true;
  const problems: string[] = [];
  let answered = 0;
  try {
    const first = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[0]!, '--name', 'vad', '--store', location], { encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    servers.push(...(await Promise.all([startServe(location), startServe(location), startServe(location)])));
    const [a, b, c] = servers as [Server, Server, Server];

    // The load: downloads of whatever `m` is now, through every server, until the end; each answer checked against its ETag.
    load = (async () => {
      for (let i = 0; loading; i++) {
        const s = servers[i % 3]!;
        const r = await fetch(`${s.url}/v2/models/m/files/model.bin`).catch((e: unknown) => e as Error);
        if (r instanceof Error) {
          problems.push(`${s.url}: ${r.message}`);
          continue;
        }
        const body = Buffer.from(await r.arrayBuffer());
        answered++;
        if (r.status === 200 && r.headers.get('etag') !== `"${sha(body)}"`) problems.push(`${s.url}: bytes that are not their ETag`);
        if (r.status !== 200 && r.status !== 404) problems.push(`${s.url}: status ${r.status} ${body.toString().slice(0, 200)}`);
      }
    })();

    // Every server knows `m` once it exists (a name it has seen), so only a notice can tell it of a new version.
    const v1 = randomBytes(300_000, 1);
    assert.equal((await put(a, 'm', v1)).status, 201);
    for (const s of [b, c]) await within('m:1 on the others', async () => (await latest(s, 'm')).body.equals(v1));
    const v2 = randomBytes(300_000, 2);
    assert.equal((await put(b, 'm', v2)).status, 201);
    const seen: number[] = [];
    for (const s of [a, c]) seen.push(await within('m:2, the latest, through the others', async () => (await latest(s, 'm')).body.equals(v2)));

    // A removal through c: the others go back to version 1 and answer 404 for version 2.
    assert.equal((await get(`${c.url}/v2/models/m/versions/2`, { method: 'DELETE' })).status, 200);
    for (const s of [a, b]) {
      seen.push(await within('m:2 removed', async () => (await get(`${s.url}/v2/models/m/versions/2/files/model.bin`)).status === 404));
      assert.ok((await latest(s, 'm')).body.equals(v1));
    }
    // Version 2 again, other bytes, through a: b and c send the new bytes, never the removed ones.
    const v2b = randomBytes(300_000, 3);
    assert.equal((await put(a, 'm', v2b, 2)).status, 201);
    for (const s of [b, c]) seen.push(await within('m:2 again', async () => (await get(`${s.url}/v2/models/m/versions/2/files/model.bin`)).body.equals(v2b)));

    // A loaded session is not used once its version is replaced: `x`:1 is VAD v5 (loaded on b by an inference), then v6.
    assert.equal((await put(a, 'x', readFileSync(VAD_MODELS[1]!), 1, 'model.onnx')).status, 201);
    await within('x on b', async () => (await get(`${b.url}/v2/models/x/versions/1`)).status === 200);
    const fromV5 = await infer(b, 'x');
    assert.equal((await get(`${a.url}/v2/models/x/versions/1`, { method: 'DELETE' })).status, 200);
    assert.equal((await put(c, 'x', readFileSync(VAD_MODELS[2]!), 1, 'model.onnx')).status, 201);
    const fromV6 = await infer(a, 'x');
    assert.notDeepEqual(fromV6, fromV5, 'the two models answer differently');
    await within('x:1 replaced on b', async () => JSON.stringify(await infer(b, 'x')) === JSON.stringify(fromV6));

    // Two uploads of one model through two servers at once: one version, one of them created it.
    const twin = randomBytes(200_000, 4);
    const both = await Promise.all([put(a, 'twin', twin), put(b, 'twin', twin)]);
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 201], both.map((r) => r.body.toString()).join(' '));
    const listed = spawnSync(process.execPath, [BIN, 'ls', '--search', 'twin', '--json', '--store', location], { encoding: 'utf8' });
    assert.deepEqual((JSON.parse(listed.stdout) as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`), ['twin:1']);

    // gc, in a fourth process, again and again while the servers load models (each load reads every chunk).
    let gcs = 0;
    const gcLoop = (async () => {
      for (let i = 0; i < 4; i++) {
        const r = spawnSync(process.execPath, [BIN, 'gc', '--store', location], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        gcs++;
      }
    })();
    for (let i = 0; i < 6; i++) {
      for (const s of servers) {
        assert.equal((await get(`${s.url}/v2/repository/models/vad/unload`, { method: 'POST' })).status, 200);
        assert.equal((await get(`${s.url}/v2/repository/models/vad/load`, { method: 'POST' })).status, 200);
      }
    }
    await gcLoop;
    assert.equal(gcs, 4);

    loading = false;
    await load;
    assert.deepEqual(problems, []);
    assert.ok(answered > 20, `the load ran (${answered} answers)`);
    const verify = spawnSync(process.execPath, [BIN, 'verify', '--deep', '--store', location], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    console.log(`# changes seen by the other servers after ${seen.map((ms) => ms.toFixed(0)).join(', ')} ms (polled every 20 ms); ${answered} downloads under way`);
    for (const s of servers.splice(0)) assert.equal(await stop(s), 0, s.output());
  } finally {
    loading = false;
    await load?.catch(() => {});
    for (const s of servers) await stop(s);
    cleanup();
    await drop();
  }
});
