import type { IncomingMessage } from 'node:http';
import { invalid, tooLarge } from '../../errors.js';

/**
 * The request body, refused with 413 as soon as it is known to exceed
 * `limit` (by Content-Length before reading, or while reading). `reserve` is
 * told the body's size as soon as it is known (declared, or as it arrives),
 * and may refuse it by throwing (the server's bytes in flight).
 */
export function readBody(req: IncomingMessage, limit: number, reserve: (bytes: number) => void = () => {}): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(`request body of ${declared} bytes is over the limit of ${limit} bytes`));
  }
  try {
    if (declared !== undefined) reserve(Number(declared));
  } catch (e) {
    return Promise.reject(e);
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
      if (size > limit) {
        fail(tooLarge(`request body is over the limit of ${limit} bytes`));
        return;
      }
      try {
        if (declared === undefined) reserve(size);
      } catch (e) {
        fail(e as Error);
        return;
      }
      parts.push(b);
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
