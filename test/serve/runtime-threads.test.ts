import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { OnnxModel, RunFailed, sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import { RuntimeThreads } from '../../src/serve/runtime/runtime-threads.js';
import type { HostTensor } from '../../src/serve/oip/tensor-codec.js';
import { VAD_MODELS } from '../helpers/store-fixtures.js';
import { WARM_UP_INPUT, WARM_UP_MODEL } from '../../src/serve/runtime/warm-up-model.js';
import { identityModel } from './identity-model.js';

/**
 * Sessions on the runtime threads (RuntimeThreads, OnnxModel): the answers
 * are onnxruntime's own, bit for bit, from every instance and with runs of
 * several at once; a refused run is the client's error; closing with runs in
 * flight settles them.
 */

const V5 = VAD_MODELS[1]!;

function inputs(batch: number, seed: number): HostTensor[] {
  const input = new Float32Array(batch * 512).map((_, i) => Math.sin(i * 0.01 + seed) * 0.3);
  const state = new Float32Array(2 * batch * 128).map((_, i) => Math.cos(i + seed) * 0.1);
  return [
    { name: 'input', datatype: 'FP32', shape: [batch, 512], data: input },
    { name: 'state', datatype: 'FP32', shape: [2, batch, 128], data: state },
    { name: 'sr', datatype: 'INT64', shape: [], data: new BigInt64Array([16000n]) },
  ];
}

/** onnxruntime-node's answer on this thread, as the reference. */
async function direct(session: ort.InferenceSession, ins: HostTensor[]): Promise<Float32Array[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of ins) feeds[t.name] = new ort.Tensor(t.datatype === 'INT64' ? 'int64' : 'float32', t.data as Float32Array, t.shape);
  const r = await session.run(feeds);
  return session.outputNames.map((n) => r[n]!.data as Float32Array);
}

test('two instances on two runtime threads answer as onnxruntime does on this thread, bit for bit, many runs at once', async () => {
  const bytes = readFileSync(V5);
  const runtime = new RuntimeThreads(2);
  const reference = await ort.InferenceSession.create(bytes, sessionOptions());
  try {
    await runtime.ready;
    const model = await OnnxModel.create(new Uint8Array(bytes), runtime, { instances: 2 });
    assert.equal(model.instances, 2);
    assert.deepEqual(model.signature.inputs.map((i) => i.name), ['input', 'state', 'sr']);
    const outputs = model.signature.outputs.map((o) => o.name);
    const runs = Array.from({ length: 12 }, (_, k) => k);
    const answers = await Promise.all(runs.map((k) => model.run(inputs(1 + (k % 4), k), outputs)));
    for (const k of runs) {
      const want = await direct(reference, inputs(1 + (k % 4), k));
      assert.deepEqual(answers[k]!.map((o) => o.name), outputs);
      answers[k]!.forEach((o, i) => assert.ok(Buffer.from((o.data as Float32Array).buffer).equals(Buffer.from(want[i]!.buffer)), `run ${k}, output ${o.name}`));
    }
    // A run onnxruntime refuses is the request's fault (400), and the instance goes on answering.
    const bad = inputs(2, 0);
    bad[1] = { ...bad[1]!, shape: [2, 3, 128], data: new Float32Array(2 * 3 * 128) };
    await assert.rejects(model.run(bad, outputs), (e: unknown) => e instanceof RunFailed);
    assert.equal((await model.run(inputs(1, 1), outputs)).length, outputs.length);
    await model.release();
  } finally {
    await reference.release();
    await runtime.close();
  }
});

test('bytes that are no ONNX model fail the load with onnxruntime\'s reason; closing with runs in flight settles them', async () => {
  const runtime = new RuntimeThreads(1);
  try {
    await assert.rejects(OnnxModel.create(new Uint8Array(Buffer.from('not a model')), runtime), /protobuf|parse|model/i);
    const model = await OnnxModel.create(new Uint8Array(readFileSync(V5)), runtime);
    const outputs = model.signature.outputs.map((o) => o.name);
    const inFlight = Array.from({ length: 8 }, (_, k) => model.run(inputs(64, k), outputs).then(() => 'answered', (e: Error) => e.message));
    await runtime.close();
    for (const r of await Promise.all(inFlight)) assert.ok(r === 'answered' || /closed/.test(r), r);
    await assert.rejects(model.run(inputs(1, 0), outputs), /closed/);
  } finally {
    await runtime.close();
  }
});

test('the warm-up model each runtime thread starts with is the identity model the test helper writes, and runs', async () => {
  assert.ok(WARM_UP_MODEL.equals(identityModel(1, ['FP32'])));
  const s = await ort.InferenceSession.create(new Uint8Array(WARM_UP_MODEL), sessionOptions());
  try {
    const r = await s.run({ [WARM_UP_INPUT]: new ort.Tensor('float32', new Float32Array([2.5, -1]), [2, 1]) });
    assert.deepEqual([...(r[s.outputNames[0]!]!.data as Float32Array)], [2.5, -1]);
  } finally {
    await s.release();
  }
});
