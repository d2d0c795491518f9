import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CORPUS_ABSENT, VAD_MODELS, corpusDir } from '../helpers/store-fixtures.js';
import { assertSameAsDirect, binaryBody, floats, http, oipInput, postJson, runDirect, serveModels, sileroInputs, splitBinaryReply, tensorBytes } from './helpers.js';
import type { OipOutput, RefInput, TestServer } from './helpers.js';

const [LEGACY, V5, V6] = VAD_MODELS as [string, string, string];

let s: TestServer;
before(async () => {
  s = await serveModels([['silero-vad-legacy', LEGACY], ['silero-vad-v5', V5], ['silero-vad-v6', V6]]);
});
after(async () => {
  await s.close();
});

test('Silero VAD models answer bit for bit like onnxruntime-node on the original file (JSON, flat and nested)', async () => {
  for (const [name, file] of [['silero-vad-legacy', LEGACY], ['silero-vad-v5', V5], ['silero-vad-v6', V6]] as const) {
    for (const n of [1, 3]) {
      const inputs = sileroInputs(file, n, 7 * n + name.length);
      const direct = await runDirect(file, inputs);
      const r = await postJson(`${s.url}/v2/models/${name}/infer`, { id: `${name}-${n}`, inputs: inputs.map(oipInput) });
      assert.equal(r.status, 200, r.body.toString());
      const body = r.json<{ model_name: string; model_version: string; id: string; outputs: OipOutput[] }>();
      assert.equal(body.model_name, name);
      assert.equal(body.model_version, '1');
      assert.equal(body.id, `${name}-${n}`);
      assert.deepEqual(body.outputs.map((o) => o.name).sort(), Object.keys(direct).sort());
      assertSameAsDirect(body.outputs, direct, `${name} n=${n}`);
    }
  }
  // Nested data gives the same answer as flat data.
  const inputs = sileroInputs(V5, 2, 99);
  const direct = await runDirect(V5, inputs);
  const nested = inputs.map(oipInput).map((i) => {
    if (i.name !== 'input') return i;
    const rows = [i.data.slice(0, 512), i.data.slice(512)];
    return { ...i, data: rows };
  });
  const r = await postJson(`${s.url}/v2/models/silero-vad-v5/versions/1/infer`, { inputs: nested, outputs: [{ name: 'output' }] });
  assert.equal(r.status, 200, r.body.toString());
  const outs = r.json<{ outputs: OipOutput[] }>().outputs;
  assert.deepEqual(outs.map((o) => o.name), ['output'], 'only the requested output');
  assertSameAsDirect(outs, direct, 'nested');
});

test('binary tensor data extension: binary inputs and outputs round trip bit for bit', async () => {
  const inputs = sileroInputs(V6, 4, 1234);
  const direct = await runDirect(V6, inputs);
  const parts = inputs.map((i) => Buffer.from(i.data.buffer, i.data.byteOffset, i.data.byteLength));
  const header = {
    inputs: inputs.map((i, k) => ({ name: i.name, shape: i.dims, datatype: i.type === 'float32' ? 'FP32' : 'INT64', parameters: { binary_data_size: parts[k]!.length } })),
    outputs: [{ name: 'stateN', parameters: { binary_data: true } }, { name: 'output', parameters: { binary_data: false } }],
  };
  const { body, headers } = binaryBody(header, parts);
  const r = await http(`${s.url}/v2/models/silero-vad-v6/infer`, { method: 'POST', body, headers });
  assert.equal(r.status, 200, r.body.toString());
  assert.ok(r.headers.get('inference-header-content-length'));
  const { header: h, binary } = splitBinaryReply(r);
  assert.deepEqual(h.outputs.map((o) => o.name), ['stateN', 'output']);
  const stateN = h.outputs[0]!;
  assert.equal(stateN.parameters?.binary_data_size, binary.length);
  assert.equal(stateN.data, undefined);
  assert.ok(binary.equals(tensorBytes(direct.stateN!)), 'binary output is bit-identical');
  assertSameAsDirect([h.outputs[1]! as OipOutput], direct, 'JSON output beside a binary one');

  // Mixed: JSON inputs, all outputs binary through the request-level parameter.
  const r2 = await postJson(`${s.url}/v2/models/silero-vad-v6/infer`, { inputs: inputs.map(oipInput), parameters: { binary_data_output: true } });
  assert.equal(r2.status, 200, r2.body.toString());
  const split = splitBinaryReply(r2);
  let off = 0;
  for (const o of split.header.outputs) {
    const size = o.parameters!.binary_data_size!;
    assert.ok(split.binary.subarray(off, off + size).equals(tensorBytes(direct[o.name]!)), o.name);
    off += size;
  }
  assert.equal(off, split.binary.length);
});

test('model metadata: platform, datatypes, -1 for dynamic dimensions, versions', async () => {
  const r = await http(`${s.url}/v2/models/silero-vad-v5`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), {
    name: 'silero-vad-v5', versions: ['1'], platform: 'onnxruntime_onnx',
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [-1, -1] },
      { name: 'state', datatype: 'FP32', shape: [2, -1, 128] },
      { name: 'sr', datatype: 'INT64', shape: [] },
    ],
    outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 1] }, { name: 'stateN', datatype: 'FP32', shape: [-1, -1, -1] }],
    parameters: {
      version: '1', files: 1, bytes: 2327524,
      // Its serving configuration (none set: the defaults); Silero carries its batch in a state tensor, not dimension 0.
      max_batch_size: 0, max_queue_delay_microseconds: 0, max_queue_size: 128, version_policy: 'all versions', dynamic_batching: false,
    },
  });
  const legacy = (await http(`${s.url}/v2/models/silero-vad-legacy/versions/1`)).json<{ inputs: { name: string; shape: number[] }[] }>();
  assert.deepEqual(legacy.inputs.map((i) => [i.name, i.shape]), [['input', [-1, -1]], ['sr', []], ['h', [2, -1, 64]], ['c', [2, -1, 64]]]);
  const server = (await http(`${s.url}/v2`)).json<{ name: string; extensions: string[] }>();
  assert.equal(server.name, 'tessera');
  assert.ok(server.extensions.includes('binary_tensor_data') && server.extensions.includes('model_repository'));
  assert.equal((await http(`${s.url}/v2/health/live`)).status, 200);
  assert.equal((await http(`${s.url}/v2/health/ready`)).status, 200);
  assert.equal((await http(`${s.url}/v2/models/silero-vad-v6/ready`)).status, 200);
});

test('trained-digits ONNX models (MLP and conv) answer bit for bit like onnxruntime-node', async (t) => {
  const dir = corpusDir();
  if (!dir) return t.skip(CORPUS_ABSENT);
  const files = ['mlp', 'conv'].flatMap((k) => readdirSync(join(dir, k)).filter((f) => f.endsWith('.onnx')).sort().map((f) => join(dir, k, f)));
  assert.ok(files.length > 0);
  const models = files.map((f): [string, string] => [`digits-${basename(join(f, '..'))}-${basename(f, '.onnx')}`, f]);
  const d = await serveModels(models);
  try {
    for (const [name, file] of models) {
      const x: RefInput = { name: 'x', type: 'float32', dims: [5, 64], data: floats(5 * 64, name.length * 31, 8) };
      const direct = await runDirect(file, [x]);
      const r = await postJson(`${d.url}/v2/models/${name}/infer`, { inputs: [oipInput(x)] });
      assert.equal(r.status, 200, `${name}: ${r.body.toString()}`);
      const outs = r.json<{ outputs: OipOutput[] }>().outputs;
      assert.deepEqual(outs.map((o) => [o.name, o.shape[0]]), [['logits', 5]]);
      assertSameAsDirect(outs, direct, name);
    }
  } finally {
    await d.close();
  }
});
