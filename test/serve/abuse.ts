import assert from 'node:assert/strict';
import { prng } from '../helpers/store-fixtures.js';
import { binaryBody } from './helpers.js';
import type { Reply } from './helpers.js';
import { request } from './keep-alive-client.js';
import { checkDownload, fileUrl } from './load-jobs.js';
import type { FileCase } from './load-jobs.js';
import { abortedDownload, rawExchange, stalledDownload } from './raw-http.js';

/** The server under abuse and the limits it was started with. */
export interface AbuseTarget {
  url: string;
  port: number;
  /** A model's inference endpoint path and good JSON inputs for it (the bad requests are made from them). */
  inferPath: string;
  goodInputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
  /** A large file to abort and stall downloads of. */
  large: FileCase;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  sendTimeoutMs: number;
  /** The server's resident memory now. */
  rss(): Promise<number>;
}

function expectError(r: Reply, status: number, pattern: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.body.subarray(0, 300).toString()}`);
  assert.match((JSON.parse(r.body.toString()) as { error: string }).error, pattern, what);
}

const postJson = (url: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }): Promise<Reply> =>
  request(url, { method: 'POST', body, headers });

/**
 * Bodies over --max-body from clients that send all of it before they look at
 * the answer: declared (refused before reading), then a second request on the
 * same connection, which is answered once the rest of the body has been
 * dropped; and chunked without end (refused while reading), closed once the
 * server has dropped several MiB more. Either way the client gets its 413.
 */
export async function oversizedBodies(t: Pick<AbuseTarget, 'port' | 'inferPath' | 'maxBodyBytes'>, times: number): Promise<string> {
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const head = (framing: string): string => `POST ${t.inferPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;
  const declared = Math.ceil(t.maxBodyBytes / piece.length) + 8;
  const next = 'GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
  const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  const endless = 256; // 16 MiB of chunks: more than the server drops before it closes
  const runs: Promise<void>[] = [];
  for (let i = 0; i < times; i++) {
    runs.push(rawExchange(t.port, [head(`Content-Length: ${declared * piece.length}`), ...Array<Buffer>(declared).fill(piece), next], 0, 20_000, true).then((o) => {
      assert.equal(o.status, 413, `declared oversized body: ${o.head.slice(0, 200)}`);
      assert.match(o.head, /over the limit[\s\S]*HTTP\/1\.1 200 OK/, 'the next request on the connection is answered');
      assert.equal(o.ended, 'closed');
    }));
    runs.push(rawExchange(t.port, [head('Transfer-Encoding: chunked'), ...Array<Buffer>(endless).fill(chunk)], 0, 20_000, true).then((o) => {
      assert.equal(o.status, 413, `chunked oversized body: ${o.head.slice(0, 200)}`);
      assert.match(o.head, /over the limit/);
      assert.equal(o.ended, 'closed', 'the server closes a connection whose refused body goes on and on');
    }));
  }
  await Promise.all(runs);
  return `${runs.length} oversized bodies sent whole (declared, then a request on the same connection; chunked, without end): 413`;
}

/** JSON nested far deeper than the limit, as a body and as a binary-extension header: 400 before any parsing. */
export async function deepJson(t: AbuseTarget, times: number): Promise<string> {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  const url = `${t.url}${t.inferPath}`;
  const header = Buffer.from('{"inputs":' + '['.repeat(5000) + ']'.repeat(5000) + '}');
  const runs: Promise<void>[] = [];
  for (let i = 0; i < times; i++) {
    runs.push(postJson(url, deep).then((r) => expectError(r, 400, /nested deeper than/, 'deep JSON body')));
    const binary = { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) };
    runs.push(postJson(url, Buffer.concat([header, Buffer.alloc(16)]), binary)
      .then((r) => expectError(r, 400, /nested deeper than/, 'deep binary-extension header')));
  }
  await Promise.all(runs);
  return `${runs.length} deeply nested JSON bodies and headers: 400`;
}

/** Inputs that do not fit the model: element counts, shapes, datatypes, missing inputs, binary sizes; each a 400 naming the problem. */
export async function wrongShapes(t: AbuseTarget, times: number): Promise<string> {
  const url = `${t.url}${t.inferPath}`;
  const [first, ...rest] = t.goodInputs;
  assert.ok(first, 'a model with inputs');
  const cases: [string, string | Buffer, Record<string, string> | undefined, RegExp][] = [
    ['element count', JSON.stringify({ inputs: [{ ...first, data: first.data.slice(1) }, ...rest] }), undefined, /elements, the shape/],
    ['shape', JSON.stringify({ inputs: [{ ...first, shape: [...first.shape, 1] }, ...rest] }), undefined, /shape .* does not match/],
    ['datatype', JSON.stringify({ inputs: [{ ...first, datatype: 'FP64' }, ...rest] }), undefined, /datatype FP64 does not match/],
    ['missing input', JSON.stringify({ inputs: rest }), undefined, /missing input/],
    ['not an object', '[1,2,3]', undefined, /must be a JSON object/],
  ];
  const bad = binaryBody({ inputs: [{ name: first.name, shape: first.shape, datatype: first.datatype, parameters: { binary_data_size: 3 } }] }, [Buffer.alloc(3)]);
  cases.push(['binary size', bad.body, bad.headers, /binary_data_size is 3 bytes/]);
  const runs: Promise<void>[] = [];
  for (let i = 0; i < times; i++) {
    for (const [what, body, headers, pattern] of cases) runs.push(postJson(url, body, headers).then((r) => expectError(r, 400, pattern, what)));
  }
  await Promise.all(runs);
  return `${runs.length} requests with wrong shapes, counts, datatypes or sizes: 400`;
}

/**
 * A slow client must be cut off well before it would have finished on its
 * own; how much later than the limit it may be on a busy shared machine
 * (Node checks these timeouts on a timer, and under load the server reads a
 * new connection's first bytes a second or two after they arrive).
 */
const LATE_MS = 10_000;

/** How long past --send-timeout a client that reads nothing waits before it looks: the server must have cut it off by then. */
const STALL_SLACK_MS = 6000;

/** Slowloris: headers one byte a second, never finished (it would go on for a minute). The server answers 408 and closes once --headers-timeout has passed. */
export async function slowHeaders(t: Pick<AbuseTarget, 'port' | 'headersTimeoutMs'>, clients: number): Promise<string> {
  const pieces = ['GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', ...Array<string>(60).fill('a')];
  const outcomes = await Promise.all(Array.from({ length: clients }, () => rawExchange(t.port, pieces, 1000, 70_000)));
  for (const o of outcomes) {
    assert.equal(o.ended, 'closed', 'a client sending its headers one byte a second is disconnected');
    assert.equal(o.status, 408, o.head);
    assert.ok(o.ms < t.headersTimeoutMs + LATE_MS, `disconnected after ${o.ms.toFixed(0)} ms, the headers timeout is ${t.headersTimeoutMs} ms`);
  }
  return `${clients} clients sending headers one byte a second: 408 and closed after ${outcomes.map((o) => (o.ms / 1000).toFixed(1)).join(', ')} s (headers timeout ${t.headersTimeoutMs / 1000} s)`;
}

/** A body trickled in one byte per 200 ms (it would take 200 s): 408 and closed once --request-timeout has passed. */
export async function slowBodies(t: Pick<AbuseTarget, 'port' | 'inferPath' | 'requestTimeoutMs'>, clients: number): Promise<string> {
  const head = `POST ${t.inferPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;
  const pieces = [head, ...Array<string>(999).fill(' ')];
  const outcomes = await Promise.all(Array.from({ length: clients }, () => rawExchange(t.port, pieces, 200, t.requestTimeoutMs + 2 * LATE_MS)));
  for (const o of outcomes) {
    assert.equal(o.ended, 'closed', 'a client trickling its body is disconnected');
    assert.equal(o.status, 408, o.head);
    assert.ok(o.ms < t.requestTimeoutMs + LATE_MS, `disconnected after ${o.ms.toFixed(0)} ms, the request timeout is ${t.requestTimeoutMs} ms`);
  }
  return `${clients} clients sending a body one byte per 200 ms: 408 and closed after ${outcomes.map((o) => (o.ms / 1000).toFixed(1)).join(', ')} s (request timeout ${t.requestTimeoutMs / 1000} s)`;
}

/** Downloads of the large file abandoned at random points, `parallel` at a time; then a whole download still comes back intact. */
export async function abortedDownloads(t: AbuseTarget, count: number, parallel: number, seed: number): Promise<string> {
  const r = prng(seed);
  const size = t.large.bytes.length;
  const cuts = Array.from({ length: count }, () => 64 * 1024 + (r() % Math.floor(size / 4)));
  let next = 0;
  let bytes = 0;
  const path = new URL(fileUrl(t.url, t.large)).pathname;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < cuts.length) bytes += await abortedDownload(t.port, path, cuts[next++]!);
  }));
  await checkDownload(t.url, t.large);
  return `${count} downloads of ${(size / 2 ** 20).toFixed(0)} MiB aborted after ${(bytes / count / 2 ** 20).toFixed(1)} MiB on average; a whole download afterwards: SHA-256 ok`;
}

/**
 * Clients that request the large file and never read it: the server is held
 * up by backpressure (its memory is sampled all the while, the largest kept)
 * and cuts each off after --send-timeout. They stop reading for well past
 * that, so that a server slowed down by the load still gets there first.
 */
export async function stalledDownloads(t: Pick<AbuseTarget, 'url' | 'port' | 'large' | 'sendTimeoutMs' | 'rss'>, clients: number, slackMs = STALL_SLACK_MS): Promise<{ line: string; rssWhileStuck: number }> {
  const path = new URL(fileUrl(t.url, t.large)).pathname;
  const stall = t.sendTimeoutMs + slackMs;
  let stuck = true;
  const outcomes = Promise.all(Array.from({ length: clients }, () => stalledDownload(t.port, path, t.large.bytes.length, stall, 20_000)))
    .finally(() => (stuck = false));
  let rssWhileStuck = 0;
  for (let at = performance.now(); stuck && performance.now() - at < stall; await new Promise((resolve) => setTimeout(resolve, 500))) {
    rssWhileStuck = Math.max(rssWhileStuck, await t.rss());
  }
  const done = await outcomes;
  for (const o of done) assert.ok(o.cut, `a client that read nothing for ${stall} ms got the whole file (${o.received} bytes): it was not cut off`);
  const kib = done.map((o) => (o.received / 1024).toFixed(0)).join(', ');
  return { line: `${clients} clients that never read a ${(t.large.bytes.length / 2 ** 20).toFixed(0)} MiB download: cut off by the send timeout (${t.sendTimeoutMs / 1000} s; ${kib} KiB had reached them)`, rssWhileStuck };
}

/** What the abuse came to: a line per kind, the failures, and the server's largest RSS while downloads were stuck. */
export interface AbuseReport {
  lines: string[];
  failures: string[];
  rssWhileStuck: number;
}

/**
 * Every kind of abuse at once, but for the aborted downloads, which follow the
 * clients that stop reading: so the memory sampled while those are stuck is
 * theirs and the load's, not also the aborted downloads'. A failure is
 * recorded, not thrown, so that every kind is reported.
 */
export async function runAbuse(t: AbuseTarget): Promise<AbuseReport> {
  const report: AbuseReport = { lines: [], failures: [], rssWhileStuck: 0 };
  const settle = (what: string, p: Promise<string>): Promise<void> =>
    p.then((line) => void report.lines.push(line), (e: unknown) => void report.failures.push(`${what}: ${(e as Error).message}`));
  await Promise.all([
    settle('stalled downloads', stalledDownloads(t, 4).then((s) => {
      report.rssWhileStuck = s.rssWhileStuck;
      return s.line;
    })).then(() => settle('aborted downloads', abortedDownloads(t, 40, 4, 77))),
    settle('oversized bodies', oversizedBodies(t, 4)),
    settle('deep JSON', deepJson(t, 5)),
    settle('wrong shapes', wrongShapes(t, 3)),
    settle('slow headers', slowHeaders(t, 3)),
    settle('slow bodies', slowBodies(t, 3)),
  ]);
  return report;
}
