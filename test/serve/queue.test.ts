/**
 * A model's queue through HTTP: bounded (429 with Retry-After past
 * max_queue_size), a request whose client disconnects leaves it, every
 * request gets an answer, and /metrics shows it all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import type { ServeOptions } from '../../src/serve/options.js';
import type { Store } from '../../src/store/store.js';
import type { ServingConfigPatch } from '../../src/wire/serving-config.js';
import { tempStore } from '../helpers/store-fixtures.js';
import { binaryBody, floats, http } from './helpers.js';
import type { Reply } from './helpers.js';
import { metric } from './server-metrics.js';
import { mlpModel } from './mlp-model.js';

const WIDTH = 256;
const TOKEN = 'config-test-token-0123456789';

function request(url: string, rows: number, signal?: AbortSignal): Promise<Reply> {
  const x = floats(rows * WIDTH, rows);
  const { body, headers } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, WIDTH], parameters: { binary_data_size: x.byteLength } }] }, [Buffer.from(x.buffer)]);
  return http(`${url}/v2/models/heavy/infer`, { method: 'POST', body, headers, signal });
}

/**
 * A fresh store holding one generated MLP (`name`, layer `sizes`, weights
 * from `seed`) with `config` as its serving configuration, served with
 * `options`; `fn` gets the server's URL and the store, and both are closed
 * after it.
 */
async function withMlpServer(
  model: { name: string; sizes: number[]; seed: number }, config: ServingConfigPatch, options: Partial<ServeOptions>,
  fn: (url: string, t: { store: Store; server: RunningServer }) => Promise<void>,
): Promise<void> {
  const t = await tempStore();
  const file = join(t.dir, `${model.name}.onnx`);
  writeFileSync(file, mlpModel(model.sizes, model.seed));
  await t.store.import(file, { name: model.name });
  if (Object.keys(config).length) await t.store.configure({ name: model.name }, { set: config });
  const server = await startServer(t.store, { port: 0, log: () => {}, ...options });
  try {
    await fn(server.url, { store: t.store, server });
  } finally {
    await server.close();
    await t.cleanup();
  }
}

async function until(url: string, what: string, name: string, labels: string, want: number): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const m = (await http(`${url}/metrics`)).body.toString();
    if (metric(m, name, labels) === want) return;
    if (Date.now() > end) throw new Error(`${what}: ${name}{${labels}} never reached ${want} (now ${metric(m, name, labels)})`);
    await sleep(5);
  }
}

test('past max_queue_size: 429 with Retry-After; a disconnected client leaves the queue; everyone else is answered', async () => {
  await withMlpServer({ name: 'heavy', sizes: [WIDTH, 64, 8], seed: 11 }, { max_queue_size: 2, max_batch_size: 64, max_queue_delay_microseconds: 10_000_000 }, {}, async (url) => {
    const labels = 'model="heavy:1"';
    const gone = new AbortController();
    const waiting = [request(url, 1), request(url, 1, gone.signal)];
    await until(url, 'two requests queue', 'tessera_queue_requests', labels, 2);
    const refused = await Promise.all(Array.from({ length: 10 }, () => request(url, 1)));
    for (const r of refused) {
      assert.equal(r.status, 429, r.body.toString());
      assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After in whole seconds');
      assert.match(r.json<{ error: string }>().error, /model heavy:1 has 2 requests waiting, its max_queue_size; try again in \d+ s/);
    }
    gone.abort();
    await assert.rejects(waiting[1]!, /abort/i);
    await until(url, 'the cancelled request leaves', 'tessera_queue_requests', labels, 1);
    // 63 rows more fill the batch: it runs at once, with the one request still waiting.
    const answered = await Promise.all([waiting[0]!, request(url, 63)]);
    assert.deepEqual(answered.map((r) => r.status), [200, 200]);
    const m = (await http(`${url}/metrics`)).body.toString();
    assert.equal(metric(m, 'tessera_queue_rejected_total', labels), 10);
    assert.equal(metric(m, 'tessera_requests_cancelled_total', labels), 1);
    assert.equal(metric(m, 'tessera_batch_requests_count', labels), 1, 'one run, and the cancelled request not in it');
    assert.equal(metric(m, 'tessera_batch_requests_sum', labels), 2);
    assert.equal(metric(m, 'tessera_batch_rows_sum', labels), 64);
    assert.equal(metric(m, 'tessera_model_loaded', labels), 1);
    assert.equal(metric(m, 'tessera_inference_requests_total', 'model="heavy:1",status="429"'), 10);
    // Unloaded: the gauge says so.
    assert.equal((await http(`${url}/v2/repository/models/heavy/unload`, { method: 'POST' })).status, 200);
    assert.equal(metric((await http(`${url}/metrics`)).body.toString(), 'tessera_model_loaded', labels), 0);
  });
});

test('instances from the model\'s configuration: sessions per model, each counted against the budget; a change reloads it', async () => {
  await withMlpServer({ name: 'heavy', sizes: [WIDTH, 64, 8], seed: 11 }, { instances: 2 }, {}, async (url, { store, server }) => {
    const config = (await http(`${url}/v2/models/heavy/config`)).json<{ instance_group: { count: number }[] }>();
    assert.equal(config.instance_group[0]!.count, 2);
    assert.equal((await request(url, 1)).status, 200);
    assert.equal(server.context.models.sessions.list()[0]!.bytes, 2 * (await store.list())[0]!.logicalBytes, 'each instance counts against the memory budget');
    // Through the repository API: one instance from now on.
    const put = await http(`${url}/v2/repository/models/heavy/config`, { method: 'PUT', body: JSON.stringify({ instances: 1 }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(put.status, 200, put.body.toString());
    assert.equal((await request(url, 1)).status, 200);
    const after = (await http(`${url}/v2/models/heavy/config`)).json<{ instance_group: { count: number }[] }>();
    assert.equal(after.instance_group[0]!.count, 1);
    assert.equal(server.context.models.sessions.list()[0]!.bytes, (await store.list())[0]!.logicalBytes);
    const bad = await http(`${url}/v2/repository/models/heavy/config`, { method: 'PUT', body: JSON.stringify({ instances: 0 }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ error: string }>().error, /serving configuration: instances: must be an integer from 1 to 16, not 0/);
  });
});

test('PUT of a serving configuration needs the token when the server has one', async () => {
  await withMlpServer({ name: 'm', sizes: [4, 2], seed: 1 }, {}, { token: TOKEN }, async (url) => {
    const body = JSON.stringify({ max_batch_size: 4 });
    const anon = await http(`${url}/v2/repository/models/m/config`, { method: 'PUT', body, headers: { 'Content-Type': 'application/json' } });
    assert.equal(anon.status, 401);
    const ok = await http(`${url}/v2/repository/models/m/config`, { method: 'PUT', body, headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200, ok.body.toString());
    const read = (await http(`${url}/v2/repository/models/m/config`)).json<{ model: unknown }>();
    assert.deepEqual(read.model, { max_batch_size: 4 });
  });
});

test('under "latest 1", a newer version uploaded through the server leaves the older one unloaded and unserved', async () => {
  await withMlpServer({ name: 'm', sizes: [WIDTH, 8, 2], seed: 1 }, { version_policy: { latest: 1 } }, {}, async (url) => {
    const x = floats(WIDTH, 1);
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, WIDTH], parameters: { binary_data_size: x.byteLength } }] }, [Buffer.from(x.buffer)]);
    assert.equal((await http(`${url}/v2/models/m/infer`, { method: 'POST', body, headers })).status, 200);
    assert.equal(metric((await http(`${url}/metrics`)).body.toString(), 'tessera_model_loaded', 'model="m:1"'), 1);
    const put = await http(`${url}/v2/models/m/files/m.onnx`, { method: 'PUT', body: mlpModel([WIDTH, 8, 2], 2) });
    assert.equal(put.status, 201, put.body.toString());
    const m = (await http(`${url}/metrics`)).body.toString();
    assert.equal(metric(m, 'tessera_model_loaded', 'model="m:1"'), 0, 'version 1 gave its sessions back');
    const old = await http(`${url}/v2/models/m/versions/1/infer`, { method: 'POST', body, headers });
    assert.equal(old.status, 404);
    assert.match(old.json<{ error: string }>().error, /version 1 of "m" is not served: its version policy serves the latest version \(version 2\)/);
    const latest = await http(`${url}/v2/models/m/infer`, { method: 'POST', body, headers });
    assert.equal(latest.status, 200);
    assert.equal(latest.json<{ model_version: string }>().model_version, '2');
  });
});
