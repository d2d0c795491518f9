import { Agent, request as httpRequest } from 'node:http';
import type { Reply } from './helpers.js';

/**
 * The load's HTTP client: keep-alive connections that it drops after 2 s
 * idle, well before the server's 5 s. A client that reuses a connection just
 * as the server closes it for idleness gets a reset for a good request: the
 * keep-alive race of HTTP/1.1, which fetch's pool (idle for the server's
 * advertised timeout less 1 s) runs into once the test's own event loop lags
 * by a second on a busy machine.
 */
const agent = new Agent({ keepAlive: true, timeout: 2000 });

export interface RequestInit {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** One request on the load's agent; rejects when the connection fails or the response is cut short. */
export function request(url: string, init: RequestInit = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(init.body));
    const req = httpRequest(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) {
          reject(new Error(`the response was cut short after ${parts.reduce((n, b) => n + b.length, 0)} bytes`));
          return;
        }
        const body = Buffer.concat(parts);
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, headers: h, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
