import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** What a raw exchange saw: the response's start, and how and when the server ended the connection. */
export interface RawOutcome {
  /** The status of the response, 0 when none arrived. */
  status: number;
  /** The first bytes received (up to 4 KiB), as text. */
  head: string;
  /** 'closed': the server closed or reset it; 'open': still open at the deadline (the client then closed it). */
  ended: 'closed' | 'open';
  /** Milliseconds from connecting to the end. */
  ms: number;
  /** Pieces of the request sent before the server answered or closed. */
  sent: number;
}

function statusOf(head: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
}

/**
 * Sends `pieces` on a fresh connection, `gapMs` apart, as a slow or
 * misbehaving client does, and stops sending as soon as the server answers
 * (unless `keepSending`: a client that does not look at the answer until it
 * has sent everything) or closes; resolves when the server has closed the
 * connection, or after `maxMs` with ended 'open'. Write errors (EPIPE,
 * ECONNRESET: the server closed while the client was still sending) are an
 * end, not failures: what was received tells whether it was answered.
 */
export function rawExchange(port: number, pieces: (string | Buffer)[], gapMs: number, maxMs: number, keepSending = false): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    let sent = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (ended: RawOutcome['ended']): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ status: statusOf(head), head, ended, ms: performance.now() - t0, sent });
    };
    const answered = (): boolean => (head.length > 0 && !keepSending) || done;
    const next = (): void => {
      if (answered() || sent >= pieces.length) return;
      socket.write(pieces[sent++]!);
      timer = setTimeout(next, gapMs);
    };
    const deadline = setTimeout(() => finish('open'), maxMs);
    socket.on('connect', next);
    socket.on('data', (b: Buffer) => {
      if (head.length < 4096) head += b.subarray(0, 4096 - head.length).toString('latin1');
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
  });
}

function getRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}

function openGet(port: number, path: string): Socket {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('connect', () => socket.write(getRequest(path)));
  return socket;
}

/** GETs `path` and destroys the connection once `afterBytes` bytes have arrived (a client that gives up mid-download); resolves with the bytes received. */
export function abortedDownload(port: number, path: string, afterBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = openGet(port, path);
    let received = 0;
    socket.on('data', (b: Buffer) => {
      received += b.length;
      if (received >= afterBytes) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the server closed the download after ${received} bytes, before the client aborted it at ${afterBytes}`)));
    // A download that stops making progress is a failure, not a hang.
    socket.setTimeout(30_000, () => {
      socket.destroy();
      reject(new Error(`the download stalled after ${received} bytes`));
    });
  });
}

/** A download whose client stopped reading: what it had got when it looked again, and whether the server had cut it off by then. */
export interface StalledOutcome {
  /** Body bytes received, once the client reads again. */
  received: number;
  /** The server closed the connection before the whole body arrived. */
  cut: boolean;
}

/**
 * GETs `path` and reads nothing for `stallMs` (the kernel's buffers fill and
 * the server is held up by backpressure); then reads whatever had arrived and
 * how the connection ended, up to `maxMs` more.
 */
export function stalledDownload(port: number, path: string, bodyBytes: number, stallMs: number, maxMs: number): Promise<StalledOutcome> {
  return new Promise((resolve) => {
    const socket = openGet(port, path);
    socket.pause();
    let head = Buffer.alloc(0);
    let received = -1;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ received: Math.max(0, received), cut: received < bodyBytes });
    };
    let deadline: NodeJS.Timeout | undefined;
    socket.on('data', (b: Buffer) => {
      if (received >= 0) {
        received += b.length;
        return;
      }
      // Count from the end of the response headers.
      head = Buffer.concat([head, b]);
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0) received = head.length - end - 4;
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
    setTimeout(() => {
      socket.resume();
      deadline = setTimeout(finish, maxMs);
    }, stallMs);
  });
}
