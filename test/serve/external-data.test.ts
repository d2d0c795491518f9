/**
 * ONNX models whose tensors live in external data files are served straight
 * from the store: the server hands onnxruntime the model file and its
 * external data files from memory, and the answers are bit for bit those of
 * onnxruntime-node loading the original files from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import { startServer } from '../../src/serve/server.js';
import { tempStore } from '../helpers/store-fixtures.js';
import { ProtoWriter, encodeNode, encodeTensor } from '../helpers/build-onnx.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';
import { floats, postJson } from './helpers.js';
import { mlpModel, mlpModelExternal } from './mlp-model.js';

const SIZES = [8, 64, 32, 3];

type Stored = Awaited<ReturnType<typeof tempStore>>;

/** Runs fn with a fresh store and a server on it, both closed after. */
async function withServer(fn: (t: Stored, url: string) => Promise<void>): Promise<void> {
  const t = await tempStore();
  const server = await startServer(t.store, { port: 0, log: () => {} });
  try {
    await fn(t, server.url);
  } finally {
    await server.close();
    await t.cleanup();
  }
}

/** The MLP's output `y` for the rows `x`, by onnxruntime on the model file at `path` (plain options: it may read external data from disk). */
async function runFile(path: string, x: Float32Array, opts: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, opts);
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, [x.length / SIZES[0]!, SIZES[0]!]) })).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** The server's answer for the MLP `ref` (a name, or name/versions/v) on the rows `x`. */
function inferMlp(url: string, ref: string, x: Float32Array): ReturnType<typeof postJson> {
  return postJson(`${url}/v2/models/${ref}/infer`, { inputs: [{ name: 'x', shape: [x.length / SIZES[0]!, SIZES[0]], datatype: 'FP32', data: [...x] }] });
}

test('a model with external data (in a subfolder) is served straight from the store, bit for bit as onnxruntime loads it from disk', async () => {
  await withServer(async (t, url) => {
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
    // From disk with plain options (the server's forbid onnxruntime to read external data from disk).
    const direct = await runFile(join(dir, 'model.onnx'), x);
    assert.deepEqual(await runFile(join(t.dir, 'inline.onnx'), x, sessionOptions()), direct);

    const r = await inferMlp(url, 'ext', x);
    assert.equal(r.status, 200, r.body.toString());
    const out = r.json<{ outputs: { name: string; shape: number[]; data: number[] }[] }>().outputs[0]!;
    assert.deepEqual(out.shape, [5, SIZES.at(-1)]);
    assert.deepEqual(Float32Array.from(out.data), direct);
    // Its metadata, too (a session was made from it).
    const meta = await (await fetch(`${url}/v2/models/ext`)).json() as { inputs: { name: string }[] };
    assert.deepEqual(meta.inputs.map((i) => i.name), ['x']);
  });
});

/** y = x + B (B [3] F32 from external data at `location`), inside an If's then-branch when `inIf` (else y = x + B at the top). */
function addModel(location: string, inIf: boolean): Buffer {
  const bias = encodeTensor({ name: 'B', dtype: 'F32', shape: [3], external: { location, offset: 0, length: 12 } });
  if (!inIf) {
    const g = new ProtoWriter().message(1, encodeNode({ opType: 'Add', name: 'add', inputs: ['x', 'B'], outputs: ['y'] })).string(2, 'add').message(5, bias)
      .message(11, valueInfo('x', ONNX_ELEM.FP32!, [1, 3])).message(12, valueInfo('y', ONNX_ELEM.FP32!, [1, 3]));
    return modelOf(g);
  }
  const branch = (name: string, body: Buffer, init?: Buffer): Buffer => {
    const g = new ProtoWriter().message(1, body).string(2, name);
    if (init) g.message(5, init);
    return g.message(12, valueInfo(`${name}_out`, ONNX_ELEM.FP32!, [1, 3])).finish();
  };
  const then = branch('then', encodeNode({ opType: 'Add', name: 'add', inputs: ['x', 'B'], outputs: ['then_out'] }), bias);
  const otherwise = branch('else', encodeNode({ opType: 'Identity', name: 'id', inputs: ['x'], outputs: ['else_out'] }));
  const attr = (name: string, g: Buffer): Buffer => new ProtoWriter().string(1, name).message(6, g).varint(20, 5).finish();
  const ifNode = new ProtoWriter().string(1, 'c').string(2, 'y').string(3, 'if').string(4, 'If').message(5, attr('then_branch', then)).message(5, attr('else_branch', otherwise)).finish();
  const g = new ProtoWriter().message(1, ifNode).string(2, 'main')
    .message(11, valueInfo('x', ONNX_ELEM.FP32!, [1, 3])).message(11, valueInfo('c', ONNX_ELEM.BOOL!, [])).message(12, valueInfo('y', ONNX_ELEM.FP32!, [1, 3]));
  return modelOf(g);
}

test('external data is never read from disk: a tensor in an If body (whose in-memory data onnxruntime ignores) fails to load rather than come from the server\'s working directory; a location not in plain form is refused with a clear message', async () => {
  // A file of that name in the working directory: what onnxruntime would read without the server's options.
  const bait = `tessera-test-bait-${process.pid}.bin`;
  writeFileSync(bait, Buffer.from(Float32Array.of(100, 200, 300).buffer));
  try {
    await withServer(async (t, url) => {
      const put = (name: string, model: Buffer, location: string): Promise<unknown> => {
        const dir = join(t.dir, name);
        mkdirSync(dir);
        writeFileSync(join(dir, 'model.onnx'), model);
        writeFileSync(join(dir, location.replace(/^\.\//, '')), Buffer.from(Float32Array.of(1, 2, 3).buffer));
        return t.store.import(dir, { name });
      };
      await put('in-if', addModel(bait, true), bait);
      await put('dotted', addModel('./w.bin', false), './w.bin');
      await put('plain', addModel('w.bin', false), 'w.bin');
      const infer = (m: string, withCond: boolean) => postJson(`${url}/v2/models/${m}/infer`, {
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [10, 10, 10] }, ...(withCond ? [{ name: 'c', shape: [], datatype: 'BOOL', data: [true] }] : [])],
      });
      const plain = await infer('plain', false);
      assert.equal(plain.status, 200, plain.body.toString());
      assert.deepEqual(plain.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data, [11, 12, 13]);
      const inIf = await infer('in-if', true);
      assert.notEqual(inIf.status, 200, 'a tensor the server was not given must not load');
      assert.doesNotMatch(inIf.body.toString(), /110|210|310/);
      assert.match(inIf.json<{ error: string }>().error, /tessera-external-data-comes-from-memory/);
      const dotted = await infer('dotted', false);
      assert.notEqual(dotted.status, 200);
      assert.equal(dotted.json<{ error: string }>().error, 'model dotted:1 failed to load: model.onnx names its external data file "./w.bin", not in plain form ("w.bin"): onnxruntime cannot be given it from memory; export the model with the location "w.bin"');
    });
  } finally {
    rmSync(bait, { force: true });
  }
});

test('two ONNX files of one model naming one external data file import (the shared ranges once), export byte-identically and serve', async () => {
  await withServer(async (t, url) => {
    const dir = join(t.dir, 'pair');
    mkdirSync(join(dir, 'weights'), { recursive: true });
    const { model, data } = mlpModelExternal(SIZES, 7, 'weights/model.bin');
    const files: Record<string, Buffer> = { 'model.onnx': model, 'copy.onnx': Buffer.concat([model, Buffer.alloc(0)]), 'weights/model.bin': data };
    for (const [p, b] of Object.entries(files)) writeFileSync(join(dir, p), b);
    const r = await t.store.import(dir, { name: 'pair' });
    assert.equal(r.files, 3);
    for (const f of await t.store.files(r.model)) assert.ok((await t.store.loadFile(f)).bytes.equals(files[f.path]!), f.path);
    const x = floats(2 * SIZES[0]!, 3);
    const reply = await inferMlp(url, 'pair', x);
    assert.equal(reply.status, 200, reply.body.toString());
    assert.deepEqual(Float32Array.from(reply.json<{ outputs: { data: number[] }[] }>().outputs[0]!.data), await runFile(join(dir, 'model.onnx'), x));
  });
});

test('a new version whose ONNX file changes while its external data file is reused from the stored version (a Hub commit) imports and serves', async () => {
  await withServer(async (t, url) => {
    const { model, data } = mlpModelExternal(SIZES, 11, 'model.onnx.data');
    const v1 = join(t.dir, 'v1');
    mkdirSync(v1);
    writeFileSync(join(v1, 'model.onnx'), model);
    writeFileSync(join(v1, 'model.onnx.data'), data);
    const first = await t.store.import(v1, { name: 'hubby' });
    const stored = (await t.store.files(first.model)).find((f) => f.path === 'model.onnx.data')!;
    // Version 2: the same weights, the graph's producer changed (other bytes); the data file by its rows only.
    const v2 = join(t.dir, 'v2');
    mkdirSync(v2);
    const changed = Buffer.concat([model, new ProtoWriter().string(2, 'tessera-test-v2').finish()]);
    writeFileSync(join(v2, 'model.onnx'), changed);
    const second = await t.store.import(v2, { name: 'hubby', relativeNames: true, reuse: [{ relPath: 'model.onnx.data', file: stored }] });
    assert.equal(second.model.version, 2);
    const files = await t.store.files(second.model);
    assert.deepEqual(files.map((f) => f.path), ['model.onnx', 'model.onnx.data']);
    assert.ok((await t.store.loadFile(files[0]!)).bytes.equals(changed));
    assert.ok((await t.store.loadFile(files[1]!)).bytes.equals(data));
    const x = floats(SIZES[0]!, 4);
    const reply = await inferMlp(url, 'hubby/versions/2', x);
    assert.equal(reply.status, 200, reply.body.toString());
  });
});
