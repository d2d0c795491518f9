import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-node';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import type { ServeOptions } from '../../src/serve/options.js';
import { sessionOptions } from '../../src/serve/runtime/onnx-runtime.js';
import type { Store } from '../../src/store/store.js';
import { VAD_MODELS, prng, tempStore } from '../helpers/store-fixtures.js';

export interface TestServer {
  server: RunningServer;
  store: Store;
  url: string;
  dir: string;
  path: string;
  close(): Promise<void>;
}

/** A fresh store with `models` imported ([name, file]) and a server on a random loopback port. */
export async function serveModels(models: [string, string][], options: Partial<ServeOptions> = {}): Promise<TestServer> {
  const t = await tempStore();
  for (const [name, file] of models) await t.store.import(file, { name });
  const server = await startServer(t.store, { port: 0, log: () => {}, ...options });
  return {
    server, store: t.store, url: server.url, dir: t.dir, path: t.path,
    close: async () => {
      await server.close();
      await t.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export async function http(url: string, init: RequestInit = {}): Promise<Reply> {
  const r = await fetch(url, init);
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, headers: r.headers, body, json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

export const postJson = (url: string, value: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  http(url, { method: 'POST', body: JSON.stringify(value), headers: { 'Content-Type': 'application/json', ...headers } });

/** Deterministic floats in [-amp, amp). */
export function floats(n: number, seed: number, amp = 1): Float32Array {
  const r = prng(seed);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (r() / 2 ** 32 - 0.5) * 2 * amp;
  return f;
}

export interface RefInput {
  name: string;
  type: 'float32' | 'int64';
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Silero inputs for a batch of `n` windows of 512 samples, with a non-zero recurrent state (the legacy model has h and c, the later ones one state). */
export function sileroInputs(file: string, n: number, seed: number): RefInput[] {
  const audio: RefInput = { name: 'input', type: 'float32', dims: [n, 512], data: floats(n * 512, seed, 0.5) };
  const sr: RefInput = { name: 'sr', type: 'int64', dims: [], data: BigInt64Array.from([16000n]) };
  if (file === VAD_MODELS[0]) {
    return [audio, sr,
      { name: 'h', type: 'float32', dims: [2, n, 64], data: floats(2 * n * 64, seed + 1, 0.1) },
      { name: 'c', type: 'float32', dims: [2, n, 64], data: floats(2 * n * 64, seed + 2, 0.1) }];
  }
  return [audio, { name: 'state', type: 'float32', dims: [2, n, 128], data: floats(2 * n * 128, seed + 1, 0.1) }, sr];
}

/** Runs the original file with onnxruntime-node directly, with the server's session options. */
export async function runDirect(file: string, inputs: RefInput[]): Promise<Record<string, Tensor>> {
  const s = await ort.InferenceSession.create(readFileSync(file), sessionOptions());
  try {
    const feeds: Record<string, Tensor> = {};
    for (const i of inputs) feeds[i.name] = new ort.Tensor(i.type, i.data, i.dims);
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** An output of an OIP inference response. */
export interface OipOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: number[];
  parameters?: { binary_data_size?: number };
}

/** FP32 JSON outputs equal, bit for bit, what onnxruntime-node gave on the original file. */
export function assertSameAsDirect(outputs: OipOutput[], direct: Record<string, { dims: readonly number[]; data: unknown }>, what: string): void {
  for (const o of outputs) {
    const ref = direct[o.name];
    assert.ok(ref, `${what}: output ${o.name} not produced directly`);
    assert.deepEqual(o.shape, [...ref.dims], `${what}: ${o.name} shape`);
    const got = Buffer.from(new Float32Array(o.data!).buffer);
    const want = Buffer.from((ref.data as Float32Array).buffer, (ref.data as Float32Array).byteOffset, (ref.data as Float32Array).byteLength);
    assert.ok(got.equals(want), `${what}: ${o.name} differs from onnxruntime-node on the original file`);
  }
}

/** The bytes of a tensor's data (for bit-for-bit comparison). */
export function tensorBytes(t: Tensor): Buffer {
  const d = t.data as Float32Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** An OIP JSON input from a reference input. */
export function oipInput(i: RefInput): { name: string; shape: number[]; datatype: string; data: (number | string)[] } {
  return {
    name: i.name, shape: i.dims, datatype: i.type === 'float32' ? 'FP32' : 'INT64',
    data: i.type === 'float32' ? Array.from(i.data as Float32Array) : Array.from(i.data as BigInt64Array, (b) => Number(b)),
  };
}

/** A binary-extension request body: JSON header then the inputs' bytes. */
export function binaryBody(header: unknown, parts: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  return {
    body: Buffer.concat([head, ...parts]),
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(head.length) },
  };
}

/** Splits a binary-extension response into its JSON header and binary part. */
export function splitBinaryReply(r: Reply): { header: { outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } }[] } & Record<string, unknown>; binary: Buffer } {
  const n = Number(r.headers.get('inference-header-content-length'));
  return { header: JSON.parse(r.body.subarray(0, n).toString('utf8')) as ReturnType<typeof splitBinaryReply>['header'], binary: r.body.subarray(n) };
}
