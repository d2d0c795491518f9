import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { request } from './keep-alive-client.js';
import { RSS, metric, scrape } from './server-metrics.js';

/** Statuses and how many of each, as "200 x5, 503 x3". */
export function tally(statuses: number[]): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s} x${n}`).join(', ');
}

/** The server's resident memory, sampled every 100 ms while `work` runs: the largest sample. */
export async function peakRss(url: string, work: Promise<unknown>): Promise<number> {
  let done = false;
  void work.finally(() => (done = true)).catch(() => {});
  let peak = 0;
  while (!done) {
    peak = Math.max(peak, metric(await scrape(url), RSS));
    await new Promise((r) => setTimeout(r, 100));
  }
  await work;
  return Math.max(peak, metric(await scrape(url), RSS));
}

/** `count` inference requests of `body` at once; their statuses. */
export async function concurrentInfer(url: string, path: string, body: string, count: number): Promise<number[]> {
  const replies = await Promise.all(Array.from({ length: count }, () => request(`${url}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })));
  return replies.map((r) => r.status);
}

/** A download whose client reads its first bytes (the status) and then nothing: the server is held up by backpressure. */
export interface Stuck {
  status: Promise<number>;
  socket: Socket;
}

export function stuckDownload(port: number, path: string): Stuck {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
  socket.on('error', () => {});
  const status = new Promise<number>((resolve) => {
    socket.once('data', (b: Buffer) => {
      socket.pause();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(b.subarray(0, 16).toString('latin1'))?.[1] ?? 0));
    });
    socket.once('close', () => resolve(0));
  });
  return { status, socket };
}
