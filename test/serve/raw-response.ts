import assert from 'node:assert/strict';
import { connect } from 'node:net';

/** One response as it came over the wire: its status, its headers (names lower-cased, repeats joined by ", ") and its body. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** What a connection brought back: every complete response in order, and whether the server closed the connection. */
export interface RawReplies {
  responses: RawResponse[];
  /** The server closed (or reset) the connection before the deadline. */
  closed: boolean;
  /** The connection broke under the client (ECONNRESET, or EPIPE while it was still sending) rather than being closed after what it sent. */
  reset: boolean;
}

/**
 * The responses in `bytes`, each framed by its Content-Length (none: no
 * body, as for the server's 204, 304 and HEAD answers); a response cut short
 * is left out.
 */
export function parseResponses(bytes: Buffer, headRequests = 0): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const length = out.length < headRequests ? 0 : Number(headers.get('content-length') ?? 0);
    if (end + 4 + length > bytes.length) break;
    out.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** A request's bytes: the request line, `headers` in the order given, then `body`. */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body: string | Buffer = ''): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body) : body]);
}

/**
 * Sends `pieces` on one connection, one after the other as fast as the
 * server takes them, reads everything the server sends back until it closes
 * the connection or `maxMs` have passed, and parses the responses. Write
 * errors are an end, not a failure (the server closed while the client was
 * still sending): what was received tells what the server answered.
 */
export function exchange(port: number, pieces: (string | Buffer)[], maxMs = 5000, headRequests = 0): Promise<RawReplies> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    let reset = false;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ responses: parseResponses(Buffer.concat(received), headRequests), closed, reset });
    };
    const deadline = setTimeout(() => finish(false), maxMs);
    socket.on('connect', async () => {
      for (const p of pieces) {
        if (done || socket.destroyed) return;
        if (!socket.write(p)) await new Promise((r) => socket.once('drain', r).once('close', r));
      }
    });
    socket.on('data', (b: Buffer) => received.push(b));
    socket.on('error', () => (reset = true));
    socket.on('close', () => finish(true));
  });
}

/** One request on a fresh connection with `Connection: close`, and its response (status 0 when none came). */
export async function once(port: number, method: string, path: string, headers: Record<string, string>, body: string | Buffer = ''): Promise<RawResponse> {
  const length: Record<string, string> = body.length > 0 || !['GET', 'HEAD', 'OPTIONS'].includes(method) ? { 'Content-Length': String(Buffer.byteLength(body)) } : {};
  const r = await exchange(port, [rawRequest(method, path, { Host: `127.0.0.1:${port}`, Connection: 'close', ...length, ...headers }, body)], 10_000, method === 'HEAD' ? 1 : 0);
  return r.responses[0] ?? { status: 0, headers: new Map(), body: Buffer.alloc(0) };
}

/** The response is a JSON error of `status` whose message matches `pattern`. */
export function refused(r: RawResponse, status: number, pattern: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
  assert.match((JSON.parse(r.body.toString()) as { error: string }).error, pattern, what);
}
