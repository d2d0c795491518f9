import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, VAD_MODELS, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import { get, startServe, stop } from '../helpers/serve-processes.js';
import type { Server } from '../helpers/serve-processes.js';

/**
 * Two `tessera serve` processes on one PostgreSQL store: they serve the same
 * models, and a model imported through one (an upload, or the CLI in a third
 * process) is served by the other without a restart.
 */

const BIN = join(REPO_ROOT, 'bin/tessera.js');
const kinds = await testBackends();
const serveHelp = spawnSync(process.execPath, [BIN, 'serve', '--help'], { encoding: 'utf8' });
const skip = !kinds.includes('postgres') ? 'no PostgreSQL server'
  : serveHelp.status !== 0 ? `tessera serve is not available yet (${serveHelp.stderr.trim().split('\n')[0]})` : false;

const INFER = {
  inputs: [
    { name: 'input', shape: [1, 512], datatype: 'FP32', data: Array.from({ length: 512 }, (_, i) => Math.sin(i / 9) * 0.3) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
};

const infer = (url: string) => get(url, { method: 'POST', body: JSON.stringify(INFER), headers: { 'Content-Type': 'application/json' } });

test('postgres: two tessera serve processes share one store; a model imported through one is served by the other at once', { skip }, async () => {
  const { dir, cleanup } = tempDir();
  const loc = tempLocation('postgres', dir);
  const servers: Server[] = [];
  try {
    const first = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[1]!, '--name', 'v5', '--store', loc.location], { encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    servers.push(...(await Promise.all([startServe(loc.location), startServe(loc.location)])));
    const [a, b] = servers as [Server, Server];

    // The same models, and the same answers.
    for (const s of [a, b]) {
      const list = (await get(`${s.url}/v2/models`)).json<{ models: { name: string }[] }>();
      assert.deepEqual(list.models.map((m) => m.name), ['v5']);
    }
    const [ia, ib] = [await infer(`${a.url}/v2/models/v5/infer`), await infer(`${b.url}/v2/models/v5/infer`)];
    assert.equal(ia.status, 200, ia.body.toString());
    assert.deepEqual(ib.json<{ outputs: unknown }>().outputs, ia.json<{ outputs: unknown }>().outputs);

    // An upload through a: b serves it without a restart (metadata, inference, the file itself).
    const v6 = readFileSync(VAD_MODELS[2]!);
    const put = await get(`${a.url}/v2/models/uploaded/versions/1/files/model.onnx`, { method: 'PUT', body: v6 });
    assert.equal(put.status, 201, put.body.toString());
    const meta = await get(`${b.url}/v2/models/uploaded/versions/1`);
    assert.equal(meta.status, 200, meta.body.toString());
    assert.ok(meta.json<{ inputs: { name: string }[] }>().inputs.some((i) => i.name === 'input'));
    const r = await infer(`${b.url}/v2/models/uploaded/infer`);
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.json<{ model_version: string }>().model_version, '1');
    const file = await get(`${b.url}/v2/models/uploaded/versions/1/files/model.onnx`);
    assert.equal(file.status, 200);
    assert.ok(file.body.equals(v6), 'b sends the bytes a received');

    // Both servers taking uploads of the same bytes at once: both succeed, the chunks are stored once.
    const legacy = readFileSync(VAD_MODELS[0]!);
    const both = await Promise.all([
      get(`${a.url}/v2/models/twin-a/files/model.onnx`, { method: 'PUT', body: legacy }),
      get(`${b.url}/v2/models/twin-b/files/model.onnx`, { method: 'PUT', body: legacy }),
    ]);
    for (const x of both) assert.equal(x.status, 201, x.body.toString());
    // No waiting: a name a server does not know makes it ask the store at once.
    for (const [s, name] of [[a, 'twin-b'], [b, 'twin-a']] as const) {
      const f = await get(`${s.url}/v2/models/${name}/files/model.onnx`);
      assert.equal(f.status, 200, `${name}: ${f.body.toString().slice(0, 300)}`);
      assert.ok(f.body.equals(legacy), `${name} through the other server`);
    }
    const show = JSON.parse(spawnSync(process.execPath, [BIN, 'show', 'twin-a', '--json', '--store', loc.location], { encoding: 'utf8' }).stdout) as
      { distinctBytes: number; sharedWith: { model: string; bytes: number }[] };
    assert.equal(show.sharedWith.find((m) => m.model === 'twin-b:1')?.bytes, show.distinctBytes, 'the twins reference the same chunks');

    // A CLI import in a third process: served by both.
    const cli = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[2]!, '--name', 'from-cli', '--store', loc.location], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    for (const s of [a, b]) {
      const x = await infer(`${s.url}/v2/models/from-cli/infer`);
      assert.equal(x.status, 200, x.body.toString());
    }
    for (const s of servers.splice(0)) assert.equal(await stop(s), 0, s.output());
  } finally {
    for (const s of servers) await stop(s);
    cleanup();
    await loc.drop();
  }
});
