import { spawnSync } from 'node:child_process';
import { Rng } from '../../../bench/synth.js';
import { Store } from '../../../src/store/store.js';
import { BIN } from '../child-server.js';
import { GENERATORS } from './cases.js';
import type { HostileCase, RunResult } from './run.js';
import { runCases } from './run.js';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { exchange, header } from './wire.js';
import type { RawReply } from './wire.js';
import { rssOf, snapshot } from './world.js';
import type { World } from './world.js';

export interface CampaignReport {
  cases: number;
  seconds: number;
  result: RunResult;
  /** Failures of the checks after the run (liveness, memory, the store). */
  after: string[];
  rss: { server: 'open' | 'guarded'; startMiB: number; peakMiB: number; endMiB: number }[];
}

/** Seconds the servers may idle after the run for their memory to come back. */
const IDLE_S = 20;
/** Connections held open past the server's cap (--max-connections, 256 by default). */
const FLOOD = 300;
/** Lines the servers may write to stderr in a whole campaign (rate-limited: 10 a minute per kind). */
const MAX_LOG_LINES = 200;

/**
 * Holds FLOOD connections open with half a request each, then asks as a
 * client would: past the cap the answer must be 503 with Retry-After, and
 * once the flood lets go the server must serve again.
 */
async function flood(port: number, world: World): Promise<string[]> {
  const held = await Promise.all(Array.from({ length: FLOOD }, () => new Promise<Socket>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', () => resolve(s));
    s.write(`GET /v2/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  })));
  const wrong: string[] = [];
  try {
    const during = await legit(port, world, 'GET', '/v2/models/vad');
    if (!(during.status === 503 && header(during, 'retry-after'))) wrong.push(`with ${FLOOD} connections held, a request got ${during.status} (expected 503 with Retry-After)`);
  } finally {
    for (const s of held) s.destroy();
  }
  await new Promise((r) => setTimeout(r, 500));
  const afterwards = await legit(port, world, 'GET', '/v2/models/vad');
  if (afterwards.status !== 200) wrong.push(`after the connection flood a request got ${afterwards.status}`);
  return wrong;
}

/** A request as a legitimate local client makes it: the right Host, the token, no Origin. */
function legit(port: number, world: World, method: string, target: string): Promise<RawReply> {
  const headers: [string, string][] = [['Host', `127.0.0.1:${port}`], ['Authorization', `Bearer ${world.token}`], ['Connection', 'close']];
  if (method === 'POST') headers.push(['Content-Length', '0']);
  return exchange(port, { method, target, headers });
}

/** `count` cases drawn from the classes in turn, each variant from the seeded Rng. */
export function generate(world: World, count: number, seed: number, classes = Object.keys(GENERATORS)): HostileCase[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, seq) => GENERATORS[classes[seq % classes.length]!]!({ world, rng, seq }));
}

const mib = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;

/**
 * Runs the cases against the world's two servers (after `warmup`, whose
 * replies are not counted), then checks what must hold afterwards: both
 * servers still answer; their memory came back within `rssSlackMiB` of where
 * it was after the warm-up; `tessera verify --deep` finds nothing;
 * every model outside the scratch names is as it was; every scratch model
 * holds exactly the bytes its legitimate upload sent, and no other exists.
 */
export async function runCampaign(world: World, cases: HostileCase[], rssSlackMiB = 50, warmup: HostileCase[] = []): Promise<CampaignReport> {
  const before = await snapshot(world.store);
  const servers = [{ server: 'open' as const, s: world.open }, { server: 'guarded' as const, s: world.guarded }];
  // Memory is measured from a warm server (its models loaded, a download made): what grows after that is the requests' doing.
  for (const { s } of servers) {
    for (const target of ['/v2/repository/models/vad/load', `/v2/repository/models/${world.ident}/load`]) await legit(s.port, world, 'POST', target);
    await legit(s.port, world, 'GET', `/v2/models/${world.blob.model}/versions/1/files/${world.blob.path}`);
  }
  // And after a first round of the same kinds of requests: a server's heap and allocators grow to a working
  // set (measured: about 35 MiB after 2,000 range requests, 37 after 20,000) that is not a leak.
  const warm = warmup.length ? await runCases(world, warmup) : undefined;
  const rss = servers.map(({ server, s }) => ({ server, startMiB: mib(rssOf(s.pid)), peakMiB: 0, endMiB: 0 }));
  const sampler = setInterval(() => servers.forEach(({ s }, i) => (rss[i]!.peakMiB = Math.max(rss[i]!.peakMiB, mib(rssOf(s.pid))))), 200);
  const t0 = performance.now();
  let result: RunResult;
  try {
    result = await runCases(world, cases);
  } finally {
    clearInterval(sampler);
  }
  const after: string[] = [];
  after.push(...(await flood(world.open.port, world)));
  const seconds = (performance.now() - t0) / 1000;
  // Scratch models the warm-up created are legitimate too.
  for (const [name, w] of warm?.written ?? []) if (!result.written.has(name)) result.written.set(name, w);
  for (const { server, s } of servers) {
    const live = await legit(s.port, world, 'GET', '/v2/health/live');
    if (live.status !== 200) after.push(`${server} server: /v2/health/live answered ${live.status} after the run`);
  }
  // Memory is given back lazily (V8 shrinks its heap once idle): read it for up to IDLE_S seconds, keeping the lowest.
  for (let t = 0; t < IDLE_S; t++) {
    await new Promise((r) => setTimeout(r, 1000));
    servers.forEach(({ s }, i) => (rss[i]!.endMiB = t === 0 ? mib(rssOf(s.pid)) : Math.min(rss[i]!.endMiB, mib(rssOf(s.pid)))));
    if (rss.every((r) => r.endMiB - r.startMiB <= rssSlackMiB)) break;
  }
  for (const r of rss) if (r.endMiB - r.startMiB > rssSlackMiB) after.push(`${r.server} server: RSS ${r.startMiB} → ${r.endMiB} MiB, more than ${rssSlackMiB} MiB above its start`);
  // Failing runs and refused requests must not flood the log: the server's lines are rate-limited per kind.
  for (const { server, s } of servers) {
    const lines = s.stderr().split('\n').filter(Boolean).length;
    if (lines > MAX_LOG_LINES) after.push(`${server} server: ${lines} lines on stderr, more than ${MAX_LOG_LINES}`);
  }
  const verify = spawnSync(process.execPath, [BIN, 'verify', '--deep', '--store', world.store], { encoding: 'utf8' });
  if (verify.status !== 0) after.push(`verify --deep: ${verify.stdout}${verify.stderr}`);
  const now = await snapshot(world.store);
  if (now.fixed !== before.fixed) after.push(`models outside the scratch names changed:\n${before.fixed}\n→\n${now.fixed}`);
  const store = await Store.open(world.store);
  try {
    for (const [ref, files] of now.scratch) {
      const name = ref.slice(0, ref.lastIndexOf(':'));
      const sent = result.written.get(name);
      if (!sent) {
        after.push(`${ref} exists, but no request that was answered 2xx created it`);
        continue;
      }
      const f = files.find((x) => x.path === sent.path);
      if (!f || files.length !== 1) {
        after.push(`${ref} holds ${files.map((x) => x.path).join(', ')}, its upload sent ${sent.path}`);
        continue;
      }
      const file = (await store.files((await store.find({ name }))!)).find((x) => x.path === sent.path)!;
      const blocks: Buffer[] = [];
      for await (const b of store.readFile(file)) blocks.push(Buffer.from(b));
      if (!Buffer.concat(blocks).equals(sent.bytes)) after.push(`${ref} ${sent.path}: the stored bytes are not the ones uploaded`);
    }
    for (const name of result.written.keys()) if (![...now.scratch.keys()].some((k) => k.startsWith(`${name}:`))) after.push(`${name} was answered 2xx but is not in the store`);
  } finally {
    await store.close();
  }
  return { cases: cases.length, seconds, result, after, rss };
}

/** The report as a table and lines, the way the fuzz campaign prints its own. */
export function describe(report: CampaignReport): string {
  const lines = [`${report.cases} hostile requests in ${report.seconds.toFixed(1)} s`];
  lines.push('class      cases  failures  slowest ms  statuses');
  for (const [cls, st] of [...report.result.byClass].sort()) {
    const statuses = [...st.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    lines.push(`${cls.padEnd(9)} ${String(st.cases).padStart(6)} ${String(st.failures.length).padStart(9)} ${st.slowestMs.toFixed(0).padStart(11)}  ${statuses}`);
    for (const f of st.failures.slice(0, 5)) lines.push(`  ${f}`);
    if (st.failures.length > 5) lines.push(`  … ${st.failures.length - 5} more`);
  }
  for (const r of report.rss) lines.push(`${r.server} server RSS: ${r.startMiB} MiB at the start, ${r.peakMiB} at the peak, ${r.endMiB} after the run`);
  lines.push(`scratch models written by legitimate uploads: ${report.result.written.size}`);
  lines.push(report.after.length ? `after the run:\n  ${report.after.join('\n  ')}` : 'after the run: both servers answer, verify --deep is clean, nothing outside the scratch models changed, every scratch model holds what its upload sent');
  return lines.join('\n');
}

/** How many checks failed, in the cases and after them. */
export function failures(report: CampaignReport): number {
  let n = report.after.length;
  for (const st of report.result.byClass.values()) n += st.failures.length;
  return n;
}
