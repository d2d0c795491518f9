/**
 * The serving-platform bench's Node load generator (bench/serving-platform.ts),
 * run as a child process so that the bench process's own work takes no CPU
 * from the server's: it is given a job as JSON (argv[2]), runs it against a
 * server on 127.0.0.1 and prints one JSON line with what it measured.
 *
 *   closed    CONCURRENCY keep-alive connections, each sending its next
 *             request as soon as the last answer is read, for SECONDS after a
 *             warm-up (used when wrk is not installed)
 *   sequence  one keep-alive connection, requests to several targets in
 *             turn (rotating which goes first), latencies per target
 *   burst     COUNT connections opened first, then a request sent on each at
 *             once; every answer's status (and Retry-After) counted
 *
 * Each target's request bodies come from a file of fixed-length bodies (the
 * binary tensor data extension), used round-robin.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { quantile } from './units.js';

/** Requests of one kind: a path and fixed-length bodies in one file. */
export interface LoadTarget {
  label: string;
  path: string;
  bodiesFile: string;
  bodyLength: number;
  /** The JSON part's length: the Inference-Header-Content-Length header. */
  jsonLength: number;
}

export type LoadJob =
  | { kind: 'closed'; port: number; target: LoadTarget; concurrency: number; seconds: number; warmupSeconds: number }
  | { kind: 'sequence'; port: number; targets: LoadTarget[]; warmupRounds: number; rounds: number }
  | { kind: 'burst'; port: number; target: LoadTarget; count: number; timeoutMs: number };

export interface Latencies {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ClosedResult extends Latencies {
  kind: 'closed';
  seconds: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
}

export interface SequenceResult {
  kind: 'sequence';
  targets: (Latencies & { label: string; statuses: Record<string, number> })[];
  errors: Record<string, number>;
}

export interface BurstResult {
  kind: 'burst';
  sent: number;
  /** Connections that did not open (each still counts as a request without an answer). */
  connectFailed: number;
  statuses: Record<string, number>;
  /** 429 answers with a Retry-After header, and the values seen. */
  retryAfter: { count: number; min: number; max: number };
  /** Requests without an answer: socket errors and timeouts, by code. */
  errors: Record<string, number>;
  /** From sending the first request to the last answer. */
  lastAnswerMs: number;
  /** Latency of the 200s and of the 429s. */
  ok: Latencies;
  rejected: Latencies;
}

function latencies(lat: number[]): Latencies {
  lat.sort((a, b) => a - b);
  return { requests: lat.length, p50Ms: quantile(lat, 0.5), p99Ms: quantile(lat, 0.99), maxMs: lat.at(-1) ?? NaN };
}

function bodies(t: LoadTarget): { next: () => Buffer; headers: Record<string, string> } {
  const all = readFileSync(t.bodiesFile);
  const n = Math.floor(all.length / t.bodyLength);
  if (n < 1 || n * t.bodyLength !== all.length) throw new Error(`${t.bodiesFile}: ${all.length} bytes is not a whole number of ${t.bodyLength}-byte bodies`);
  const list = Array.from({ length: n }, (_, i) => all.subarray(i * t.bodyLength, (i + 1) * t.bodyLength));
  let i = 0;
  return {
    next: () => list[i++ % n]!,
    headers: {
      'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(t.jsonLength), 'Content-Length': String(t.bodyLength),
    },
  };
}

const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);
const errorCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message.slice(0, 60) : String(e));

/** One POST; resolves with the response once its body is read. */
function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function closed(job: Extract<LoadJob, { kind: 'closed' }>): Promise<ClosedResult> {
  const { next, headers } = bodies(job.target);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const lat: number[] = [];
  const phase = async (seconds: number, record: boolean): Promise<number> => {
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < end) {
        const a = performance.now();
        try {
          const res = await post(agent, job.port, job.target.path, headers, next());
          if (record) {
            lat.push(performance.now() - a);
            bump(statuses, String(res.statusCode));
          }
        } catch (e) {
          bump(errors, errorCode(e));
        }
      }
    }));
    return (performance.now() - t0) / 1000;
  };
  await phase(job.warmupSeconds, false);
  const seconds = await phase(job.seconds, true);
  agent.destroy();
  return { kind: 'closed', ...latencies(lat), seconds, statuses, errors };
}

async function sequence(job: Extract<LoadJob, { kind: 'sequence' }>): Promise<SequenceResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ts = job.targets.map((t) => ({ t, ...bodies(t), lat: [] as number[], statuses: {} as Record<string, number> }));
  const errors: Record<string, number> = {};
  for (let r = 0; r < job.warmupRounds + job.rounds; r++) {
    for (let k = 0; k < ts.length; k++) {
      const x = ts[(r + k) % ts.length]!;
      const a = performance.now();
      try {
        const res = await post(agent, job.port, x.t.path, x.headers, x.next());
        if (r >= job.warmupRounds) {
          x.lat.push(performance.now() - a);
          bump(x.statuses, String(res.statusCode));
        }
      } catch (e) {
        bump(errors, errorCode(e));
      }
    }
  }
  agent.destroy();
  return { kind: 'sequence', targets: ts.map((x) => ({ label: x.t.label, ...latencies(x.lat), statuses: x.statuses })), errors };
}

async function burst(job: Extract<LoadJob, { kind: 'burst' }>): Promise<BurstResult> {
  const { next, headers } = bodies(job.target);
  // Every connection open first, so that the requests leave together.
  const sockets = await Promise.all(Array.from({ length: job.count }, () => new Promise<Socket | Error>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: job.port });
    s.setNoDelay(true);
    const t = setTimeout(() => (s.destroy(), resolve(new Error('ETIMEDOUT (connect)'))), job.timeoutMs);
    s.once('connect', () => (clearTimeout(t), resolve(s)));
    s.once('error', (e) => (clearTimeout(t), resolve(e)));
  })));
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const retry = { count: 0, min: Infinity, max: -Infinity };
  const ok: number[] = [];
  const rejected: number[] = [];
  let connectFailed = 0;
  let last = 0;
  const t0 = performance.now();
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
    if (s instanceof Error) {
      connectFailed++;
      bump(errors, `connect: ${errorCode(s)}`);
      return resolve();
    }
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) bump(errors, errorCode(err));
      last = Math.max(last, performance.now() - t0);
      s.destroy();
      resolve();
    };
    const req = request({ createConnection: () => s, host: '127.0.0.1', port: job.port, path: job.target.path, method: 'POST', headers }, (res) => {
      const ms = performance.now() - t0;
      res.on('data', () => {});
      res.on('end', () => {
        bump(statuses, String(res.statusCode));
        if (res.statusCode === 200) ok.push(ms);
        if (res.statusCode === 429) {
          rejected.push(ms);
          const ra = Number(res.headers['retry-after']);
          if (res.headers['retry-after'] !== undefined && Number.isFinite(ra)) {
            retry.count++;
            retry.min = Math.min(retry.min, ra);
            retry.max = Math.max(retry.max, ra);
          }
        }
        finish();
      });
      res.on('error', finish);
    });
    const timer = setTimeout(() => (req.destroy(new Error('ETIMEDOUT (no answer)'))), job.timeoutMs);
    req.on('error', finish);
    req.end(next());
  })));
  return {
    kind: 'burst', sent: job.count, connectFailed, statuses, retryAfter: retry.count ? retry : { count: 0, min: NaN, max: NaN }, errors,
    lastAnswerMs: last, ok: latencies(ok), rejected: latencies(rejected),
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as LoadJob;
  const result = job.kind === 'closed' ? await closed(job) : job.kind === 'sequence' ? await sequence(job) : await burst(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`platform-load: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
