import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { prng } from '../helpers/store-fixtures.js';
import { binaryBody, oipInput, splitBinaryReply } from './helpers.js';
import { request } from './keep-alive-client.js';
import type { OipOutput, RefInput, Reply } from './helpers.js';
import type { Job } from './load-runner.js';

/** An output as it must come back: its shape, datatype and bytes. */
export interface Expected {
  shape: readonly number[];
  datatype: 'FP32' | 'INT64';
  bytes: Buffer;
}

/** One inference request and its known answer. */
export interface InferCase {
  model: string;
  variant: string;
  inputs: RefInput[];
  expected: Record<string, Expected>;
}

/** One stored file and its original bytes. */
export interface FileCase {
  model: string;
  path: string;
  bytes: Buffer;
}

const dataBytes = (d: RefInput['data']): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** An output of a JSON or a binary-extension response (the latter has no data). */
type Output = Omit<OipOutput, 'data'> & { data?: unknown[] };

function jsonOutputBytes(o: Output): Buffer {
  const data = (o.data ?? []) as number[];
  if (o.datatype === 'INT64') return dataBytes(BigInt64Array.from(data, (v) => BigInt(v)));
  return dataBytes(Float32Array.from(data));
}

function checkOutputs(outputs: Output[], want: Record<string, Expected>, bytesOf: (o: Output) => Buffer): void {
  assert.deepEqual(outputs.map((o) => o.name).sort(), Object.keys(want).sort());
  for (const o of outputs) {
    const w = want[o.name]!;
    assert.equal(o.datatype, w.datatype, o.name);
    assert.deepEqual(o.shape, [...w.shape], o.name);
    assert.ok(bytesOf(o).equals(w.bytes), `${o.name}: the values differ from the reference`);
  }
}

function expectStatus(r: Reply, status: number): void {
  if (r.status !== status) throw new Error(`status ${r.status}, expected ${status}: ${r.body.subarray(0, 300).toString()}`);
}

/** A JSON and a binary-extension request for the case, each checked bit for bit against the expected outputs. */
export function inferJobs(url: string, c: InferCase, weight: number): Job[] {
  const endpoint = `${url}/v2/models/${c.model}/infer`;
  const what = `${c.model} ${c.variant}`;
  const json = JSON.stringify({ inputs: c.inputs.map(oipInput) });
  const parts = c.inputs.map((i) => dataBytes(i.data));
  const binary = binaryBody({
    inputs: c.inputs.map((i, k) => ({ name: i.name, shape: i.dims, datatype: oipInput(i).datatype, parameters: { binary_data_size: parts[k]!.length } })),
    parameters: { binary_data_output: true },
  }, parts);
  return [
    {
      kind: 'infer-json', what, weight,
      run: async () => {
        const r = await request(endpoint, { method: 'POST', body: json, headers: { 'Content-Type': 'application/json' } });
        expectStatus(r, 200);
        checkOutputs(r.json<{ outputs: OipOutput[] }>().outputs, c.expected, jsonOutputBytes);
      },
    },
    {
      kind: 'infer-binary', what, weight,
      run: async () => {
        const r = await request(endpoint, { method: 'POST', body: binary.body, headers: binary.headers });
        expectStatus(r, 200);
        const { header, binary: data } = splitBinaryReply(r);
        let at = 0;
        checkOutputs(header.outputs, c.expected, (o) => {
          const size = o.parameters?.binary_data_size ?? 0;
          at += size;
          return data.subarray(at - size, at);
        });
        assert.equal(at, data.length, 'binary outputs add up to the body');
      },
    },
  ];
}

export const fileUrl = (url: string, f: FileCase): string => `${url}/v2/models/${f.model}/versions/1/files/${f.path}`;

/** Downloads the whole file and checks its SHA-256 against the original's. */
export async function checkDownload(url: string, f: FileCase): Promise<void> {
  const r = await request(fileUrl(url, f));
  expectStatus(r, 200);
  const want = createHash('sha256').update(f.bytes).digest('hex');
  assert.equal(createHash('sha256').update(r.body).digest('hex'), want, `${f.model}/${f.path}: SHA-256 of the download`);
}

/** How often a file is downloaded whole and by ranges, and the ranges asked for. */
export interface FileMix {
  download: number;
  range: number;
  /** Distinct ranges (placed by `seed`), each at most `maxSpan` bytes. */
  ranges: number;
  maxSpan: number;
  seed: number;
}

/** A full download of the file and Range requests into it, each checked against the original bytes. */
export function fileJobs(url: string, f: FileCase, mix: FileMix): Job[] {
  const what = `${f.model}/${f.path}`;
  const jobs: Job[] = mix.download > 0 ? [{ kind: 'download', what, weight: mix.download, run: () => checkDownload(url, f) }] : [];
  const r = prng(mix.seed);
  const size = f.bytes.length;
  for (let i = 0; i < mix.ranges; i++) {
    const span = 1 + (r() % Math.min(mix.maxSpan, size));
    const start = r() % (size - span + 1);
    jobs.push({
      kind: 'range', what: `${what} bytes ${start}-${start + span - 1}`, weight: mix.range / mix.ranges,
      run: async () => {
        const reply = await request(fileUrl(url, f), { headers: { Range: `bytes=${start}-${start + span - 1}` } });
        expectStatus(reply, 206);
        assert.equal(reply.headers.get('content-range'), `bytes ${start}-${start + span - 1}/${size}`);
        assert.ok(reply.body.equals(f.bytes.subarray(start, start + span)), 'the range differs from the original bytes');
      },
    });
  }
  return jobs;
}
