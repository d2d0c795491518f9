import type { IncomingMessage } from 'node:http';

/** How much of a refused request body is read and dropped, at most, before the connection is closed instead. */
export const LINGER_BYTES = 8 * 1024 * 1024;

/**
 * Reads and drops the rest of a request body that was answered without being
 * read (a 413, or any error before the body was needed), so that a client
 * still sending gets the answer: closing a connection with unread data makes
 * the kernel reset it, and a client that is reset before it has read the
 * answer loses it (RFC 9112 §9.6). Once the body is through, the connection
 * serves the next request; past `limit` bytes it is closed (the client has
 * had the answer long before). The request timeout bounds how long it takes.
 */
export function discardRest(req: IncomingMessage, limit = LINGER_BYTES): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.on('data', (b: Buffer) => {
    seen += b.length;
    if (seen > limit) req.socket.destroy();
  });
  req.resume();
}
