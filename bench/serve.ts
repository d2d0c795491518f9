/**
 * The inference server's benchmark (`npm run bench -- --serve`): latency and
 * throughput of `infer` through Tessera (a `tessera serve` child process, a
 * keep-alive loopback client) against onnxruntime-node called in-process;
 * time to the first answer from a cold store against creating a session
 * from the original file; and the cold load of a model whose chunks are
 * mostly in the decoded-chunk cache already. Tables only, no assertions.
 * Every loop is bounded in time, and all traffic stays on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import type { Tensor } from 'onnxruntime-node';
import { table } from '../src/cli/format.js';
import { demoModels } from '../src/cli/demo-models.js';
import { startServer } from '../src/serve/server.js';
import { sessionOptions } from '../src/serve/runtime/onnx-runtime.js';
import { Store } from '../src/store/store.js';
import { SEG_TENSOR } from '../src/store/format.js';
import { median, quantile } from './units.js';
import { generateSingle } from './synthetic.js';
import { measureHubDownload } from './hub-download.js';
import type { HubDownload } from './hub-download.js';

export interface ServeBenchOptions {
  repoRoot: string;
  tmp: string;
  /** Seconds per latency measurement. */
  seconds: number;
  /** Repetitions of the cold-start and cache measurements (median reported). */
  repeat: number;
  log: (s: string) => void;
}

interface LatencyRow {
  scenario: string;
  /** For tessera at concurrency 1: mean time the server spent on a request, and in onnxruntime's run, from its /metrics. */
  serverMs?: number;
  serverRunMs?: number;
  path: 'onnxruntime-node in-process' | 'tessera over HTTP' | 'tessera --instances 2' | 'bare Node HTTP (floor)';
  concurrency: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  perSecond: number;
}

interface Scenario {
  label: string;
  batch: number;
  transport: 'json' | 'binary';
}

export interface ServeBenchReport {
  model: string;
  latency: LatencyRow[];
  /** floorMs: the bare HTTP round trip with the same bodies; any HTTP server adds at least floorMs / directMs. */
  overheadAtP50: { scenario: string; directMs: number; tesseraMs: number; overhead: number; floorMs: number; floorOverhead: number }[];
  coldStart: { directMs: number[]; tesseraMs: number[]; ratio: number };
  cachedLoad: { withCache: LoadTiming; withoutCache: LoadTiming; cachedShare: number };
  loadStalls: LoadStalls;
  download: BigDownload;
  hubDownload: HubDownload;
}

/** One whole download of a big file from a fresh server: time to its first byte, its speed, and the server's memory meanwhile. */
interface BigDownload {
  bytes: number;
  firstByteMs: number;
  seconds: number;
  /**
   * The server's own resident memory (RssAnon) before the request and its
   * largest sample (every 20 ms) during it, and the same of the store's pages
   * it has mapped (RssFile: SQLite reads through mmap; page cache the kernel
   * takes back, shared with every reader of the file).
   */
  anonBeforeMiB: number;
  anonPeakMiB: number;
  fileBeforeMiB: number;
  filePeakMiB: number;
}

/** Health probes answered while models load and unload, beside the same probes with nothing loading. */
interface LoadStalls {
  loads: number;
  idle: { p50ms: number; p99ms: number; maxMs: number };
  loading: { p50ms: number; p99ms: number; maxMs: number; probes: number };
  /** The server's own event-loop delay over the loads (perf_hooks.monitorEventLoopDelay, through prom-client's metrics). */
  serverLagP99Ms: number;
  serverLagMaxMs: number;
  /** The same over the idle probes: monitorEventLoopDelay's figures include its sampling interval (prom-client's 10 ms). */
  serverIdleLagP99Ms: number;
}

interface LoadTiming {
  assembleMs: number;
  sessionMs: number;
  totalMs: number;
}

const MODEL = 'silero-vad-v5';
const VARIANT = 'silero-vad-v5-variant';

function sileroFeeds(n: number): { input: Float32Array; state: Float32Array; sr: BigInt64Array } {
  const input = new Float32Array(n * 512);
  for (let i = 0; i < input.length; i++) input[i] = 0.5 * Math.sin(i / 7) * Math.sin(i / 1000);
  return { input, state: new Float32Array(2 * n * 128), sr: BigInt64Array.from([16000n]) };
}

function ortFeeds(n: number): Record<string, Tensor> {
  const f = sileroFeeds(n);
  return {
    input: new ort.Tensor('float32', f.input, [n, 512]),
    state: new ort.Tensor('float32', f.state, [2, n, 128]),
    sr: new ort.Tensor('int64', f.sr, []),
  };
}

/** The request body and headers of one scenario. */
function inferBody(s: Scenario): { body: Buffer; headers: Record<string, string> } {
  const n = s.batch;
  const f = sileroFeeds(n);
  if (s.transport === 'json') {
    const body = JSON.stringify({
      inputs: [
        { name: 'input', shape: [n, 512], datatype: 'FP32', data: Array.from(f.input) },
        { name: 'state', shape: [2, n, 128], datatype: 'FP32', data: Array.from(f.state) },
        { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
      ],
    });
    return { body: Buffer.from(body), headers: { 'Content-Type': 'application/json' } };
  }
  const parts = [f.input, f.state, f.sr].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const head = Buffer.from(JSON.stringify({
    inputs: [
      { name: 'input', shape: [n, 512], datatype: 'FP32', parameters: { binary_data_size: parts[0]!.length } },
      { name: 'state', shape: [2, n, 128], datatype: 'FP32', parameters: { binary_data_size: parts[1]!.length } },
      { name: 'sr', shape: [], datatype: 'INT64', parameters: { binary_data_size: parts[2]!.length } },
    ],
    parameters: { binary_data_output: true },
  }));
  return {
    body: Buffer.concat([head, ...parts]),
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(head.length) },
  };
}

/** One POST on a keep-alive agent; resolves with the status once the whole response is read (and with it, when `keep`). */
function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>): Promise<number>;
function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>, keep: true): Promise<{ status: number; body: Buffer; type: string }>;
function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>, keep = false): Promise<number | { status: number; body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => void (keep && parts.push(b)));
      res.on('end', () => resolve(keep ? { status: res.statusCode ?? 0, body: Buffer.concat(parts), type: res.headers['content-type'] ?? '' } : res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The bench's floor for a scenario: bench/http-floor.ts answering every
 * request with the answer Tessera gave to it, as a child process like the
 * server. Resolves with a request function for loop() and a stop function.
 */
async function floorServer(agent: Agent, inferUrl: URL, s: Scenario, tmp: string): Promise<{ once: () => Promise<void>; stop: () => Promise<void> }> {
  const { body, headers } = inferBody(s);
  const answer = await post(agent, inferUrl, body, headers, true);
  if (answer.status !== 200) throw new Error(`infer: HTTP ${answer.status}`);
  const file = join(tmp, 'floor-answer.bin');
  writeFileSync(file, answer.body);
  const child = spawn(process.execPath, [fileURLToPath(new URL('./http-floor.js', import.meta.url)), file, answer.type], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`http-floor exited with ${code}`)));
  });
  const url = new URL(inferUrl.pathname, `http://127.0.0.1:${port}`);
  return {
    once: async () => {
      const status = await post(agent, url, body, headers);
      if (status !== 200) throw new Error(`floor: HTTP ${status}`);
    },
    stop: () => stopServer(child),
  };
}

/** One inference request of the scenario to `inferUrl`, as a function for loop(); anything but 200 fails it. */
function inferOnce(agent: Agent, inferUrl: URL, s: Scenario): () => Promise<void> {
  const { body, headers } = inferBody(s);
  return async () => {
    const status = await post(agent, inferUrl, body, headers);
    if (status !== 200) throw new Error(`infer: HTTP ${status}`);
  };
}

/** Runs `once` from `concurrency` loops until `seconds` have passed (after a short warm-up); latencies in ms. */
async function loop(seconds: number, concurrency: number, once: () => Promise<void>): Promise<{ lat: number[]; wall: number }> {
  const warm = performance.now() + 100;
  while (performance.now() < warm) await once();
  const lat: number[] = [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const a = performance.now();
      await once();
      lat.push(performance.now() - a);
    }
  }));
  return { lat: lat.sort((x, y) => x - y), wall: (performance.now() - t0) / 1000 };
}

function row(scenario: string, path: LatencyRow['path'], concurrency: number, r: { lat: number[]; wall: number }): LatencyRow {
  return { scenario, path, concurrency, requests: r.lat.length, p50ms: quantile(r.lat, 0.5), p99ms: quantile(r.lat, 0.99), perSecond: r.lat.length / r.wall };
}

/** One request; resolves with its status and body once it is read whole. */
function call(agent: Agent | undefined, url: URL, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sums and counts of the server's request and inference histograms (for means over an interval). */
async function serverTotals(agent: Agent, url: URL): Promise<{ reqSum: number; reqCount: number; runSum: number; runCount: number }> {
  const text = (await call(agent, url, 'GET', '/metrics')).body;
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  return {
    reqSum: num(/^tessera_http_request_duration_seconds_sum\{method="POST",route="infer"\} (\S+)$/m),
    reqCount: num(/^tessera_http_request_duration_seconds_count\{method="POST",route="infer"\} (\S+)$/m),
    runSum: num(new RegExp(`^tessera_inference_duration_seconds_sum\\{model="${MODEL}:1"\\} (\\S+)$`, 'm')),
    runCount: num(new RegExp(`^tessera_inference_duration_seconds_count\\{model="${MODEL}:1"\\} (\\S+)$`, 'm')),
  };
}

/** Starts `tessera serve` on the store and resolves with its URL. */
function spawnServer(repoRoot: string, store: string, extra: string[] = []): Promise<{ child: ChildProcess; url: URL }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/tessera.js'), 'serve', '--store', store, '--port', '0', '--host', '127.0.0.1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 64 << 10) err += b.toString();
    });
    child.stdout!.on('data', (b: Buffer) => {
      // Bounded: the access log writes a line per request here.
      if (out.length < 64 << 10) out += b.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: new URL(m[1]!) });
    });
    child.once('exit', (code) => reject(new Error(`tessera serve exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error('tessera serve did not start within 30 s')), 30_000).unref();
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A copy of the model with a few bytes of its largest tensor changed: a "fine-tune" sharing every other chunk. */
async function makeVariant(store: Store, original: string, out: string): Promise<void> {
  const model = await store.resolve({ name: MODEL });
  const [file] = await store.files(model);
  const tensors = (await store.segments(file!)).filter((s) => s.kind === SEG_TENSOR).sort((a, b) => b.length - a.length);
  const t = tensors[0]!;
  const bytes = readFileSync(original);
  for (let i = 0; i < 64; i++) bytes[t.fileOffset + (t.length >> 1) + i] ^= 0x01;
  writeFileSync(out, bytes);
}

async function measureLoad(storePath: string, chunkCacheBytes: number): Promise<LoadTiming & { cachedBytes: number; size: number }> {
  const store = await Store.open(storePath);
  const server = await startServer(store, { port: 0, chunkCacheBytes, log: () => {} });
  try {
    const load = async (name: string): Promise<void> => {
      const { status } = await call(undefined, new URL(server.url), 'POST', `/v2/repository/models/${name}/load`);
      if (status !== 200) throw new Error(`loading ${name}: HTTP ${status}`);
    };
    await load(MODEL);
    const t0 = performance.now();
    await load(VARIANT);
    const totalMs = performance.now() - t0;
    const rec = server.context.models.loads.at(-1)!;
    const v = server.context.catalog.find(VARIANT)!;
    return { assembleMs: rec.assembleMs, sessionMs: rec.sessionMs, totalMs, cachedBytes: rec.stats.cachedBytes, size: v.files[0]!.size };
  } finally {
    await server.close();
    await store.close();
  }
}

/**
 * How long a server keeps other requests waiting while it loads models: a
 * client asks GET /v2/health/live one request after another while another
 * loads and unloads every model `cycles` times; the same probes with nothing
 * loading give the baseline. The server's own event-loop delay over the loads
 * comes from its /metrics (prom-client resets it at every scrape).
 */
async function measureLoadStalls(url: URL, models: string[], cycles: number): Promise<LoadStalls> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const probe = async (until: () => boolean): Promise<number[]> => {
    const lat: number[] = [];
    while (!until()) {
      const t0 = performance.now();
      const r = await call(agent, url, 'GET', '/v2/health/live');
      if (r.status !== 200) throw new Error(`health probe: HTTP ${r.status}`);
      lat.push(performance.now() - t0);
    }
    return lat.sort((x, y) => x - y);
  };
  const summary = (lat: number[]): { p50ms: number; p99ms: number; maxMs: number } => ({ p50ms: quantile(lat, 0.5), p99ms: quantile(lat, 0.99), maxMs: lat.at(-1) ?? 0 });
  try {
    const lag = (metrics: string, name: string): number => 1000 * Number(new RegExp(`^tessera_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
    await call(agent, url, 'GET', '/metrics');
    const idleEnd = performance.now() + 1000;
    const idle = await probe(() => performance.now() > idleEnd);
    const idleLag = lag((await call(agent, url, 'GET', '/metrics')).body, 'p99');
    let done = false;
    let loads = 0;
    const loader = (async () => {
      for (let c = 0; c < cycles; c++) {
        for (const m of models) {
          const r = await call(agent, url, 'POST', `/v2/repository/models/${m}/load`);
          if (r.status !== 200) throw new Error(`loading ${m}: HTTP ${r.status} ${r.body}`);
          loads++;
          await call(agent, url, 'POST', `/v2/repository/models/${m}/unload`);
        }
      }
    })().finally(() => (done = true));
    const [lat] = await Promise.all([probe(() => done), loader]);
    const metrics = (await call(agent, url, 'GET', '/metrics')).body;
    return { loads, idle: summary(idle), loading: { ...summary(lat), probes: lat.length }, serverLagP99Ms: lag(metrics, 'p99'), serverLagMaxMs: lag(metrics, 'max'), serverIdleLagP99Ms: idleLag };
  } finally {
    agent.destroy();
  }
}

/** The resident memory of process `pid` in MiB, its own (anonymous) and mapped from files (Linux /proc). */
function rssMiB(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Downloads `path` whole from a `tessera serve` child, sampling the child's memory every 20 ms. */
async function measureDownload(child: ChildProcess, url: URL, path: string): Promise<BigDownload> {
  const pid = child.pid!;
  const before = rssMiB(pid);
  const peak = { ...before };
  const sampler = setInterval(() => {
    const now = rssMiB(pid);
    peak.anon = Math.max(peak.anon, now.anon);
    peak.file = Math.max(peak.file, now.file);
  }, 20);
  try {
    const t0 = performance.now();
    let firstByteMs = 0;
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`download: HTTP ${res.statusCode}`));
        res.on('data', (b: Buffer) => {
          if (bytes === 0) firstByteMs = performance.now() - t0;
          bytes += b.length;
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    return { bytes, firstByteMs, seconds: (performance.now() - t0) / 1000, anonBeforeMiB: before.anon, anonPeakMiB: peak.anon, fileBeforeMiB: before.file, filePeakMiB: peak.file };
  } finally {
    clearInterval(sampler);
  }
}

const ms = (x: number): string => x.toFixed(x < 10 ? 3 : 1);

export async function benchServe(opts: ServeBenchOptions): Promise<{ text: string; report: ServeBenchReport }> {
  const { log } = opts;
  const storePath = join(opts.tmp, 'serve-bench.db');
  // The ONNX demo models (the serving bench needs nothing else).
  const demo = demoModels().filter((m) => m.path.endsWith('.onnx'));
  const original = demo.find((m) => m.name === MODEL)!.path;
  const variantFile = join(opts.tmp, 'silero_vad_v5_variant.onnx');
  {
    const store = await Store.open(storePath);
    for (const m of demo) await store.import(m.path, { name: m.name });
    await makeVariant(store, original, variantFile);
    await store.import(variantFile, { name: VARIANT });
    await store.close();
  }
  copyFileSync(original, join(opts.tmp, 'original.onnx'));

  // 1. Latency and throughput: in-process onnxruntime-node vs Tessera over HTTP. The two alternate in
  //    short slices, so that load from elsewhere on the machine falls on both alike.
  const scenarios: Scenario[] = [
    { label: 'batch 1, JSON', batch: 1, transport: 'json' },
    { label: 'batch 16, binary', batch: 16, transport: 'binary' },
    { label: 'batch 32, binary', batch: 32, transport: 'binary' },
    { label: 'batch 64, binary', batch: 64, transport: 'binary' },
    { label: 'batch 32, JSON', batch: 32, transport: 'json' },
  ];
  const ROUNDS = 6;
  const latency: LatencyRow[] = [];
  const session = await ort.InferenceSession.create(original, sessionOptions());
  const { child, url } = await spawnServer(opts.repoRoot, storePath);
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const inferUrl = new URL(`/v2/models/${MODEL}/infer`, url);
    for (const s of scenarios) {
      log(`${s.label}: onnxruntime-node and tessera, ${ROUNDS} alternating rounds …`);
      const feeds = ortFeeds(s.batch);
      const viaHttp = inferOnce(agent, inferUrl, s);
      const floor = await floorServer(agent, inferUrl, s, opts.tmp);
      const direct = { lat: [] as number[], wall: 0 };
      const tessera = { lat: [] as number[], wall: 0 };
      const bare = { lat: [] as number[], wall: 0 };
      let reqMs = 0;
      let runMs = 0;
      let reqN = 0;
      let runN = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const d = await loop(opts.seconds / ROUNDS, 1, async () => void (await session.run(feeds)));
        direct.lat.push(...d.lat);
        direct.wall += d.wall;
        // The warm-up requests count in the server's means too; they are the same requests.
        const before = await serverTotals(agent, url);
        const t = await loop(opts.seconds / ROUNDS, 1, viaHttp);
        const after = await serverTotals(agent, url);
        tessera.lat.push(...t.lat);
        tessera.wall += t.wall;
        reqMs += 1000 * (after.reqSum - before.reqSum);
        reqN += after.reqCount - before.reqCount;
        runMs += 1000 * (after.runSum - before.runSum);
        runN += after.runCount - before.runCount;
        const f = await loop(opts.seconds / ROUNDS / 2, 1, floor.once);
        bare.lat.push(...f.lat);
        bare.wall += f.wall;
      }
      await floor.stop();
      for (const x of [direct, tessera, bare]) x.lat.sort((a, b) => a - b);
      latency.push(row(s.label, 'onnxruntime-node in-process', 1, direct),
        { ...row(s.label, 'tessera over HTTP', 1, tessera), serverMs: reqMs / reqN, serverRunMs: runMs / runN },
        row(s.label, 'bare Node HTTP (floor)', 1, bare));
      latency.push(row(s.label, 'tessera over HTTP', 4, await loop(opts.seconds / 2, 4, viaHttp)));
    }
    agent.destroy();
  } finally {
    await stopServer(child);
    await session.release();
  }
  // The same at concurrency 4 with two sessions of the model, one per runtime thread.
  {
    const two = await spawnServer(opts.repoRoot, storePath, ['--instances', '2']);
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const inferUrl = new URL(`/v2/models/${MODEL}/infer`, two.url);
      for (const s of scenarios) {
        log(`${s.label}: tessera --instances 2 at concurrency 4 …`);
        latency.push(row(s.label, 'tessera --instances 2', 4, await loop(opts.seconds / 2, 4, inferOnce(agent, inferUrl, s))));
      }
      agent.destroy();
    } finally {
      await stopServer(two.child);
    }
  }
  const overheadAtP50 = scenarios.map((s) => {
    const d = latency.find((r) => r.scenario === s.label && r.path === 'onnxruntime-node in-process')!;
    const t = latency.find((r) => r.scenario === s.label && r.path === 'tessera over HTTP' && r.concurrency === 1)!;
    const f = latency.find((r) => r.scenario === s.label && r.path === 'bare Node HTTP (floor)')!;
    return { scenario: s.label, directMs: d.p50ms, tesseraMs: t.p50ms, overhead: t.p50ms / d.p50ms - 1, floorMs: f.p50ms, floorOverhead: f.p50ms / d.p50ms };
  });

  // 2. Time to the first answer: a server on a freshly opened store (nothing loaded, no chunk cached)
  //    vs creating a session from the original file on disk and running it once.
  const directMs: number[] = [];
  const tesseraMs: number[] = [];
  const { body: firstBody, headers: firstHeaders } = inferBody(scenarios[0]!);
  const firstFeeds = ortFeeds(1);
  for (let i = 0; i < opts.repeat; i++) {
    log(`cold start ${i + 1}/${opts.repeat} …`);
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(join(opts.tmp, 'original.onnx'), sessionOptions());
    await s.run(firstFeeds);
    directMs.push(performance.now() - t0);
    await s.release();
    const store = await Store.open(storePath);
    const server = await startServer(store, { port: 0, log: () => {} });
    const agent = new Agent({ keepAlive: true });
    const t1 = performance.now();
    const status = await post(agent, new URL(`/v2/models/${MODEL}/infer`, server.url), firstBody, firstHeaders);
    tesseraMs.push(performance.now() - t1);
    agent.destroy();
    await server.close();
    await store.close();
    if (status !== 200) throw new Error(`first answer: HTTP ${status}`);
  }
  const coldStart = { directMs, tesseraMs, ratio: median(tesseraMs) / median(directMs) };

  // 3. Cold load of a model whose chunks are mostly cached (the base is loaded) vs the same with no chunk cache.
  const withC: (LoadTiming & { cachedBytes: number; size: number })[] = [];
  const withoutC: (LoadTiming & { cachedBytes: number; size: number })[] = [];
  for (let i = 0; i < opts.repeat; i++) {
    log(`cached load ${i + 1}/${opts.repeat} …`);
    withC.push(await measureLoad(storePath, 256 << 20));
    withoutC.push(await measureLoad(storePath, 0));
  }
  const med = (xs: LoadTiming[]): LoadTiming => ({
    assembleMs: median(xs.map((x) => x.assembleMs)), sessionMs: median(xs.map((x) => x.sessionMs)), totalMs: median(xs.map((x) => x.totalMs)),
  });
  const cachedLoad = { withCache: med(withC), withoutCache: med(withoutC), cachedShare: withC[0]!.cachedBytes / withC[0]!.size };

  // 4. Other requests while models load.
  log('health probes while models load …');
  let loadStalls: LoadStalls;
  {
    const srv = await spawnServer(opts.repoRoot, storePath);
    try {
      loadStalls = await measureLoadStalls(srv.url, [...demo.map((m) => m.name), VARIANT], 5);
    } finally {
      await stopServer(srv.child);
    }
  }

  // 5. A 1 GiB download from a fresh server: first byte, speed, memory.
  log('a 1 GiB download …');
  const bigDir = join(opts.tmp, 'big');
  mkdirSync(bigDir, { recursive: true });
  const big = generateSingle(bigDir, 1 << 30).models[0]!;
  {
    const store = await Store.open(storePath);
    await store.import(big.abs, { name: 'big-1g' });
    await store.close();
  }
  rmSync(bigDir, { recursive: true, force: true });
  let download: BigDownload;
  {
    const srv = await spawnServer(opts.repoRoot, storePath);
    try {
      download = await measureDownload(srv.child, srv.url, `/v2/models/big-1g/files/${encodeURIComponent(basename(big.abs))}`);
    } finally {
      await stopServer(srv.child);
    }
  }
  // 6. The same model through the Hugging Face Hub API: @huggingface/hub's snapshotDownload beside a plain GET.
  log('a 1 GiB snapshot download through the Hub API …');
  let hubDownload: HubDownload;
  {
    const srv = await spawnServer(opts.repoRoot, storePath);
    try {
      hubDownload = await measureHubDownload(srv.url, 'big-1g', `/v2/models/big-1g/files/${encodeURIComponent(basename(big.abs))}`, download.bytes, opts.tmp, opts.repeat);
    } finally {
      await stopServer(srv.child);
    }
  }

  const report: ServeBenchReport = { model: MODEL, latency, overheadAtP50, coldStart, cachedLoad, loadStalls, download, hubDownload };
  const lines: string[] = [];
  lines.push(`inference: ${MODEL} (Silero VAD v5, 2.3 MB ONNX); per scenario ${opts.seconds} s of each path at concurrency 1, in ${ROUNDS} alternating rounds`);
  lines.push('(0.1 s warm-up each), then tessera at concurrency 4; HTTP/1.1 keep-alive on 127.0.0.1; tessera is a `tessera serve` child process');
  lines.push('with default options (one session per model), and with --instances 2 (two, one per runtime thread) at concurrency 4;');
  lines.push('binary = the binary tensor data extension both ways; latencies in ms');
  lines.push(table(['scenario', 'path', '>concurrency', '>requests', '>p50 ms', '>p99 ms', '>req/s', '>server: request ms', '>of which run ms'],
    latency.map((r) => [r.scenario, r.path, r.concurrency, r.requests, ms(r.p50ms), ms(r.p99ms), r.perSecond.toFixed(0),
      r.serverMs !== undefined ? ms(r.serverMs) : '', r.serverRunMs !== undefined ? ms(r.serverRunMs) : ''])));
  lines.push('("server": means from the server\'s own /metrics over the same requests: time from the request\'s headers to the response handed');
  lines.push(' to the socket, and the part of it inside onnxruntime\'s run; the rest of the client\'s latency is loopback TCP and scheduling)');
  lines.push('');
  lines.push(table(['scenario', '>direct p50 ms', '>tessera p50 ms', '>overhead', '>bare HTTP p50 ms', '>floor'],
    overheadAtP50.map((o) => [o.scenario, ms(o.directMs), ms(o.tesseraMs), `${(100 * o.overhead).toFixed(1)}%`, ms(o.floorMs), `${(100 * o.floorOverhead).toFixed(1)}%`])));
  lines.push('(target: overhead <= 10% at p50 for a model whose inference takes >= 1 ms: batch 16 and up. bare HTTP: the same requests to a');
  lines.push(' Node server that only reads the body and sends back the answer Tessera gave (bench/http-floor.ts), alternated with the other two;');
  lines.push(' floor = its round trip / direct p50: what any HTTP server on this machine adds before it does any work)');
  lines.push('');
  lines.push(`time to first answer (median of ${opts.repeat}): session from the original file on disk + first run ${ms(median(directMs))} ms;`);
  lines.push(`tessera from a cold store (fresh server, nothing loaded or cached: HTTP + reconstruct + SHA-256 + session + run) ${ms(median(tesseraMs))} ms: ${coldStart.ratio.toFixed(2)}x (target <= 1.2x)`);
  lines.push('');
  lines.push(`cold load of ${VARIANT} (the base with 64 bytes of its largest tensor changed: ${(100 * cachedLoad.cachedShare).toFixed(1)}% of its bytes come from the chunk cache once ${MODEL} is loaded; median of ${opts.repeat})`);
  lines.push(table(['chunk cache', '>reconstruct ms', '>session ms', '>load request ms'], [
    ['256 MiB (base loaded first)', ms(cachedLoad.withCache.assembleMs), ms(cachedLoad.withCache.sessionMs), ms(cachedLoad.withCache.totalMs)],
    ['off (--chunk-cache 0)', ms(cachedLoad.withoutCache.assembleMs), ms(cachedLoad.withoutCache.sessionMs), ms(cachedLoad.withoutCache.totalMs)],
  ]));
  lines.push('');
  const st = loadStalls;
  lines.push(`other requests while models load: GET /v2/health/live one after another while a second client loads and unloads the ${demo.length + 1} ONNX models`);
  lines.push(`5 times (${st.loads} loads); server event-loop delay from its own /metrics (perf_hooks.monitorEventLoopDelay) over the loads`);
  lines.push(table(['probes', '>count', '>p50 ms', '>p99 ms', '>max ms'], [
    ['nothing loading', '', ms(st.idle.p50ms), ms(st.idle.p99ms), ms(st.idle.maxMs)],
    ['while models load', st.loading.probes, ms(st.loading.p50ms), ms(st.loading.p99ms), ms(st.loading.maxMs)],
  ]));
  lines.push(`server event-loop delay during the loads: p99 ${ms(st.serverLagP99Ms)} ms, max ${ms(st.serverLagMaxMs)} ms (target: p99 <= 20 ms); idle, the same monitor reads`);
  lines.push(`p99 ${ms(st.serverIdleLagP99Ms)} ms: its figures include its 10 ms sampling interval`);
  lines.push('');
  const d = download;
  lines.push(`a ${(d.bytes / 1e6).toFixed(1)} MB safetensors file downloaded whole from a fresh server (GET …/files/PATH, SHA-256 checked as it goes): first byte after`);
  lines.push(`${ms(d.firstByteMs)} ms, all of it in ${d.seconds.toFixed(2)} s (${(d.bytes / 1e6 / d.seconds).toFixed(0)} MB/s); the server's own memory (RssAnon) ${d.anonBeforeMiB.toFixed(0)} MiB before, at most`);
  lines.push(`${d.anonPeakMiB.toFixed(0)} MiB during it: +${(d.anonPeakMiB - d.anonBeforeMiB).toFixed(0)} MiB (target: < 100 MiB); the store's pages SQLite maps (RssFile, page cache the kernel`);
  lines.push(`reclaims) ${d.fileBeforeMiB.toFixed(0)} -> ${d.filePeakMiB.toFixed(0)} MiB`);
  lines.push('');
  const hd = hubDownload;
  const speed = (s: number[]): string => `${median(s).toFixed(2)} s (${(hd.bytes / 1e6 / median(s)).toFixed(0)} MB/s)`;
  lines.push(`the same file written to disk, median of ${hd.plainS.length} alternating rounds: GET …/files/PATH ${speed(hd.plainS)}; @huggingface/hub snapshotDownload`);
  lines.push(`of repo big-1g into an empty cache directory (model info, tree, paths-info, GET /big-1g/resolve/COMMIT/PATH) ${speed(hd.snapshotS)}:`);
  lines.push(`${(100 * hd.ratio).toFixed(0)}% of the plain speed (target: >= 80%)`);
  return { text: lines.join('\n'), report };
}
