import type { IncomingMessage } from 'node:http';
import { invalid, tooLarge } from '../../errors.js';

/**
 * The request body, refused with 413 as soon as it is known to exceed
 * `limit` (by Content-Length before reading, or while reading).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(`request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      req.removeListener('data', onData);
      // Stop reading; the response closes the connection.
      req.pause();
      reject(e);
    };
    const onData = (b: Buffer): void => {
      size += b.length;
      if (size > limit) fail(tooLarge(`request body is over the limit of ${limit} bytes`));
      else parts.push(b);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size));
    });
    req.once('error', fail);
    req.once('aborted', () => fail(invalid('the client aborted the request')));
  });
}
