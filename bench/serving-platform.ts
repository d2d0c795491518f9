/**
 * The serving platform's benchmark (`npm run bench -- --platform`): what
 * dynamic batching, ensembles and the bounded queue do for a small model
 * served over HTTP, on the trained-digits MLP (../shared/corpus, relative to
 * the repository root; skipped with a note when it is absent), one real
 * evaluation row per request, binary tensor data extension both ways.
 *
 *  1. Requests/s and p50/p99 latency at 1, 8, 32 and 64 keep-alive clients,
 *     with dynamic batching (max_batch_size 64, max_queue_delay 0) and
 *     without (max_batch_size 0): one `tessera serve` child, its MLP's
 *     configuration switched by PUT between runs, the two alternating at each
 *     point in rounds (medians reported), the load from `wrk` when it is
 *     installed, else from a Node child (bench/platform-load.ts).
 *  2. An ensemble (the MLP, then a Softmax model the bench writes) against
 *     the MLP and the Softmax each asked separately, one client, in turn.
 *  3. Bursts of 10x the MLP's max_queue_size at once: every request answered
 *     (200 or 429 with Retry-After), the server's memory before and after.
 *
 * The server and the load generator are child processes: this process waits
 * while they work. Tables only, no assertions; all traffic on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../src/cli/format.js';
import { Store } from '../src/store/store.js';
import { readNpyF32 } from './npy.js';
import { softmaxModel } from './onnx-softmax.js';
import type { BurstResult, ClosedResult, LoadJob, LoadTarget, SequenceResult } from './platform-load.js';
import { run, version, which } from './proc.js';
import { median } from './units.js';

export interface PlatformBenchOptions {
  repoRoot: string;
  tmp: string;
  /** Rounds of the throughput measurement (at least 3). */
  rounds: number;
  log: (s: string) => void;
}

const MLP = 'digits-mlp';
const SOFTMAX = 'softmax';
const ENSEMBLE = 'digits-ensemble';
/** The MLP's key in the server's metrics. */
const MLP_KEY = `${MLP}:1`;
const CORPUS_MLP = '../shared/corpus/trained-digits/mlp/base-ckpt3.onnx';
const CORPUS_ROWS = '../shared/corpus/trained-digits/eval/digits-x.npy';

const CONCURRENCY = [1, 8, 32, 64];
/** Seconds of warm-up before, and of measurement at, each point (wrk takes whole seconds). */
const WARMUP_S = 1;
/** Part 1b: each client's pause after an answer, ms (offered load about 32 / (pause + latency)). */
const THINK_MS = [5, 20];
const POINT_S = 2;
const BATCHED = { max_batch_size: 64, max_queue_delay_microseconds: 0, max_queue_size: 128 };
const UNBATCHED = { max_batch_size: 0, max_queue_delay_microseconds: 0, max_queue_size: 128 };
/** Server flags, the same for every part: the burst opens 320 connections at once, more than the default --max-connections (256). */
const SERVER_FLAGS = ['--max-connections', '1024'];
const ENSEMBLE_WARMUP = 50;
const ENSEMBLE_ROUNDS = 400;
const BURST_QUEUE = 32;
const BURST_COUNT = 10 * BURST_QUEUE;
const BURSTS = 5;
const TARGETS = { batchingSpeedupAt32: 3, ensembleVsSum: 1.1, rssFlat: 0.1 };

/** One measured run of part 1. */
interface Point {
  round: number;
  batched: boolean;
  concurrency: number;
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** From the server's /metrics over the run: requests per onnxruntime run, and the mean run time. */
  requestsPerRun: number;
  runMs: number;
  /** The server's queue wait, 99th percentile (bucket bound of its histogram), ms. */
  waitP99Ms: number;
  /** Answers that were not 200 (wrk: status >= 400; node: anything else), and socket errors/timeouts. */
  non200: number;
  socketErrors: number;
  /**
   * The server's CPU over the measured run per request answered, in µs: its
   * main thread (the event loop: HTTP, parsing, scheduling, encoding) and
   * its other threads (the runtime thread running onnxruntime, V8's GC
   * helpers, libuv's pool); and the cores it kept busy on average.
   */
  mainCpuUs: number;
  otherCpuUs: number;
  serverCores: number;
  /** Cores the load generator kept busy (its CPU time over the run's wall time). */
  clientCores: number;
  /** Cores busy on the whole machine meanwhile (/proc/stat): the server, the client, and whatever else runs there. */
  machineCores: number;
}

/** The medians of one side (with or without batching) at one concurrency. */
interface Side {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  runMs: number;
  /** The server's queue wait, 99th percentile (bucket bound of its histogram), ms. */
  waitP99Ms: number;
  requestsPerRun: number;
  mainCpuUs: number;
  otherCpuUs: number;
  serverCores: number;
  clientCores: number;
  machineCores: number;
}

interface PointSummary {
  concurrency: number;
  without: Side;
  with: Side;
  /** Median requests/s with batching over the median without. */
  ratio: number;
  /** min-max of requests/s over the rounds, to show the noise. */
  withRange: [number, number];
  withoutRange: [number, number];
}

export interface PlatformReport {
  skipped?: string;
  model?: string;
  serverFlags?: string[];
  client?: string;
  correctness?: { rows: number; maxAbsDiffEnsembleVsSoftmax: number; maxAbsDiffVsJs: number };
  throughput?: {
    rounds: number;
    points: Point[];
    summary: PointSummary[];
    /** Answers by status over every run of part 1 (warm-ups included), from the server's metrics. */
    serverStatuses: Record<string, number>;
    socketErrors: number;
    target: {
      speedupAt32: number; speedupOk: boolean; p99At32Ms: number; boundMs: number; batchRunMs: number; queueDelayMs: number; p99Ok: boolean;
      /** In the server: the queue wait's p99 (its histogram's bucket bound) plus the batch's run. */
      serverP99Ms: number; serverP99Ok: boolean;
    };
  };
  /** Part 1b: the batched MLP at 32 clients that pause between requests (wrk only). */
  belowSaturation?: {
    thinkMs: number;
    perSecond: number;
    p50Ms: number;
    p99Ms: number;
    waitP99Ms: number;
    runMs: number;
    boundMs: number;
    ok: boolean;
  }[];
  ensemble?: {
    rounds: number;
    rows: { label: string; requests: number; p50Ms: number; p99Ms: number; statuses: Record<string, number> }[];
    ratio: number;
    ok: boolean;
    errors: Record<string, number>;
  };
  burst?: {
    queueSize: number;
    count: number;
    bursts: BurstResult[];
    rssMiB: { before: number; after: number[] };
    /** Last burst's RSS over the first's, minus 1. */
    rssGrowth: number;
    everyAnswered: boolean;
  };
}

const out2 = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const ms = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(x < 10 ? 3 : 1));

// ---------------------------------------------------------------- requests

/** A request body in the binary tensor data extension: one FP32 input, binary outputs asked for. */
function binaryBody(input: string, shape: number[], data: Float32Array): { body: Buffer; jsonLength: number } {
  const bin = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const head = Buffer.from(JSON.stringify({
    inputs: [{ name: input, shape, datatype: 'FP32', parameters: { binary_data_size: bin.length } }],
    parameters: { binary_data_output: true },
  }));
  return { body: Buffer.concat([head, bin]), jsonLength: head.length };
}

/** Writes one body per row ([1, cols] each) to a file, for the load generators. */
function writeTarget(file: string, label: string, path: string, input: string, rows: Float32Array, cols: number): LoadTarget {
  const n = rows.length / cols;
  const parts: Buffer[] = [];
  let jsonLength = -1;
  for (let i = 0; i < n; i++) {
    const b = binaryBody(input, [1, cols], rows.slice(i * cols, (i + 1) * cols));
    if (jsonLength >= 0 && (b.jsonLength !== jsonLength || b.body.length !== parts[0]!.length)) throw new Error('request bodies differ in length');
    jsonLength = b.jsonLength;
    parts.push(b.body);
  }
  writeFileSync(file, Buffer.concat(parts));
  return { label, path, bodiesFile: file, bodyLength: parts[0]!.length, jsonLength };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request from this process (setup, configuration, metrics: never timed). */
function call(agent: Agent, port: number, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const b = body === undefined ? undefined : Buffer.from(body);
    const req = request({ agent, host: '127.0.0.1', port, method, path, headers: { ...headers, ...(b ? { 'Content-Length': String(b.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(b);
  });
}

/** The FP32 outputs of a binary-extension answer, by name. */
function decodeOutputs(a: Answer): Map<string, { shape: number[]; data: Float32Array }> {
  if (a.status !== 200) throw new Error(`infer: HTTP ${a.status}: ${a.body.toString('utf8', 0, 300)}`);
  const hl = Number(a.headers['inference-header-content-length'] ?? a.body.length);
  const head = JSON.parse(a.body.toString('utf8', 0, hl)) as { outputs: { name: string; datatype: string; shape: number[]; parameters?: { binary_data_size?: number } }[] };
  const outs = new Map<string, { shape: number[]; data: Float32Array }>();
  let at = hl;
  for (const o of head.outputs) {
    const size = o.parameters?.binary_data_size;
    if (o.datatype !== 'FP32' || size === undefined) throw new Error(`output ${o.name}: expected binary FP32 data`);
    const bytes = Buffer.from(a.body.subarray(at, at + size));
    outs.set(o.name, { shape: o.shape, data: new Float32Array(bytes.buffer, bytes.byteOffset, size / 4) });
    at += size;
  }
  return outs;
}

function softmaxRows(x: Float32Array, cols: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]!);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c]! - max);
    for (let c = 0; c < cols; c++) y[r * cols + c] = Math.exp(x[r * cols + c]! - max) / sum;
  }
  return y;
}

// ---------------------------------------------------------------- the server

function spawnServer(repoRoot: string, store: string, extra: string[]): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/tessera.js'), 'serve', '--store', store, '--port', '0', '--host', '127.0.0.1', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    // Bounded: a server that logs a line per failed request must not grow this process.
    if (err.length < 64 << 10) err += b.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      if (out.length < 64 << 10) out += b.toString();
      const m = /at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`tessera serve exited with ${code}: ${err}`)));
    setTimeout(() => reject(new Error('tessera serve did not start within 30 s')), 30_000).unref();
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The resident memory of a process in MiB (Linux /proc: VmRSS). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Milliseconds per clock tick of /proc's CPU times (USER_HZ: 100 on Linux nearly always). */
async function clockTick(): Promise<number> {
  try {
    const hz = Number((await run('getconf', ['CLK_TCK'])).stdout.trim());
    return hz > 0 ? 1000 / hz : 10;
  } catch {
    return 10;
  }
}

/** CPU time (user + system) of a process's main thread and of its other threads, in ms (Linux /proc/PID/task). */
function threadCpuMs(pid: number, tickMs: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended meanwhile
    }
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(f[11]) + Number(f[12])) * tickMs;
    if (Number(tid) === pid) main += ms;
    else other += ms;
  }
  return { main, other };
}

/** CPU time every core of the machine has spent busy (not idle or waiting for I/O) since boot, in ms (/proc/stat). */
function machineBusyMs(tickMs: number): number {
  const cpu = /^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) * tickMs;
}

interface MetricLine {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): MetricLine[] {
  const lines: MetricLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    lines.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return lines;
}

/** The MLP's counters that part 1 reads, at one moment. */
interface Snap {
  batchReqSum: number;
  batchReqCount: number;
  runSum: number;
  runCount: number;
  statuses: Record<string, number>;
  /** tessera_queue_wait_seconds buckets: upper bound (s) -> requests that waited at most that long (cumulative). */
  waitBuckets: Map<number, number>;
}

/** The 99th percentile of the waits between two snapshots, as the histogram can tell it: the upper bound of its bucket (ms). */
function waitP99Ms(a: Snap, b: Snap): number {
  const bounds = [...b.waitBuckets.keys()].sort((x, y) => x - y);
  const total = (b.waitBuckets.get(Infinity) ?? 0) - (a.waitBuckets.get(Infinity) ?? 0);
  for (const le of bounds) {
    if ((b.waitBuckets.get(le) ?? 0) - (a.waitBuckets.get(le) ?? 0) >= 0.99 * total) return le * 1000;
  }
  return Number.NaN;
}

async function snap(agent: Agent, port: number): Promise<Snap> {
  const a = await call(agent, port, 'GET', '/metrics');
  if (a.status !== 200) throw new Error(`/metrics: HTTP ${a.status}`);
  const lines = parseMetrics(a.body.toString('utf8')).filter((l) => l.labels.model === MLP_KEY);
  const one = (name: string): number => lines.find((l) => l.name === name)?.value ?? 0;
  const statuses: Record<string, number> = {};
  for (const l of lines) if (l.name === 'tessera_inference_requests_total') statuses[l.labels.status ?? '?'] = l.value;
  const waitBuckets = new Map<number, number>();
  for (const l of lines) if (l.name === 'tessera_queue_wait_seconds_bucket') waitBuckets.set(l.labels.le === '+Inf' ? Infinity : Number(l.labels.le), l.value);
  return {
    waitBuckets,
    batchReqSum: one('tessera_batch_requests_sum'), batchReqCount: one('tessera_batch_requests_count'),
    runSum: one('tessera_inference_duration_seconds_sum'), runCount: one('tessera_inference_duration_seconds_count'), statuses,
  };
}

function statusDiff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const n = (b[k] ?? 0) - (a[k] ?? 0);
    if (n !== 0) d[k] = n;
  }
  return d;
}

async function configure(agent: Agent, port: number, name: string, config: Record<string, number>): Promise<void> {
  const a = await call(agent, port, 'PUT', `/v2/repository/models/${name}/config`, JSON.stringify(config), { 'Content-Type': 'application/json' });
  if (a.status !== 200) throw new Error(`PUT config of ${name}: HTTP ${a.status}: ${a.body.toString('utf8', 0, 300)}`);
  const effective = (JSON.parse(a.body.toString('utf8')) as { effective: Record<string, unknown> }).effective;
  for (const [k, v] of Object.entries(config)) {
    if (effective[k] !== v) throw new Error(`PUT config of ${name}: ${k} is ${JSON.stringify(effective[k])} after setting ${v}`);
  }
}

// ---------------------------------------------------------------- load generators

const LOAD_JS = fileURLToPath(new URL('./platform-load.js', import.meta.url));

/** CPU time (user + system, every thread) of a process so far, in ms, or undefined once it is gone. */
function processCpuMs(pid: number, tickMs: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * tickMs;
  } catch {
    return undefined;
  }
}

/**
 * Runs a load generator to completion like proc.run, sampling its CPU time
 * every 50 ms: the last sample before it exits is its CPU (within a sample's
 * worth), what the client took from the machine the server shares.
 */
function runSampled(cmd: string, args: string[], tickMs: number): Promise<{ stdout: string; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let cpuMs = 0;
    const sampler = setInterval(() => {
      const c = child.pid !== undefined ? processCpuMs(child.pid, tickMs) : undefined;
      if (c !== undefined) cpuMs = c;
    }, 50);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => void (err.length < 64 << 10 && (err += b.toString())));
    child.once('error', (e) => (clearInterval(sampler), reject(e)));
    child.once('close', (code, signal) => {
      clearInterval(sampler);
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), cpuMs });
      else reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')}: exit ${code ?? signal}\n${err.trim()}`));
    });
  });
}

async function nodeLoad<T>(job: LoadJob, tickMs = 10): Promise<T & { clientCpuMs: number }> {
  const { stdout, cpuMs } = await runSampled(process.execPath, [LOAD_JS, JSON.stringify(job)], tickMs);
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as T), clientCpuMs: cpuMs };
}

/**
 * A wrk script sending the target's bodies round-robin and printing its
 * figures as one JSON line; with `thinkMs`, each connection waits a random
 * 0 to 2 x thinkMs after an answer before its next request (a load below
 * saturation).
 */
function wrkScript(file: string, t: LoadTarget, thinkMs?: number): string {
  const lua = `-- written by bench/serving-platform.ts
local f = assert(io.open(${JSON.stringify(t.bodiesFile)}, "rb"))
local all = f:read("*a")
f:close()
local len = ${t.bodyLength}
local n = math.floor(#all / len)
local headers = { ["Content-Type"] = "application/octet-stream", ["Inference-Header-Content-Length"] = "${t.jsonLength}" }
local reqs = {}
-- Formatted in init(): wrk.format adds the Host header only once wrk.host is known.
function init(args)
  for i = 0, n - 1 do
    reqs[i + 1] = wrk.format("POST", ${JSON.stringify(t.path)}, headers, all:sub(i * len + 1, (i + 1) * len))
  end
end
${thinkMs !== undefined ? `-- Drawn from 0 to twice the mean: equal pauses would keep the connections in step, arriving as bursts of 32.
function delay()
  return math.random(0, ${2 * thinkMs})
end
` : ''}local k = 0
function request()
  k = k % n + 1
  return reqs[k]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('PLATFORM-WRK {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
`;
  writeFileSync(file, lua);
  return file;
}

interface WrkFigures {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

async function wrk(bin: string, script: string, port: number, path: string, concurrency: number, seconds: number, tickMs: number): Promise<WrkFigures & { cpuMs: number }> {
  const { stdout, cpuMs } = await runSampled(bin, ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, `http://127.0.0.1:${port}${path}`], tickMs);
  const line = /^PLATFORM-WRK (\{.*\})$/m.exec(stdout);
  if (!line) throw new Error(`wrk printed no figures:\n${stdout}`);
  return { ...(JSON.parse(line[1]!) as WrkFigures), cpuMs };
}

/** One point of part 1: a warm-up run, then the measured one; the client's figures of the measured one. */
interface Measure {
  warm(concurrency: number): Promise<void>;
  run(concurrency: number): Promise<{ requests: number; seconds: number; p50Ms: number; p99Ms: number; non200: number; socketErrors: number; clientCpuMs: number }>;
}

function wrkMeasure(bin: string, script: string, port: number, path: string, tickMs: number): Measure {
  return {
    warm: async (c) => void (await wrk(bin, script, port, path, c, WARMUP_S, tickMs)),
    run: async (c) => {
      const w = await wrk(bin, script, port, path, c, POINT_S, tickMs);
      return {
        requests: w.requests, seconds: w.durationUs / 1e6, p50Ms: w.p50Us / 1000, p99Ms: w.p99Us / 1000, non200: w.status,
        socketErrors: w.connect + w.read + w.write + w.timeout, clientCpuMs: w.cpuMs,
      };
    },
  };
}

function nodeMeasure(port: number, target: LoadTarget, tickMs: number): Measure {
  const closed = (c: number, seconds: number): Promise<ClosedResult & { clientCpuMs: number }> =>
    nodeLoad<ClosedResult>({ kind: 'closed', port, target, concurrency: c, seconds, warmupSeconds: 0 }, tickMs);
  return {
    warm: async (c) => void (await closed(c, WARMUP_S)),
    run: async (c) => {
      const r = await closed(c, POINT_S);
      const non200 = Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((n, [, k]) => n + k, 0);
      return {
        requests: r.requests, seconds: r.seconds, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non200,
        socketErrors: Object.values(r.errors).reduce((a, b) => a + b, 0), clientCpuMs: r.clientCpuMs,
      };
    },
  };
}

// ---------------------------------------------------------------- the bench

export async function benchPlatform(opts: PlatformBenchOptions): Promise<{ text: string; report: PlatformReport }> {
  const { log } = opts;
  const mlpPath = resolve(opts.repoRoot, CORPUS_MLP);
  const rowsPath = resolve(opts.repoRoot, CORPUS_ROWS);
  const missing = [mlpPath, rowsPath].filter((p) => !existsSync(p));
  if (missing.length) {
    const why = `the trained-digits corpus is absent (${missing.join(', ')} not found): the serving-platform bench needs its MLP and evaluation rows, skipped`;
    return { text: `serving platform: ${why}`, report: { skipped: why } };
  }
  const started = performance.now();
  const dir = join(opts.tmp, 'platform');
  mkdirSync(dir, { recursive: true });
  const storePath = join(dir, 'store.db');
  const rows = readNpyF32(rowsPath);
  if (rows.cols !== 64) throw new Error(`${rowsPath}: ${rows.cols} columns; the MLP takes 64`);

  // The store: the MLP, the Softmax model, and the ensemble of both.
  const softmaxPath = join(dir, 'softmax.onnx');
  writeFileSync(softmaxPath, softmaxModel(10));
  const ensemblePath = join(dir, 'ensemble.json');
  writeFileSync(ensemblePath, `${JSON.stringify({
    tessera_ensemble: 1,
    inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 64] }],
    outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 10] }],
    steps: [
      { name: 'classify', model: MLP, input_map: { x: 'pixels' }, output_map: { logits: 'logits' } },
      { name: 'softmax', model: SOFTMAX, input_map: { logits: 'logits' }, output_map: { probs: 'probs' } },
    ],
  }, null, 2)}\n`);
  {
    log('platform: importing the MLP, the Softmax model and the ensemble into a fresh store …');
    const store = await Store.open(storePath);
    try {
      await store.import(mlpPath, { name: MLP });
      await store.import(softmaxPath, { name: SOFTMAX });
      await store.import(ensemblePath, { name: ENSEMBLE });
      await store.configure({ name: MLP, version: undefined }, { set: BATCHED });
    } finally {
      await store.close();
    }
  }

  const mlpTarget = writeTarget(join(dir, 'mlp-bodies.bin'), `MLP (${MLP})`, `/v2/models/${MLP}/infer`, 'x', rows.data, 64);
  const wrkBin = which('wrk');
  const client = wrkBin ? `${await version('wrk', ['--version'])} (-t1, keep-alive)` : 'node keep-alive client (bench/platform-load.ts; wrk not on PATH)';
  const report: PlatformReport = { model: `${MLP} (${CORPUS_MLP})`, serverFlags: SERVER_FLAGS, client };
  const lines: string[] = [];
  const srv = await spawnServer(opts.repoRoot, storePath, SERVER_FLAGS);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const { port } = srv;
    for (const m of [MLP, SOFTMAX, ENSEMBLE]) {
      const a = await call(agent, port, 'POST', `/v2/repository/models/${m}/load`);
      if (a.status !== 200) throw new Error(`loading ${m}: HTTP ${a.status}: ${a.body.toString('utf8', 0, 300)}`);
    }

    // 0. The answers are right: the ensemble's probabilities are the Softmax model's of the MLP's logits (64 rows at once).
    const CHECK = 64;
    const x = rows.data.subarray(0, CHECK * 64);
    const post = (model: string, input: string, shape: number[], data: Float32Array): Promise<Answer> => {
      const { body, jsonLength } = binaryBody(input, shape, data);
      return call(agent, port, 'POST', `/v2/models/${model}/infer`, body, { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(jsonLength) });
    };
    const logits = decodeOutputs(await post(MLP, 'x', [CHECK, 64], x)).get('logits')!;
    const probs = decodeOutputs(await post(SOFTMAX, 'logits', [CHECK, 10], logits.data)).get('probs')!;
    const ens = decodeOutputs(await post(ENSEMBLE, 'pixels', [CHECK, 64], x)).get('probs')!;
    const js = softmaxRows(logits.data, 10);
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), a.length === b.length ? 0 : Infinity);
    report.correctness = { rows: CHECK, maxAbsDiffEnsembleVsSoftmax: maxDiff(ens.data, probs.data), maxAbsDiffVsJs: maxDiff(probs.data, js) };
    // The Softmax's per-row inputs: the MLP's real logits of the first rows.
    const softmaxTarget = writeTarget(join(dir, 'softmax-bodies.bin'), `Softmax (${SOFTMAX})`, `/v2/models/${SOFTMAX}/infer`, 'logits', logits.data, 10);
    const ensembleTarget = writeTarget(join(dir, 'ensemble-bodies.bin'), `ensemble (${ENSEMBLE})`, `/v2/models/${ENSEMBLE}/infer`, 'pixels', rows.data.subarray(0, CHECK * 64), 64);
    const mlpFirstRows = writeTarget(join(dir, 'mlp-first-bodies.bin'), `MLP (${MLP})`, `/v2/models/${MLP}/infer`, 'x', rows.data.subarray(0, CHECK * 64), 64);

    // 1. Throughput and latency, with and without batching, alternating at each point.
    const pid = srv.child.pid!;
    const tick = await clockTick();
    const measure = wrkBin ? wrkMeasure(wrkBin, wrkScript(join(dir, 'mlp.lua'), mlpTarget), port, mlpTarget.path, tick) : nodeMeasure(port, mlpTarget, tick);
    const rounds = Math.max(3, opts.rounds);
    const points: Point[] = [];
    const first = await snap(agent, port);
    for (let r = 0; r < rounds; r++) {
      for (const [i, c] of CONCURRENCY.entries()) {
        const order = (r + i) % 2 === 0 ? [true, false] : [false, true];
        for (const batched of order) {
          log(`platform: round ${r + 1}/${rounds}, ${c} client${c > 1 ? 's' : ''}, batching ${batched ? 'on' : 'off'} …`);
          await configure(agent, port, MLP, batched ? BATCHED : UNBATCHED);
          await measure.warm(c);
          const before = await snap(agent, port);
          const cpu0 = threadCpuMs(pid, tick);
          const busy0 = machineBusyMs(tick);
          const t0 = performance.now();
          const m = await measure.run(c);
          const wallMs = performance.now() - t0;
          const cpu1 = threadCpuMs(pid, tick);
          const busy1 = machineBusyMs(tick);
          const after = await snap(agent, port);
          const answered = (after.statuses['200'] ?? 0) - (before.statuses['200'] ?? 0);
          points.push({
            round: r, batched, concurrency: c, requests: m.requests, seconds: m.seconds, perSecond: m.requests / m.seconds, p50Ms: m.p50Ms, p99Ms: m.p99Ms,
            requestsPerRun: (after.batchReqSum - before.batchReqSum) / (after.batchReqCount - before.batchReqCount),
            runMs: (1000 * (after.runSum - before.runSum)) / (after.runCount - before.runCount),
            waitP99Ms: waitP99Ms(before, after),
            non200: m.non200, socketErrors: m.socketErrors,
            mainCpuUs: (1000 * (cpu1.main - cpu0.main)) / answered, otherCpuUs: (1000 * (cpu1.other - cpu0.other)) / answered,
            serverCores: (cpu1.main - cpu0.main + cpu1.other - cpu0.other) / wallMs, machineCores: (busy1 - busy0) / wallMs,
            clientCores: m.clientCpuMs / wallMs,
          });
        }
      }
    }
    const last = await snap(agent, port);
    const summary: PointSummary[] = CONCURRENCY.map((c) => {
      const pick = (batched: boolean): Point[] => points.filter((p) => p.concurrency === c && p.batched === batched);
      const med = (ps: Point[]): Side => {
        const m = (k: keyof Side): number => median(ps.map((p) => p[k]));
        return {
          perSecond: m('perSecond'), p50Ms: m('p50Ms'), p99Ms: m('p99Ms'), runMs: m('runMs'), requestsPerRun: m('requestsPerRun'), waitP99Ms: m('waitP99Ms'),
          mainCpuUs: m('mainCpuUs'), otherCpuUs: m('otherCpuUs'), serverCores: m('serverCores'), clientCores: m('clientCores'), machineCores: m('machineCores'),
        };
      };
      const range = (ps: Point[]): [number, number] => [Math.min(...ps.map((p) => p.perSecond)), Math.max(...ps.map((p) => p.perSecond))];
      const w = med(pick(true));
      const wo = med(pick(false));
      return { concurrency: c, with: w, without: wo, ratio: w.perSecond / wo.perSecond, withRange: range(pick(true)), withoutRange: range(pick(false)) };
    });
    const at32 = summary.find((s) => s.concurrency === 32)!;
    const batched32 = points.filter((p) => p.batched && p.concurrency === 32);
    // The batch's run time over every batched 32-client run (sum/count of the server's histogram over them all).
    const batchRunMs = median(batched32.map((p) => p.runMs));
    const queueDelayMs = BATCHED.max_queue_delay_microseconds / 1000;
    const boundMs = queueDelayMs + 2 * batchRunMs;
    const serverStatuses = statusDiff(first.statuses, last.statuses);
    const socketErrors = points.reduce((n, p) => n + p.socketErrors, 0);
    report.throughput = {
      rounds, points, summary, serverStatuses, socketErrors,
      target: {
        speedupAt32: at32.ratio, speedupOk: at32.ratio >= TARGETS.batchingSpeedupAt32, p99At32Ms: at32.with.p99Ms, boundMs, batchRunMs, queueDelayMs,
        p99Ok: at32.with.p99Ms <= boundMs, serverP99Ms: at32.with.waitP99Ms + batchRunMs, serverP99Ok: at32.with.waitP99Ms + batchRunMs <= boundMs,
      },
    };

    // 1b. p99 below saturation: 32 clients that each pause between requests, batching on (wrk's delay() hook; the Node client has none).
    if (wrkBin) {
      await configure(agent, port, MLP, BATCHED);
      report.belowSaturation = [];
      for (const thinkMs of THINK_MS) {
        const script = wrkScript(join(dir, `mlp-think-${thinkMs}.lua`), mlpTarget, thinkMs);
        const runs: NonNullable<PlatformReport['belowSaturation']> = [];
        for (let r = 0; r < rounds; r++) {
          log(`platform: 32 clients pausing ${thinkMs} ms, round ${r + 1}/${rounds} …`);
          await wrk(wrkBin, script, port, mlpTarget.path, 32, WARMUP_S, tick);
          const before = await snap(agent, port);
          const w = await wrk(wrkBin, script, port, mlpTarget.path, 32, POINT_S, tick);
          const after = await snap(agent, port);
          const runMs = (1000 * (after.runSum - before.runSum)) / (after.runCount - before.runCount);
          const bound = BATCHED.max_queue_delay_microseconds / 1000 + 2 * runMs;
          const p99Ms = w.p99Us / 1000;
          runs.push({ thinkMs, perSecond: w.requests / (w.durationUs / 1e6), p50Ms: w.p50Us / 1000, p99Ms, waitP99Ms: waitP99Ms(before, after), runMs, boundMs: bound, ok: p99Ms <= bound });
        }
        const m = (k: 'perSecond' | 'p50Ms' | 'p99Ms' | 'waitP99Ms' | 'runMs' | 'boundMs'): number => median(runs.map((x) => x[k]));
        report.belowSaturation.push({ thinkMs, perSecond: m('perSecond'), p50Ms: m('p50Ms'), p99Ms: m('p99Ms'), waitP99Ms: m('waitP99Ms'), runMs: m('runMs'), boundMs: m('boundMs'), ok: m('p99Ms') <= m('boundMs') });
      }
    }

    // 2. The ensemble against its two models asked one after the other, one client, in turn.
    log(`platform: ensemble vs MLP + Softmax, ${ENSEMBLE_ROUNDS} requests each …`);
    await configure(agent, port, MLP, BATCHED);
    const seq = await nodeLoad<SequenceResult>({ kind: 'sequence', port, targets: [ensembleTarget, mlpFirstRows, softmaxTarget], warmupRounds: ENSEMBLE_WARMUP, rounds: ENSEMBLE_ROUNDS });
    const [e, m, s] = seq.targets;
    const ratio = e!.p50Ms / (m!.p50Ms + s!.p50Ms);
    report.ensemble = { rounds: ENSEMBLE_ROUNDS, rows: seq.targets, ratio, ok: ratio <= TARGETS.ensembleVsSum, errors: seq.errors };

    // 3. Bursts of 10x the queue's size, batching on.
    await configure(agent, port, MLP, { ...BATCHED, max_queue_size: BURST_QUEUE });
    const before = rssMiB(pid);
    const bursts: BurstResult[] = [];
    const after: number[] = [];
    for (let b = 0; b < BURSTS; b++) {
      log(`platform: burst ${b + 1}/${BURSTS} of ${BURST_COUNT} requests (max_queue_size ${BURST_QUEUE}) …`);
      bursts.push(await nodeLoad<BurstResult>({ kind: 'burst', port, target: mlpTarget, count: BURST_COUNT, timeoutMs: 30_000 }));
      after.push(rssMiB(pid));
    }
    const everyAnswered = bursts.every((x) => Object.values(x.statuses).reduce((a, k) => a + k, 0) === x.sent && Object.keys(x.errors).length === 0);
    report.burst = { queueSize: BURST_QUEUE, count: BURST_COUNT, bursts, rssMiB: { before, after }, rssGrowth: after.at(-1)! / after[0]! - 1, everyAnswered };
    // Put the model back as part 1 left it.
    await configure(agent, port, MLP, BATCHED);
  } finally {
    agent.destroy();
    await stopServer(srv.child);
  }

  // ------------------------------------------------------------ the text
  const t = report.throughput!;
  const c = report.correctness!;
  lines.push(`serving platform: ${MLP} (trained-digits MLP, ${CORPUS_MLP}: x FP32 [n,64] -> logits [n,10]), each request one real row of`);
  lines.push(`${CORPUS_ROWS} ([1,64], ${rows.rows} rows used in turn), binary tensor data extension both ways; one \`tessera serve\``);
  lines.push(`child (${SERVER_FLAGS.join(' ')}; otherwise defaults: one session, one runtime thread) on a fresh SQLite store; load from a child process:`);
  lines.push(`${client}. Answers checked first: the ensemble's probabilities for ${c.rows} rows equal the Softmax model's of the MLP's logits`);
  lines.push(`(max |diff| ${c.maxAbsDiffEnsembleVsSoftmax.toExponential(1)}; the Softmax model against a JS softmax: ${c.maxAbsDiffVsJs.toExponential(1)})`);
  lines.push('');
  lines.push(`1. throughput and latency: with dynamic batching (max_batch_size ${BATCHED.max_batch_size}, max_queue_delay ${BATCHED.max_queue_delay_microseconds} us) and without`);
  lines.push(`   (max_batch_size 0), the MLP's configuration switched by PUT between runs on the same server; at each point the two alternate,`);
  lines.push(`   ${t.rounds} rounds, each run ${WARMUP_S} s of warm-up then ${POINT_S} s measured; medians over the rounds; latencies in ms, as the client sees them`);
  lines.push(table(['>clients', '>req/s off', '>req/s on', '>on/off', '>p50 off', '>p50 on', '>p99 off', '>p99 on', '>wait p99 on', '>req/run on', '>run ms off', '>run ms on', 'req/s range off | on'],
    t.summary.map((s) => [
      s.concurrency, s.without.perSecond.toFixed(0), s.with.perSecond.toFixed(0), `${s.ratio.toFixed(2)}x`, ms(s.without.p50Ms), ms(s.with.p50Ms),
      ms(s.without.p99Ms), ms(s.with.p99Ms), ms(s.with.waitP99Ms), out2(s.with.requestsPerRun), ms(s.without.runMs), ms(s.with.runMs),
      `${s.withoutRange[0].toFixed(0)}-${s.withoutRange[1].toFixed(0)} | ${s.withRange[0].toFixed(0)}-${s.withRange[1].toFixed(0)}`,
    ])));
  lines.push(`   (client: ${client}; "req/run": mean requests per onnxruntime run, tessera_batch_requests sum/count for ${MLP_KEY} over the run;`);
  lines.push('    without batching it reads 1.00 (checked: ' + t.summary.map((s) => out2(s.without.requestsPerRun)).join(', ') + '); "run ms": tessera_inference_duration_seconds sum/count,');
  lines.push('    onnxruntime\'s own time for a run on its thread; "wait p99": tessera_queue_wait_seconds, the 99th percentile of the time requests waited');
  lines.push('    in the model\'s queue, as the upper bound of its histogram bucket)');
  // "cancelled": requests in flight when the client closed its connections at the end of a run (wrk does not wait for them).
  const nonOk = Object.entries(t.serverStatuses).filter(([k]) => k !== '200' && k !== 'cancelled');
  const cancelled = t.serverStatuses.cancelled ?? 0;
  const requests = Object.values(t.serverStatuses).reduce((a, b) => a + b, 0);
  lines.push(`   answers (server metrics, warm-ups included): ${requests} requests, ${nonOk.length === 0 ? 'every answer 200' : `NOT ALL 200: ${nonOk.map(([k, n]) => `${n} x ${k}`).join(', ')}`}`
    + `${cancelled ? ` (and ${cancelled} "cancelled": in flight when the client closed its connections at the end of a run, at most its connections per run)` : ''};`);
  lines.push(`   non-200 answers seen by the client: ${t.points.reduce((n, p) => n + p.non200, 0)}; client socket errors/timeouts: ${t.socketErrors}`);
  lines.push('   the server\'s CPU per request answered, µs (from /proc/PID/task: its main thread, the event loop, and its other threads: the runtime');
  lines.push(`   thread running onnxruntime, V8's GC helpers, libuv); cores kept busy by the server, by the client (its CPU sampled every 50 ms), and on`);
  lines.push(`   the whole machine (${cpus().length} cores: server, client and whatever else runs there; /proc/stat); medians over the rounds, off | on:`);
  const pair = (a: number, b: number, d: number): string => `${a.toFixed(d)} | ${b.toFixed(d)}`;
  lines.push(table(['>clients', '>main thread µs/req', '>other threads µs/req', '>server cores', '>client cores', '>machine cores'],
    t.summary.map((s) => [s.concurrency, pair(s.without.mainCpuUs, s.with.mainCpuUs, 0), pair(s.without.otherCpuUs, s.with.otherCpuUs, 0),
      pair(s.without.serverCores, s.with.serverCores, 2), pair(s.without.clientCores, s.with.clientCores, 2), pair(s.without.machineCores, s.with.machineCores, 2)])));
  lines.push(`   target: >= ${TARGETS.batchingSpeedupAt32}x requests/s with batching at 32 clients: ${t.target.speedupAt32.toFixed(2)}x ${t.target.speedupOk ? '(met)' : '(NOT met)'}`);
  lines.push(`   target: p99 <= max queue delay + 2x the batch's run time: at 32 clients p99 ${ms(t.target.p99At32Ms)} ms vs ${ms(t.target.queueDelayMs)} + 2 x ${ms(t.target.batchRunMs)}`
    + ` = ${ms(t.target.boundMs)} ms ${t.target.p99Ok ? '(met)' : '(NOT met)'} as the client sees it (HTTP and the event loop included);`);
  lines.push(`     in the server (queue wait p99, its histogram's bucket bound, plus the run): ${ms(t.target.serverP99Ms)} ms ${t.target.serverP99Ok ? '(met)' : '(NOT met)'}`);
  const on32 = t.summary.find((s) => s.concurrency === 32)!.with.perSecond;
  lines.push(`   (for scale: 32 clients at ${on32.toFixed(0)} requests/s keep each request ${ms((1000 * 32) / on32)} ms in the system on average, by Little's law)`);
  lines.push('');
  const below = report.belowSaturation;
  if (below) {
    lines.push('1b. below saturation: the batched MLP at 32 keep-alive clients that each pause after an answer (wrk\'s delay(), uniform from 0 to twice the');
    lines.push('   mean pause), medians over the rounds;');
    lines.push('   the p99 bound as in part 1 (max queue delay + 2x the batch\'s run time), as the client sees it and in the server (queue wait p99 + run)');
    lines.push(table(['>mean pause ms', '>req/s', '>p50 ms', '>p99 ms', '>wait p99 ms', '>run ms', '>bound ms', 'client p99 within', 'server within'],
      below.map((b) => [b.thinkMs, b.perSecond.toFixed(0), ms(b.p50Ms), ms(b.p99Ms), ms(b.waitP99Ms), ms(b.runMs), ms(b.boundMs), b.ok ? 'yes' : 'no', b.waitP99Ms + b.runMs <= b.boundMs ? 'yes' : 'no'])));
  } else {
    lines.push('1b. below saturation: skipped (needs wrk for its delay() hook; apt-get install wrk)');
  }
  lines.push('');
  const en = report.ensemble!;
  lines.push(`2. ensemble latency: one client, one keep-alive connection, the three requests in turn (rotating which goes first), ${ENSEMBLE_WARMUP} rounds of`);
  lines.push(`   warm-up then ${en.rounds} each; one row per request; ${MLP} batched as in part 1 (max_batch_size 64, delay 0), ${SOFTMAX} with the default configuration`);
  lines.push(table(['request', '>requests', '>p50 ms', '>p99 ms', 'statuses'],
    en.rows.map((r) => [r.label, r.requests, ms(r.p50Ms), ms(r.p99Ms), Object.entries(r.statuses).map(([k, n]) => `${n} x ${k}`).join(', ')])));
  const [er, mr, sr] = en.rows;
  lines.push(`   target: ensemble p50 <= ${TARGETS.ensembleVsSum}x (MLP p50 + Softmax p50): ${ms(er!.p50Ms)} vs ${ms(mr!.p50Ms)} + ${ms(sr!.p50Ms)} = ${ms(mr!.p50Ms + sr!.p50Ms)} ms:`
    + ` ${en.ratio.toFixed(2)}x ${en.ok ? '(met)' : '(NOT met)'}${Object.keys(en.errors).length ? `; socket errors: ${JSON.stringify(en.errors)}` : ''}`);
  lines.push('');
  const bu = report.burst!;
  lines.push(`3. bursts: the MLP's max_queue_size set to ${bu.queueSize} (batching on), then ${bu.count} requests at once (${bu.count} connections opened first, then one request`);
  lines.push(`   sent on each; Node child), ${bu.bursts.length} bursts one after the other; the server's VmRSS (/proc/PID/status) after each`);
  lines.push(table(['>burst', '>200', '>429', '>with Retry-After', 'Retry-After s', '>other', '>no answer', '>200 p50 ms', '>429 p50 ms', '>last answer ms', '>RSS after MiB'],
    bu.bursts.map((b, i) => {
      const other = Object.entries(b.statuses).filter(([k]) => k !== '200' && k !== '429');
      const lost = Object.values(b.errors).reduce((a, k) => a + k, 0);
      return [
        i + 1, b.statuses['200'] ?? 0, b.statuses['429'] ?? 0, b.retryAfter.count, b.retryAfter.count ? `${b.retryAfter.min}-${b.retryAfter.max}` : '-',
        other.length ? other.map(([k, n]) => `${n} x ${k}`).join(', ') : 0, lost ? `${lost} ${JSON.stringify(b.errors)}` : 0,
        ms(b.ok.p50Ms), ms(b.rejected.p50Ms), ms(b.lastAnswerMs), bu.rssMiB.after[i]!.toFixed(1),
      ];
    })));
  lines.push(`   every request answered (200 or 429, no socket error or timeout): ${bu.everyAnswered ? 'yes' : 'NO'}; every 429 with a Retry-After header: `
    + `${bu.bursts.every((b) => b.retryAfter.count === (b.statuses['429'] ?? 0)) ? 'yes' : 'NO'}`);
  lines.push(`   server RSS: ${bu.rssMiB.before.toFixed(1)} MiB before the first burst, ${bu.rssMiB.after.map((x) => x.toFixed(1)).join(' -> ')} MiB after each; after the last`);
  lines.push(`   ${bu.rssGrowth >= 0 ? '+' : ''}${(100 * bu.rssGrowth).toFixed(1)}% of after the first: ${Math.abs(bu.rssGrowth) <= TARGETS.rssFlat ? 'flat' : 'NOT flat'} (target: within ${100 * TARGETS.rssFlat}%)`);
  lines.push(`(the serving-platform bench took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const err = srv.stderr().trim();
  if (err) lines.push(`server stderr:\n${err.split('\n').slice(0, 20).join('\n')}`);
  return { text: lines.join('\n'), report };
}
