import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { VAD_MODELS } from '../helpers/store-fixtures.js';
import { http, postJson, serveModels } from './helpers.js';
import { SessionCache } from '../../src/serve/runtime/session-cache.js';
import type { OnnxModel } from '../../src/serve/runtime/onnx-runtime.js';

const [LEGACY, V5, V6] = VAD_MODELS as [string, string, string];

const v5Body = {
  inputs: [
    { name: 'input', shape: [1, 512], datatype: 'FP32', data: new Array(512).fill(0.2) },
    { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array(256).fill(0) },
    { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
  ],
};

interface IndexRow { name: string; version: string; state: string; reason: string }
const index = async (url: string): Promise<IndexRow[]> => (await http(`${url}/v2/repository/index`, { method: 'POST', body: '{}' })).json<IndexRow[]>();
const ready = async (url: string): Promise<string[]> => (await index(url)).filter((r) => r.state === 'READY').map((r) => r.name);

test('the loaded-model LRU evicts the least recently used model to stay under a tiny budget', async () => {
  // Room for one Silero model (2.3 MB) and not two.
  const s = await serveModels([['v5', V5], ['v6', V6], ['legacy', LEGACY]], { memoryBudget: 3_000_000 });
  try {
    assert.equal((await postJson(`${s.url}/v2/models/v5/infer`, v5Body)).status, 200);
    assert.deepEqual(await ready(s.url), ['v5']);
    assert.equal((await postJson(`${s.url}/v2/models/v6/infer`, v5Body)).status, 200);
    assert.deepEqual(await ready(s.url), ['v6'], 'v5 evicted for v6');
    // Explicit load through the repository extension evicts too, and unload frees.
    assert.equal((await http(`${s.url}/v2/repository/models/legacy/load`, { method: 'POST' })).status, 200);
    assert.deepEqual(await ready(s.url), ['legacy']);
    const un = await http(`${s.url}/v2/repository/models/legacy/unload`, { method: 'POST' });
    assert.deepEqual(un.json(), { name: 'legacy', unloaded: ['legacy:1'] });
    assert.deepEqual(await ready(s.url), []);
    assert.deepEqual((await index(s.url)).map((r) => r.state), ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    // An unloaded model loads again on demand.
    assert.equal((await postJson(`${s.url}/v2/models/v5/infer`, v5Body)).status, 200);
    const metrics = (await http(`${s.url}/metrics`)).body.toString();
    assert.match(metrics, /tessera_model_evictions_total\{reason="budget"\} 2/);
    assert.match(metrics, /tessera_model_evictions_total\{reason="unload"\} 1/);
    assert.match(metrics, /tessera_models_loaded 1/);
    assert.match(metrics, /tessera_model_loads_total\{result="ok"\} 4/);
  } finally {
    await s.close();
  }
  // A model bigger than the whole budget is refused, not loaded.
  const tiny = await serveModels([['v5', V5]], { memoryBudget: 1_000_000 });
  try {
    const r = await postJson(`${tiny.url}/v2/models/v5/infer`, v5Body);
    assert.equal(r.status, 507);
    assert.match(r.json<{ error: string }>().error, /needs 2327524 bytes, more than the server's whole memory budget of 1000000 bytes/);
  } finally {
    await tiny.close();
  }
});

test('concurrent first requests for one model load it once', async () => {
  const s = await serveModels([['v5', V5]]);
  try {
    const replies = await Promise.all(Array.from({ length: 8 }, () => postJson(`${s.url}/v2/models/v5/infer`, v5Body)));
    assert.deepEqual(replies.map((r) => r.status), new Array(8).fill(200));
    const outputs = replies.map((r) => JSON.stringify(r.json<{ outputs: unknown }>().outputs));
    assert.equal(new Set(outputs).size, 1);
    assert.equal(s.server.context.models.loads.length, 1);
    assert.match((await http(`${s.url}/metrics`)).body.toString(), /tessera_model_loads_total\{result="ok"\} 1/);
  } finally {
    await s.close();
  }
});

test('the decoded-chunk cache serves the chunks a second model shares with a loaded one', async () => {
  const s = await serveModels([['v5', V5], ['v6', V6]]);
  try {
    await http(`${s.url}/v2/repository/models/v5/load`, { method: 'POST' });
    await http(`${s.url}/v2/repository/models/v6/load`, { method: 'POST' });
    const [first, second] = s.server.context.models.loads;
    // The first load finds only the chunks that repeat inside its own file.
    assert.ok(first!.stats.cachedBytes < 10_000, `${first!.stats.cachedBytes} bytes`);
    assert.ok(second!.stats.cachedBytes > 100_000, `v6 shares chunks with v5: ${second!.stats.cachedBytes} bytes from the cache`);
    assert.ok(second!.stats.cachedBytes < statSync(V6).size);
    // Unload and load again: every chunk comes from the cache.
    await http(`${s.url}/v2/repository/models/v5/unload`, { method: 'POST' });
    await http(`${s.url}/v2/repository/models/v5/load`, { method: 'POST' });
    const third = s.server.context.models.loads[2]!;
    assert.equal(third.stats.cachedChunks, third.stats.chunks);
    assert.match((await http(`${s.url}/metrics`)).body.toString(), /tessera_chunk_cache_hits_total [1-9]/);
  } finally {
    await s.close();
  }
});

test('SessionCache: a model evicted while in use is released only when its last request is done', async () => {
  const released: string[] = [];
  const fake = (name: string): OnnxModel => ({ release: async () => void released.push(name) }) as unknown as OnnxModel;
  const cache = new SessionCache(100);
  const a = await cache.acquire('a', 60, async () => fake('a'));
  const b = await cache.acquire('b', 60, async () => fake('b'));
  assert.equal(cache.isLoaded('a'), false, 'a evicted to make room for b');
  assert.deepEqual(released, [], 'but not released while in use');
  a.release();
  assert.deepEqual(released, ['a']);
  b.release();
  // A failed load leaves nothing behind and can be retried.
  await assert.rejects(cache.acquire('c', 10, async () => { throw new Error('boom'); }), /boom/);
  assert.equal(cache.isLoaded('c'), false);
  assert.equal(cache.bytes, 60);
  await cache.close();
  assert.deepEqual(released, ['a', 'b']);
});

test('a runtime thread that exits takes its models out of the cache: the next request loads them again on its replacement', async () => {
  const s = await serveModels([['v5', V5]]);
  try {
    const first = await postJson(`${s.url}/v2/models/v5/infer`, v5Body);
    assert.equal(first.status, 200);
    assert.deepEqual(await ready(s.url), ['v5']);
    // Stands in for onnxruntime taking its thread down: the worker is stopped from outside (private fields, test only).
    // Its sessions are released first: terminating a thread that still holds onnxruntime sessions can abort the
    // whole process in onnxruntime-node's teardown (seen once in nine runs), which is not what this test is about.
    type Worker = { terminate(): Promise<number>; postMessage(m: unknown): void; on(e: 'message', f: (r: { id?: number }) => void): void };
    const runtime = (s.server.context.models as unknown as { runtime: { threads: { worker: Worker }[] } }).runtime;
    const threads = runtime.threads.length;
    await Promise.all(runtime.threads.map(async (t) => {
      const released = new Promise<void>((r) => t.worker.on('message', (m) => m.id === -1 && r()));
      t.worker.postMessage({ op: 'close', id: -1 });
      await released;
      await t.worker.terminate();
    }));
    // The exit is noticed on the event loop; the replacement thread starts and warms up.
    for (let i = 0; i < 100 && (await ready(s.url)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await ready(s.url), [], 'the model on the exited thread is no longer loaded');
    const row = (await index(s.url))[0]!;
    assert.equal(row.reason, 'not loaded; loads on the first request', 'not marked failed');
    const again = await postJson(`${s.url}/v2/models/v5/infer`, v5Body);
    assert.equal(again.status, 200, again.body.toString());
    assert.deepEqual(again.json<{ outputs: unknown }>().outputs, first.json<{ outputs: unknown }>().outputs, 'the same answer from the reloaded session');
    const metrics = (await http(`${s.url}/metrics`)).body.toString();
    assert.match(metrics, new RegExp(`tessera_runtime_thread_exits_total ${threads}\\b`));
    assert.match(metrics, /tessera_model_evictions_total\{reason="lost"\} 1/);
    assert.match(metrics, /tessera_model_loads_total\{result="ok"\} 2/);
  } finally {
    await s.close();
  }
});
