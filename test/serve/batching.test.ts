/**
 * Dynamic batching end to end: concurrent requests to a model configured for
 * it share runs (the server's metrics say so), and every answer is, bit for
 * bit, the answer onnxruntime-node gives the same request alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../src/serve/server.js';
import { CORPUS_ABSENT, VAD_MODELS, corpusDir, tempStore } from '../helpers/store-fixtures.js';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import { binaryBody, floats, http, splitBinaryReply, tensorBytes } from './helpers.js';
import type { RefInput } from './helpers.js';
import { metric } from './server-metrics.js';
import { mlpModel, rowSumModel } from './mlp-model.js';

interface Case {
  model: string;
  file: string;
  input: RefInput;
  output: string;
}

/** Sends every case at once (binary in and out) and checks each answer against onnxruntime-node run on that case alone. */
async function checkAll(url: string, cases: Case[]): Promise<void> {
  const replies = await Promise.all(cases.map((c) => {
    const { body, headers } = binaryBody({
      inputs: [{ name: c.input.name, datatype: 'FP32', shape: c.input.dims, parameters: { binary_data_size: c.input.data.byteLength } }],
      parameters: { binary_data_output: true },
    }, [Buffer.from(c.input.data.buffer, c.input.data.byteOffset, c.input.data.byteLength)]);
    return http(`${url}/v2/models/${c.model}/infer`, { method: 'POST', body, headers });
  }));
  const sessions = new Map<string, ort.InferenceSession>();
  try {
    for (const [i, c] of cases.entries()) {
      const r = replies[i]!;
      assert.equal(r.status, 200, r.body.toString());
      const { header, binary } = splitBinaryReply(r);
      let session = sessions.get(c.file);
      if (!session) sessions.set(c.file, (session = await ort.InferenceSession.create(readFileSync(c.file), sessionOptions())));
      const want = (await session.run({ [c.input.name]: new ort.Tensor(c.input.type, c.input.data, c.input.dims) }))[c.output]!;
      assert.deepEqual(header.outputs[0]!.shape, [...want.dims], `case ${i}: shape`);
      assert.ok(binary.equals(tensorBytes(want)), `case ${i} (${c.model}, ${c.input.dims[0]} rows): the batched answer differs from the request run alone`);
    }
  } finally {
    for (const x of sessions.values()) await x.release();
  }
}

async function metrics(url: string): Promise<string> {
  return (await http(`${url}/metrics`)).body.toString();
}

test('concurrent requests to a batching model share runs, and each answer is bit for bit its answer alone', async () => {
  const t = await tempStore();
  const mlp = join(t.dir, 'mlp.onnx');
  const rowsum = join(t.dir, 'rowsum.onnx');
  writeFileSync(mlp, mlpModel([16, 64, 64, 8], 7));
  writeFileSync(rowsum, rowSumModel());
  await t.store.import(mlp, { name: 'mlp' });
  await t.store.import(rowsum, { name: 'rowsum' });
  // A long delay: requests wait for company, so batches form however the requests arrive.
  for (const name of ['mlp', 'rowsum']) await t.store.configure({ name }, { set: { max_batch_size: 16, max_queue_delay_microseconds: 300_000 } });
  const server = await startServer(t.store, { port: 0, log: () => {} });
  try {
    const cases: Case[] = [];
    for (let i = 0; i < 40; i++) {
      const rows = 1 + (i % 3);
      cases.push({ model: 'mlp', file: mlp, output: 'y', input: { name: 'x', type: 'float32', dims: [rows, 16], data: floats(rows * 16, 100 + i) } });
    }
    // Rows of two widths: each width batched with its own kind only.
    for (let i = 0; i < 12; i++) {
      const w = 2 + (i % 2);
      cases.push({ model: 'rowsum', file: rowsum, output: 's', input: { name: 'x', type: 'float32', dims: [1, w], data: floats(w, 500 + i) } });
    }
    await checkAll(server.url, cases);
    const m = await metrics(server.url);
    const runs = metric(m, 'tessera_batch_requests_count', 'model="mlp:1"');
    const requests = metric(m, 'tessera_batch_requests_sum', 'model="mlp:1"');
    const rows = metric(m, 'tessera_batch_rows_sum', 'model="mlp:1"');
    assert.equal(requests, 40);
    assert.equal(rows, 79);
    assert.ok(runs < 40 / 2, `40 requests took ${runs} runs`);
    const sumRuns = metric(m, 'tessera_batch_requests_count', 'model="rowsum:1"');
    assert.ok(sumRuns >= 2 && sumRuns < 12, `12 requests of 2 widths took ${sumRuns} runs`);
    // The configuration shows in the metadata and in Triton's model configuration.
    const meta = (await http(`${server.url}/v2/models/mlp`)).json<{ parameters: Record<string, unknown> }>();
    assert.equal(meta.parameters.dynamic_batching, true);
    assert.equal(meta.parameters.max_batch_size, 16);
    const config = (await http(`${server.url}/v2/models/mlp/config`)).json<Record<string, unknown>>();
    assert.deepEqual(config.dynamic_batching, { preferred_batch_size: [], max_queue_delay_microseconds: 300_000, default_queue_policy: { max_queue_size: 128 } });
    assert.deepEqual(config.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: [16] }]);
  } finally {
    await server.close();
    await t.cleanup();
  }
});

test('a model whose first dimension is fixed is never batched, whatever its configuration says', async () => {
  const t = await tempStore();
  // Silero VAD carries its batch in a state tensor ([2, n, 128]), not in dimension 0 of every input and output.
  await t.store.import(VAD_MODELS[1]!, { name: 'vad' });
  await t.store.configure({ name: 'vad' }, { set: { max_batch_size: 8 } });
  const server = await startServer(t.store, { port: 0, log: () => {} });
  try {
    const meta = (await http(`${server.url}/v2/models/vad`)).json<{ parameters: Record<string, unknown> }>();
    assert.equal(meta.parameters.dynamic_batching, false);
    assert.match(String(meta.parameters.dynamic_batching_off), /no dynamic first dimension/);
    const config = (await http(`${server.url}/v2/models/vad/config`)).json<Record<string, unknown>>();
    assert.equal(config.max_batch_size, 0);
    assert.equal(config.dynamic_batching, undefined);
  } finally {
    await server.close();
    await t.cleanup();
  }
});

test('the trained-digits MLP and conv nets: batched answers are bit for bit the answers alone', async (t) => {
  const dir = corpusDir();
  if (!dir) return t.skip(CORPUS_ABSENT);
  const x = readFileSync(join(dir, 'eval', 'digits-x.npy'));
  const header = x.readUInt16LE(8);
  const pixels = new Float32Array(x.buffer.slice(x.byteOffset + 10 + header, x.byteOffset + x.length));
  const s = await tempStore();
  const files = { mlp: join(dir, 'mlp', 'base-ckpt3.onnx'), conv: join(dir, 'conv', 'base-ckpt3.onnx') };
  for (const [name, file] of Object.entries(files)) {
    await s.store.import(file, { name });
    await s.store.configure({ name }, { set: { max_batch_size: 32, max_queue_delay_microseconds: 200_000 } });
  }
  const server = await startServer(s.store, { port: 0, log: () => {} });
  try {
    const cases: Case[] = [];
    for (const [name, file] of Object.entries(files)) {
      for (let i = 0; i < 48; i++) {
        const rows = 1 + (i % 4);
        const at = (i * 37) % 1700;
        cases.push({ model: name, file, output: 'logits', input: { name: 'x', type: 'float32', dims: [rows, 64], data: pixels.slice(at * 64, (at + rows) * 64) } });
      }
    }
    await checkAll(server.url, cases);
    const m = await metrics(server.url);
    for (const name of Object.keys(files)) {
      const runs = metric(m, 'tessera_batch_requests_count', `model="${name}:1"`);
      assert.ok(runs < 24, `${name}: 48 requests took ${runs} runs`);
    }
  } finally {
    await server.close();
    await s.cleanup();
  }
});
