import type { Duplex } from 'node:stream';

/** How long a connection answered here stays half open before it is closed. */
const CLOSE_AFTER_MS = 1000;

/** The status Node's own default gives each connection-level error (its parser and its timers), ours with a JSON body. */
function answerOf(code: string | undefined): { status: number; reason: string; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', message: 'the request did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'Request Header Fields Too Large', message: 'request headers too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'Payload Too Large', message: 'chunk extensions too large' };
    default:
      return { status: 400, reason: 'Bad Request', message: 'malformed HTTP request' };
  }
}

/**
 * Answers an error raised on a connection outside any handler ('clientError'):
 * a malformed request, headers or a body too slow to arrive (headersTimeout,
 * requestTimeout), then closes the connection. No answer when the client is
 * gone, or when a response is already on the wire: a status line in the
 * middle of a body would corrupt it, so that connection is only cut.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // Node sets _httpMessage on a socket while a response is being written on it (its own default handler checks it the same way).
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const { status, reason, message } = answerOf(err.code);
  const body = JSON.stringify({ error: message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  // Then close it for good: the server allows half-open connections, so a client that goes on sending would keep this one
  // open. Not at once: the client gets a moment to read the answer before anything it sends after it is met with a reset.
  setTimeout(() => socket.destroy(), CLOSE_AFTER_MS).unref();
}
