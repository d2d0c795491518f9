/**
 * The server's log as its operator sees it: event lines (errors, failed
 * inferences, what onnxruntime printed) at a level, rate-limited per kind
 * (log.ts), and an access line per request; either as text or as JSON, one
 * object a line. Every line made while a request is handled carries its
 * request id, which the response carries too (X-Request-Id).
 *
 * Text access lines are the Common Log Format followed by the duration, the
 * model, the request id and the user agent:
 *
 *   127.0.0.1 - - [08/Dec/2026:01:02:03 +0000] "POST /v2/models/vad/infer HTTP/1.1" 200 412 3.21ms vad rid=5f0c2a9e41b7-1 "curl/8.1.2"
 *
 * JSON access lines: {"time","level":"info","kind":"access","client","method",
 * "path","http","status","bytes","duration_ms","model","request_id","user_agent"};
 * event lines: {"time","level","kind","msg","request_id"}. `bytes` counts
 * what was sent, headers included (Apache's %O).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { LEVEL_OF_KIND, RateLimitedLog, logs, oneLine } from './log.js';
import type { LogFormat, LogKind, LogLevel, RateLimit } from './log.js';

export interface AccessRecord {
  /** When the request arrived (ms since the epoch). */
  start: number;
  client: string;
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  httpVersion: string;
  status: number;
  bytes: number;
  durationMs: number;
  model?: string;
  userAgent?: string;
  requestId: string;
}

export interface ServerLogOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where event lines go, one at a time, without their newline. */
  events: (line: string) => void;
  /** Where access lines go; none: no access log. */
  access?: (line: string) => void;
  limit?: RateLimit;
}

/** The request being handled, for the lines logged meanwhile. */
const requestScope = new AsyncLocalStorage<string>();

/** Runs `fn` as the handling of request `id`: lines logged meanwhile name it. */
export function inRequest<T>(id: string, fn: () => T): T {
  return requestScope.run(id, fn);
}

/** A client's own id is kept when it is a plain token of up to 128 characters; it then ties the client's logs to ours. */
const CLIENT_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Request ids: this process's random prefix and a counter (unique without a random draw per request). */
export class RequestIds {
  private readonly prefix = randomBytes(6).toString('hex');
  private n = 0;

  /** The client's X-Request-Id when usable, else a new one. */
  next(fromClient: string | string[] | undefined): string {
    if (typeof fromClient === 'string' && CLIENT_ID.test(fromClient)) return fromClient;
    return `${this.prefix}-${(++this.n).toString(36)}`;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** 08/Dec/2026:01:02:03 +0000 (the Common Log Format's time, in UTC). */
export function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTime = formatClfTime(ms);
  }
  return lastTime;
}

function formatClfTime(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** Printable ASCII but `"` and `\`: what a quoted field takes as it is (nearly every path and agent). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A client-chosen string inside a quoted field: one line, its quotes escaped. */
const quoted = (s: string): string => (PLAIN.test(s) ? s : oneLine(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"'));

/** clfTime of the last second asked for: a server logs many requests a second. */
let lastSecond = -1;
let lastTime = '';

export function formatAccess(r: AccessRecord, format: LogFormat): string {
  if (format === 'json') {
    return JSON.stringify({
      time: new Date(r.start).toISOString(), level: 'info', kind: 'access', client: r.client, method: r.method, path: oneLine(r.url),
      http: r.httpVersion, status: r.status, bytes: r.bytes, duration_ms: Math.round(r.durationMs * 100) / 100,
      model: r.model ?? null, request_id: r.requestId, user_agent: r.userAgent === undefined ? null : oneLine(r.userAgent),
    });
  }
  return `${r.client} - - [${clfTime(r.start)}] "${quoted(r.method)} ${quoted(r.url)} HTTP/${r.httpVersion}" ${r.status} ${r.bytes} `
    + `${r.durationMs.toFixed(2)}ms ${r.model === undefined ? '-' : quoted(r.model)} rid=${r.requestId} "${r.userAgent === undefined ? '-' : quoted(r.userAgent)}"`;
}

export class ServerLog {
  private readonly limited: RateLimitedLog;

  constructor(private readonly o: ServerLogOptions) {
    this.limited = new RateLimitedLog((line, kind) => this.emit(line, kind), o.limit);
  }

  get level(): LogLevel {
    return this.o.level;
  }

  /** An event line of `kind`, when the level takes it (rate-limited per kind). */
  write(kind: LogKind, text: string): void {
    if (logs(this.o.level, LEVEL_OF_KIND[kind])) this.limited.write(kind, text);
  }

  /** Whether requests are logged (at level info or below, with somewhere to write them). */
  get accessing(): boolean {
    return this.o.access !== undefined && logs(this.o.level, 'info');
  }

  access(r: AccessRecord): void {
    if (this.accessing) this.o.access!(formatAccess(r, this.o.format));
  }

  /** Ends the rate limiter's windows, reporting what they suppressed (on shutdown). */
  flush(): void {
    this.limited.flush();
  }

  private emit(line: string, kind: LogKind): void {
    const id = requestScope.getStore();
    if (this.o.format === 'json') {
      this.o.events(JSON.stringify({ time: new Date().toISOString(), level: LEVEL_OF_KIND[kind], kind, msg: line, request_id: id ?? null }));
    } else {
      this.o.events(id === undefined ? line : `${line} (request ${id})`);
    }
  }
}
