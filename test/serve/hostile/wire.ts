import { connect } from 'node:net';

/**
 * HTTP/1.1 as a hostile client speaks it: every byte of the request is ours
 * (duplicated or malformed headers, absolute-form targets, bodies that lie
 * about their length), and the answer is read raw, so nothing a client
 * library would fix or refuse gets in the way.
 */

export interface RawRequest {
  method: string;
  /** The request target as sent (origin-form path, or absolute-form). */
  target: string;
  /** In order, duplicates allowed; no Host header is added unless listed. */
  headers: [string, string][];
  body?: Buffer;
}

export interface RawReply {
  /** 0 when no status line arrived. */
  status: number;
  /** Header values by lower-case name, in order. */
  headers: Map<string, string[]>;
  body: Buffer;
  /** The server closed the connection (or reset it) rather than leaving it open. */
  closed: boolean;
  /** Why no complete answer was read (timeout, reset before an answer), when so. */
  error?: string;
  ms: number;
}

/** The bytes of a request: its line, its headers as given, a blank line and the body. */
export function requestBytes(r: RawRequest): Buffer {
  const head = [`${r.method} ${r.target} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), r.body ?? Buffer.alloc(0)]);
}

/** The first value of a header, or undefined. */
export const header = (r: RawReply, name: string): string | undefined => r.headers.get(name.toLowerCase())?.[0];

/** Splits a response head into status and headers; undefined until the blank line has arrived. */
function parseHead(buf: Buffer): { status: number; headers: Map<string, string[]>; bodyAt: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    (headers.get(k) ?? headers.set(k, []).get(k)!).push(line.slice(i + 1).trim());
  }
  return { status, headers, bodyAt: end + 4 };
}

/** The body of a chunked message once complete, else undefined. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (eol + 2 + size + 2 > buf.length) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export interface ExchangeOptions {
  timeoutMs?: number;
  /** The answer to a HEAD request has no body, whatever its Content-Length says. */
  head?: boolean;
}

/**
 * Sends the request on a fresh connection and reads one answer: its head,
 * then a body by Content-Length, by chunks, or up to the close. Resolves,
 * never rejects: a reset or a timeout is part of the reply.
 */
export function exchange(port: number, request: RawRequest | Buffer, opts: ExchangeOptions = {}): Promise<RawReply> {
  const bytes = Buffer.isBuffer(request) ? request : requestBytes(request);
  const isHead = opts.head ?? (!Buffer.isBuffer(request) && request.method === 'HEAD');
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean, error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const buf = Buffer.concat(chunks);
      const head = parseHead(buf);
      if (!head) {
        resolve({ status: 0, headers: new Map(), body: Buffer.alloc(0), closed, error: error ?? 'no complete answer', ms: performance.now() - t0 });
        return;
      }
      resolve({ status: head.status, headers: head.headers, body: body(buf, head) ?? buf.subarray(head.bodyAt), closed, error, ms: performance.now() - t0 });
    };
    const body = (buf: Buffer, head: NonNullable<ReturnType<typeof parseHead>>): Buffer | undefined => {
      const rest = buf.subarray(head.bodyAt);
      if (isHead || head.status === 204 || head.status === 304) return Buffer.alloc(0);
      if (head.headers.get('transfer-encoding')?.some((v) => /chunked/i.test(v))) return dechunk(rest);
      const len = head.headers.get('content-length')?.[0];
      if (len !== undefined) return rest.length >= Number(len) ? rest.subarray(0, Number(len)) : undefined;
      return undefined;
    };
    const timer = setTimeout(() => finish(false, `no answer within ${opts.timeoutMs ?? 10_000} ms`), opts.timeoutMs ?? 10_000);
    // Written, not ended: clients keep their side open until the answer (a half-close reads as an abort to some servers).
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      const buf = Buffer.concat(chunks);
      const head = parseHead(buf);
      // A complete answer: stop here (the server may keep the connection open).
      if (head && body(buf, head) !== undefined) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (e) => finish(true, (e as NodeJS.ErrnoException).code ?? e.message));
  });
}
