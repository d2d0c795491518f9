/**
 * Ensembles end to end: a JSON definition imported like a model, served
 * through the protocol; its answers are the steps' answers chained by hand,
 * bit for bit; failures name the step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import { sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import { tempStore } from '../helpers/store-fixtures.js';
import type { Store } from '../../src/store/store.js';
import { binaryBody, floats, http, postJson, splitBinaryReply } from './helpers.js';
import type { Reply } from './helpers.js';
import { metric } from './server-metrics.js';
import { mlpModel, softmaxModel } from './mlp-model.js';

let t: Awaited<ReturnType<typeof tempStore>>;
let server: RunningServer;
let store: Store;
const files: Record<string, string> = {};

const definition = (steps: unknown[], outputs: unknown[] = [{ name: 'digit', datatype: 'FP32', shape: [-1, 10] }, { name: 'parity', datatype: 'FP32', shape: [-1, 2] }], inputs: unknown[] = [{ name: 'pixels', datatype: 'FP32', shape: [-1, 16] }]): string =>
  JSON.stringify({ tessera_ensemble: 1, inputs, outputs, steps });

const PIPELINE = [
  { name: 'classify', model: 'digits', version: 1, input_map: { x: 'pixels' }, output_map: { y: 'digit_logits' } },
  { name: 'parity', model: 'parity', input_map: { x: 'pixels' }, output_map: { y: 'parity' } },
  { name: 'softmax', model: 'softmax', version: 'latest', input_map: { logits: 'digit_logits' }, output_map: { probs: 'digit' } },
];

async function importEnsemble(name: string, text: string): Promise<void> {
  const f = join(t.dir, `${name}.json`);
  writeFileSync(f, text);
  await store.import(f, { name });
}

before(async () => {
  t = await tempStore();
  store = t.store;
  const models: [string, Buffer][] = [['digits', mlpModel([16, 32, 10], 3)], ['parity', mlpModel([16, 8, 2], 5)], ['softmax', softmaxModel(10)]];
  for (const [name, bytes] of models) {
    files[name] = join(t.dir, `${name}.onnx`);
    writeFileSync(files[name]!, bytes);
    await store.import(files[name]!, { name });
  }
  await importEnsemble('pipeline', definition(PIPELINE));
  server = await startServer(store, { port: 0, log: () => {} });
});

after(async () => {
  await server.close();
  await t.cleanup();
});

async function direct(model: string, feeds: Record<string, { dims: number[]; data: Float32Array }>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(readFileSync(files[model]!), sessionOptions());
  try {
    return await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)])));
  } finally {
    await s.release();
  }
}

const bytesOf = (d: Float32Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

test('an ensemble answers what its steps chained by hand answer, bit for bit, and runs only the steps asked for', async () => {
  const x = floats(3 * 16, 42);
  const { body, headers } = binaryBody({
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: [3, 16], parameters: { binary_data_size: x.byteLength } }],
    parameters: { binary_data_output: true },
  }, [bytesOf(x)]);
  const r = await http(`${server.url}/v2/models/pipeline/infer`, { method: 'POST', body, headers });
  assert.equal(r.status, 200, r.body.toString());
  const { header, binary } = splitBinaryReply(r);
  assert.deepEqual(header.outputs.map((o) => [o.name, o.datatype, o.shape]), [['digit', 'FP32', [3, 10]], ['parity', 'FP32', [3, 2]]]);
  const logits = (await direct('digits', { x: { dims: [3, 16], data: x } })).y!;
  const probs = (await direct('softmax', { logits: { dims: [3, 10], data: logits.data as Float32Array } })).probs!;
  const parity = (await direct('parity', { x: { dims: [3, 16], data: x } })).y!;
  assert.ok(binary.subarray(0, 120).equals(bytesOf(probs.data as Float32Array)), 'digit = softmax(digits(x))');
  assert.ok(binary.subarray(120).equals(bytesOf(parity.data as Float32Array)), 'parity = parity(x)');

  const before = await http(`${server.url}/metrics`);
  const digitRuns = metric(before.body.toString(), 'tessera_batch_requests_count', 'model="digits:1"');
  const onlyParity = await postJson(`${server.url}/v2/models/pipeline/infer`, {
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 16], data: Array.from(x.subarray(0, 16)) }], outputs: [{ name: 'parity' }],
  });
  assert.equal(onlyParity.status, 200, onlyParity.body.toString());
  assert.deepEqual(onlyParity.json<{ outputs: { name: string }[] }>().outputs.map((o) => o.name), ['parity']);
  const afterRuns = metric((await http(`${server.url}/metrics`)).body.toString(), 'tessera_batch_requests_count', 'model="digits:1"');
  assert.equal(afterRuns, digitRuns, 'the digits step did not run for a request of parity alone');
});

test('an ensemble is a model of the protocol: metadata, readiness, Triton configuration, repository index', async () => {
  const meta = (await http(`${server.url}/v2/models/pipeline`)).json<{ platform: string; inputs: unknown[]; outputs: unknown[] }>();
  assert.equal(meta.platform, 'ensemble');
  assert.deepEqual(meta.inputs, [{ name: 'pixels', datatype: 'FP32', shape: [-1, 16] }]);
  assert.equal((await http(`${server.url}/v2/models/pipeline/ready`)).status, 200);
  const config = (await http(`${server.url}/v2/models/pipeline/config`)).json<{ platform: string; ensemble_scheduling: { step: unknown[] } }>();
  assert.equal(config.platform, 'ensemble');
  assert.deepEqual(config.ensemble_scheduling.step[0], { model_name: 'digits', model_version: 1, input_map: { x: 'pixels' }, output_map: { y: 'digit_logits' } });
  const index = (await postJson(`${server.url}/v2/repository/index`, {})).json<{ name: string; state: string }[]>();
  assert.equal(index.find((m) => m.name === 'pipeline')?.state, 'READY');
  const load = await http(`${server.url}/v2/repository/models/pipeline/load`, { method: 'POST' });
  assert.equal(load.status, 200, load.body.toString());
});

test('a failing step answers with the step named and the status of its own error', async () => {
  await importEnsemble('ghostly', definition([{ name: 'haunt', model: 'ghost', input_map: { x: 'pixels' }, output_map: { y: 'parity' } }], [{ name: 'parity', datatype: 'FP32', shape: [-1, 2] }]));
  await importEnsemble('narrow', definition(
    [{ name: 'classify', model: 'parity', input_map: { x: 'pixels' }, output_map: { y: 'parity' } }],
    [{ name: 'parity', datatype: 'FP32', shape: [-1, 2] }], [{ name: 'pixels', datatype: 'FP32', shape: [-1, 8] }]));
  await importEnsemble('pinned', definition([{ name: 'old', model: 'parity', version: 7, input_map: { x: 'pixels' }, output_map: { y: 'parity' } }], [{ name: 'parity', datatype: 'FP32', shape: [-1, 2] }]));
  const ask = (name: string, width: number) => postJson(`${server.url}/v2/models/${name}/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, width], data: new Array<number>(width).fill(0.5) }] });
  // A step whose model is missing: the ensemble is unavailable (503), not the client's fault.
  const ghost = await ask('ghostly', 16);
  assert.equal(ghost.status, 503);
  assert.match(ghost.json<{ error: string }>().error, /^ensemble step "haunt" \(model ghost\): no model named "ghost" in the store/);
  const narrow = await ask('narrow', 8);
  assert.equal(narrow.status, 400);
  assert.match(narrow.json<{ error: string }>().error, /^ensemble step "classify" \(model parity\): parity:1: input "x" has shape \[1,8\], the model wants \[-1,16\]/);
  const pinned = await ask('pinned', 16);
  assert.equal(pinned.status, 503);
  assert.match(pinned.json<{ error: string }>().error, /ensemble step "old" \(model parity:7\): no model parity:7 in the store/);
  // The ensemble's own inputs are checked like any model's.
  const wrong = await ask('pipeline', 8);
  assert.equal(wrong.status, 400);
  assert.match(wrong.json<{ error: string }>().error, /input "pixels": shape \[1,8\] does not match the model's \[-1,16\]/);
});

test('a malformed definition is refused at import with the file and field named, and nothing is stored', async () => {
  const before = (await store.list()).length;
  const f = join(t.dir, 'bad.json');
  writeFileSync(f, definition([{ name: 'a', model: 'digits', input_map: { x: 'nowhere' }, output_map: { y: 'parity' } }], [{ name: 'parity', datatype: 'FP32', shape: [-1, 2] }]));
  await assert.rejects(store.import(f, { name: 'bad' }), /bad\.json: ensemble definition: step "a" reads tensor "nowhere", which no step writes and is not an input/);
  assert.equal((await store.list()).length, before);
});

test('version policies apply to an ensemble\'s steps: a step on the latest version follows the policy', async () => {
  // A second version of parity, then a policy serving only version 1: "latest" resolves to 1.
  const v2 = join(t.dir, 'parity-2.onnx');
  writeFileSync(v2, mlpModel([16, 8, 2], 6));
  await store.import(v2, { name: 'parity' });
  await store.configure({ name: 'parity' }, { set: { version_policy: { specific: [1] } } });
  await server.context.catalog.refresh();
  const r = await postJson(`${server.url}/v2/models/pipeline/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 16], data: new Array<number>(16).fill(0.25) }], outputs: [{ name: 'parity' }] });
  assert.equal(r.status, 200, r.body.toString());
  const ready = await http(`${server.url}/v2/models/parity/versions/2/ready`);
  assert.equal(ready.status, 400, ready.body.toString());
  const notServed = await postJson(`${server.url}/v2/models/parity/versions/2/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: new Array<number>(16).fill(0.25) }] });
  assert.equal(notServed.status, 404);
  assert.match(notServed.json<{ error: string }>().error, /version 2 of "parity" is not served: its version policy serves version 1 \(version 1\)/);
  const latest = (await http(`${server.url}/v2/models/parity`)).json<{ versions: string[]; parameters: { version: string } }>();
  assert.deepEqual(latest.versions, ['1']);
  assert.equal(latest.parameters.version, '1');
  await store.configure({ name: 'parity' }, { set: {}, reset: true });
});

test('an ensemble\'s step batches with direct requests to its model', async () => {
  await store.configure({ name: 'parity' }, { set: { max_batch_size: 32, max_queue_delay_microseconds: 300_000 } });
  await server.context.catalog.refreshConfigsNow();
  try {
    // The version the ensemble's "latest" step runs.
    const version = (await http(`${server.url}/v2/models/parity`)).json<{ parameters: { version: string } }>().parameters.version;
    const labels = `model="parity:${version}"`;
    const m0 = metric((await http(`${server.url}/metrics`)).body.toString(), 'tessera_batch_requests_count', labels);
    const rows = Array.from({ length: 4 }, (_, i) => Array.from(floats(16, 900 + i)));
    const direct = rows.map((r) => postJson(`${server.url}/v2/models/parity/versions/${version}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 16], data: r }] }));
    const viaEnsemble = rows.map((r) => postJson(`${server.url}/v2/models/pipeline/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 16], data: r }], outputs: [{ name: 'parity' }] }));
    const [a, b] = [await Promise.all(direct), await Promise.all(viaEnsemble)];
    for (let i = 0; i < rows.length; i++) {
      assert.equal(a[i]!.status, 200, a[i]!.body.toString());
      assert.equal(b[i]!.status, 200, b[i]!.body.toString());
      const data = (r: Reply): number[] => r.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data;
      assert.deepEqual(data(b[i]!), data(a[i]!), `row ${i}: the ensemble's answer is the model's`);
    }
    const runs = metric((await http(`${server.url}/metrics`)).body.toString(), 'tessera_batch_requests_count', labels) - m0;
    assert.ok(runs < 4, `8 requests to parity:${version}, half through the ensemble, took ${runs} runs`);
  } finally {
    await store.configure({ name: 'parity' }, { set: {}, reset: true });
    await server.context.catalog.refreshConfigsNow();
  }
});
