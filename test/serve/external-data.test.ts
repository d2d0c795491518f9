/**
 * ONNX models whose tensors live in external data files are served straight
 * from the store: the server hands onnxruntime the model file and its
 * external data files from memory, and the answers are bit for bit those of
 * onnxruntime-node loading the original files from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import { startServer } from '../../src/serve/server.js';
import { tempStore } from '../helpers/store-fixtures.js';
import { floats, postJson } from './helpers.js';
import { mlpModel, mlpModelExternal } from './mlp-model.js';

const SIZES = [8, 64, 32, 3];

test('a model with external data (in a subfolder) is served straight from the store, bit for bit as onnxruntime loads it from disk', async () => {
  const t = await tempStore();
  const server = await startServer(t.store, { port: 0, log: () => {} });
  try {
    // The model in a folder: model.onnx names weights/model.bin as its external data.
    const dir = join(t.dir, 'ext');
    mkdirSync(join(dir, 'weights'), { recursive: true });
    const { model, data } = mlpModelExternal(SIZES, 5, 'weights/model.bin');
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'weights', 'model.bin'), data);
    assert.ok(model.length < 1024 && data.length > 8 * 64 * 4, 'the weights are outside the model file');
    await t.store.import(dir, { name: 'ext' });
    // The same network with its weights inside: the same answers (a check on the builder).
    writeFileSync(join(t.dir, 'inline.onnx'), mlpModel(SIZES, 5));

    const x = floats(5 * SIZES[0]!, 9);
    const fromDisk = await ort.InferenceSession.create(join(dir, 'model.onnx'), sessionOptions());
    const direct = (await fromDisk.run({ x: new ort.Tensor('float32', x, [5, SIZES[0]!]) })).y!.data as Float32Array;
    await fromDisk.release();
    const inline = await ort.InferenceSession.create(join(t.dir, 'inline.onnx'), sessionOptions());
    assert.deepEqual((await inline.run({ x: new ort.Tensor('float32', x, [5, SIZES[0]!]) })).y!.data, direct);
    await inline.release();

    const r = await postJson(`${server.url}/v2/models/ext/infer`, { inputs: [{ name: 'x', shape: [5, SIZES[0]], datatype: 'FP32', data: [...x] }] });
    assert.equal(r.status, 200, r.body.toString());
    const out = r.json<{ outputs: { name: string; shape: number[]; data: number[] }[] }>().outputs[0]!;
    assert.deepEqual(out.shape, [5, SIZES.at(-1)]);
    assert.deepEqual(Float32Array.from(out.data), direct);
    // Its metadata, too (a session was made from it).
    const meta = await (await fetch(`${server.url}/v2/models/ext`)).json() as { inputs: { name: string }[] };
    assert.deepEqual(meta.inputs.map((i) => i.name), ['x']);
  } finally {
    await server.close();
    await t.cleanup();
  }
});
