import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused request body is read and dropped, at most, before the connection is closed instead. */
export const LINGER_BYTES = 8 * 1024 * 1024;

/** How long a connection answered with `Connection: close` goes on taking the rest of the body before it is closed anyway. */
export const LINGER_MS = 5000;

/**
 * Reads and drops the rest of a request body that was answered without being
 * read (a 413, or any error before the body was needed), so that a client
 * still sending gets the answer: closing a connection with unread data makes
 * the kernel reset it, and a client that is reset before it has read the
 * answer loses it (RFC 9112 §9.6). Past `limit` bytes the connection is
 * closed (the client has had the answer long before). The request timeout
 * bounds how long it takes.
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

/** The body's declared length: 0 without Content-Length or Transfer-Encoding (RFC 9112 §6.3), undefined when chunked. */
function declaredLength(req: IncomingMessage): number | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return undefined;
  return Number(req.headers['content-length'] ?? 0);
}

/**
 * Closes the connection once the answer is out, gracefully: the server's
 * side ends after the answer (the client reads it, then the end), the rest
 * of the body is read and dropped, and the connection is closed when the
 * body is through, past LINGER_BYTES or after LINGER_MS. Node would close it
 * as soon as the answer is written (socket.destroySoon(), which it calls
 * after a `Connection: close` answer), with the body still arriving: that is
 * the reset that loses the answer, so this connection's destroySoon does the
 * above instead.
 */
function lingeringClose(req: IncomingMessage): void {
  const socket = req.socket;
  discardRest(req);
  socket.destroySoon = () => {
    const close = (): void => void socket.destroy();
    socket.end();
    const timer = setTimeout(close, LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
    const bodyIn = req.complete ? Promise.resolve() : new Promise((resolve) => req.once('end', resolve));
    const answerOut = socket.writableFinished ? Promise.resolve() : new Promise((resolve) => socket.once('finish', resolve));
    void Promise.all([bodyIn, answerOut]).then(close);
  };
}

/**
 * Before an answer that leaves the request body unread (an error, a refusal):
 * a short declared rest is dropped and the connection kept; anything else
 * (a chunked body, a long or endless one, or `close` asked for) is answered
 * with `Connection: close`, so that a keep-alive client sends its next
 * request on a new connection rather than on this one, which the server
 * closes once the answer is out.
 */
export function answerUnread(req: IncomingMessage, res: ServerResponse, close: boolean): void {
  const length = declaredLength(req);
  // Nothing left to read (a request without a body is not yet "complete" when its handler runs: Node ends it just after).
  if (req.complete || length === 0) {
    if (close) res.setHeader('Connection', 'close');
    return;
  }
  if (!close && length !== undefined && length <= LINGER_BYTES) {
    discardRest(req);
    return;
  }
  res.setHeader('Connection', 'close');
  lingeringClose(req);
}
