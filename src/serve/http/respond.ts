import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';

/**
 * Sends a JSON value (or pre-serialized JSON text). The reason phrase is
 * given: writeHead keeps the one of an earlier call that failed (a header it
 * refused), and an error answered after it would go out as "500 OK".
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
  res.writeHead(status, STATUS_CODES[status] ?? 'Unknown', { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/** Sends several buffers as one body, corked: the head and every part leave in one write to the socket. */
export function sendBuffers(res: ServerResponse, status: number, headers: Record<string, string>, parts: Buffer[], length: number): void {
  res.writeHead(status, { ...headers, 'Content-Length': String(length) });
  if (parts.length === 1) {
    res.end(parts[0]);
    return;
  }
  res.cork();
  for (const p of parts) res.write(p);
  res.end();
  res.uncork();
}
