import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { VAD_MODELS, randomBytes, tempStore } from '../helpers/store-fixtures.js';
import { floats, runDirect, sileroInputs, tensorBytes } from './helpers.js';
import type { RefInput } from './helpers.js';
import { identityModel } from './identity-model.js';
import type { Expected, FileCase, FileMix, InferCase } from './load-jobs.js';
import { tableModel } from './table-model.js';

const MiB = 2 ** 20;

/** How often a model is drawn: `hot` for those that together fit the memory budget, `cold` for the others. */
export interface Weights {
  hot: number;
  cold: number;
}

export interface Fixture {
  dir: string;
  store: string;
  infer: { c: InferCase; weight: number }[];
  files: { f: FileCase; mix: FileMix }[];
  large: FileCase;
  cleanup(): Promise<void>;
}

const expected = (shape: readonly number[], datatype: Expected['datatype'], bytes: Buffer): Expected => ({ shape, datatype, bytes });

/** Silero cases answered by onnxruntime-node on the original file. */
async function sileroCases(name: string, file: string, variants: number): Promise<InferCase[]> {
  const cases: InferCase[] = [];
  for (let v = 0; v < variants; v++) {
    const inputs = sileroInputs(file, 1 + (v % 2), 1000 * v + name.length);
    const direct = await runDirect(file, inputs);
    const want: Record<string, Expected> = {};
    for (const [k, t] of Object.entries(direct)) want[k] = expected(t.dims, 'FP32', tensorBytes(t));
    cases.push({ model: name, variant: `v${v}`, inputs, expected: want });
  }
  return cases;
}

/**
 * A store with Silero v4/v5/v6 (vad-legacy, vad-v5, vad-v6), two identity
 * models, two 2 MiB lookup tables and a 32 MiB raw file ("large"), closed for
 * the server to open; with the requests for each and their known answers.
 * vad-v5, table-a and the identity models are the hot ones.
 */
export async function buildFixture(w: Weights): Promise<Fixture> {
  const t = await tempStore();
  const infer: Fixture['infer'] = [];
  const files: Fixture['files'] = [];
  const add = async (name: string, file: string, mix: FileMix): Promise<void> => {
    await t.store.import(file, { name });
    files.push({ f: { model: name, path: basename(file), bytes: readFileSync(file) }, mix });
  };
  const vad = (i: number, name: string, weight: number): { name: string; file: string; weight: number } => ({ name, file: VAD_MODELS[i]!, weight });
  for (const [k, m] of [vad(0, 'vad-legacy', w.cold), vad(1, 'vad-v5', w.hot), vad(2, 'vad-v6', w.cold)].entries()) {
    await add(m.name, m.file, { download: 1, range: 1, ranges: 8, maxSpan: 256 * 1024, seed: 10 + k });
    for (const c of await sileroCases(m.name, m.file, 3)) infer.push({ c, weight: m.weight / 3 });
  }
  for (const [k, [name, width, weight]] of ([['identity-a', 3, w.hot], ['identity-b', 8, w.hot]] as const).entries()) {
    const file = join(t.dir, `${name}.onnx`);
    writeFileSync(file, identityModel(width, ['FP32', 'INT64']));
    await add(name, file, { download: 0.5, range: 0, ranges: 0, maxSpan: 0, seed: 0 });
    for (let v = 0; v < 2; v++) {
      const x: RefInput = { name: 'x_FP32', type: 'float32', dims: [2 + v, width], data: floats((2 + v) * width, 50 + 10 * k + v) };
      const ints: RefInput = { name: 'x_INT64', type: 'int64', dims: [2 + v, width], data: BigInt64Array.from({ length: (2 + v) * width }, (_, i) => BigInt(i * 7919 - 100_000)) };
      // Identity: the outputs are the inputs.
      const want = { y_FP32: expected(x.dims, 'FP32', Buffer.from(x.data.buffer)), y_INT64: expected(ints.dims, 'INT64', Buffer.from(ints.data.buffer)) };
      infer.push({ c: { model: name, variant: `v${v}`, inputs: [x, ints], expected: want }, weight: weight / 2 });
    }
  }
  for (const [k, [name, weight]] of ([['table-a', w.hot], ['table-b', w.cold]] as const).entries()) {
    const model = tableModel(32 * 1024, 16, 7 + k);
    const file = join(t.dir, `${name}.onnx`);
    writeFileSync(file, model.file);
    await add(name, file, { download: 0.5, range: 1, ranges: 8, maxSpan: 512 * 1024, seed: 20 + k });
    for (let v = 0; v < 3; v++) {
      const idx = BigInt64Array.from({ length: 4 + 4 * v }, (_, i) => BigInt((i * 4099 + v * 31) % model.rows));
      const rows = Buffer.concat([...idx].map((i) => Buffer.from(model.table.buffer, Number(i) * model.cols * 4, model.cols * 4)));
      infer.push({ c: { model: name, variant: `v${v}`, inputs: [{ name: 'idx', type: 'int64', dims: [idx.length], data: idx }], expected: { y: expected([idx.length, model.cols], 'FP32', rows) } }, weight: weight / 3 });
    }
  }
  const blob = join(t.dir, 'weights.bin');
  writeFileSync(blob, randomBytes(32 * MiB, 99));
  await add('large', blob, { download: 0.2, range: 2, ranges: 16, maxSpan: MiB, seed: 30 });
  await t.store.close();
  return { dir: t.dir, store: t.path, infer, files, large: files[files.length - 1]!.f, cleanup: t.cleanup };
}

