import { exchange } from './wire.js';
import type { RawReply, RawRequest } from './wire.js';
import { ALLOWED_ORIGIN } from './world.js';
import type { World } from './world.js';

/** One generated hostile request and what a correct server does with it. */
export interface HostileCase {
  /** The class of hole it probes (README, SECURITY.md): host, origin, auth, bytes, encoding, names, range, body, … */
  cls: string;
  /** What it sends, in words, for a failure message. */
  what: string;
  server: 'open' | 'guarded';
  request: RawRequest;
  /** Bytes sent instead of `request` when its framing itself is the attack (request is then only its description). */
  raw?: Buffer;
  /** What is wrong with the reply, or undefined when it is right. */
  check(r: RawReply): string | undefined;
  /** A legitimate upload: when answered 2xx, the scratch model it creates must hold exactly these bytes. */
  writes?: { model: string; path: string; bytes: Buffer };
  /** Whether the server may close without an answer (a request it must cut off). */
  mayCut?: boolean;
}

export interface ClassStats {
  cases: number;
  failures: string[];
  /** Replies by status. */
  statuses: Map<number, number>;
  slowestMs: number;
}

export interface RunResult {
  byClass: Map<string, ClassStats>;
  /** Scratch models the legitimate uploads created, with what they sent. */
  written: Map<string, { path: string; bytes: Buffer }>;
}

/** Checks every reply gets, whatever the case: an answer, no 5xx, no file-system path, CORS only for the allowed origin. */
function general(c: HostileCase, r: RawReply, world: World): string | undefined {
  if (r.status === 0) return c.mayCut ? undefined : `no answer (${r.error ?? 'closed'})`;
  if (r.status >= 500 && r.status !== 503) return `answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`;
  const text = `${[...r.headers.values()].flat().join('\n')}\n${r.body.toString('latin1')}`;
  for (const s of world.secrets) if (text.includes(s)) return `the answer shows a server path (${s})`;
  // CORS is granted to the one allowed origin, and only when it asks.
  const acao = r.headers.get('access-control-allow-origin');
  const asked = c.request.headers.find(([k]) => k.toLowerCase() === 'origin')?.[1];
  if (acao && (acao.length !== 1 || acao[0] !== ALLOWED_ORIGIN || asked !== ALLOWED_ORIGIN)) return `Access-Control-Allow-Origin: ${acao.join(', ')} for Origin ${asked}`;
  return undefined;
}

/**
 * Sends the cases, `concurrency` at a time, and checks each reply; the
 * failures say which case and what was wrong. Replies to legitimate uploads
 * are recorded so the store can be checked against them afterwards.
 */
export async function runCases(world: World, cases: HostileCase[], concurrency = 8): Promise<RunResult> {
  const byClass = new Map<string, ClassStats>();
  const written = new Map<string, { path: string; bytes: Buffer }>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const port = c.server === 'open' ? world.open.port : world.guarded.port;
      const r = await exchange(port, c.raw ?? c.request, { timeoutMs: 30_000, head: c.request.method === 'HEAD' });
      const st = byClass.get(c.cls) ?? byClass.set(c.cls, { cases: 0, failures: [], statuses: new Map(), slowestMs: 0 }).get(c.cls)!;
      st.cases++;
      st.statuses.set(r.status, (st.statuses.get(r.status) ?? 0) + 1);
      st.slowestMs = Math.max(st.slowestMs, r.ms);
      const wrong = general(c, r, world) ?? (r.status === 0 ? undefined : c.check(r));
      if (wrong) st.failures.push(`${c.what}: ${wrong}`);
      if (c.writes && r.status >= 200 && r.status < 300) written.set(c.writes.model, { path: c.writes.path, bytes: c.writes.bytes });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { byClass, written };
}
