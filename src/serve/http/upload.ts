import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TesseraError, invalid, tooLarge } from '../../errors.js';
// A path inside a model keeps the store's name policy: checked again here, where it becomes a file.
import { checkNewFilePath as checkModelPath, quoteName } from '../../store/names.js';

export interface ReceivedUpload {
  /** The directory to import: it holds the one file at its relative path. */
  root: string;
  relPath: string;
  size: number;
  sha256: Buffer;
  cleanup(): void;
}

/**
 * A failure to receive `relPath`, in words that name no path of the server's
 * (the client has no business knowing its temporary directory): a file-system
 * error is the server's (500), any other the request's (400).
 */
function receiveError(e: unknown, relPath: string): Error {
  if (e instanceof TesseraError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.path === 'string') return new Error(`could not keep the upload of ${quoteName(relPath)} on the server (${err.code ?? 'file-system error'})`);
  return invalid(`upload of ${quoteName(relPath)} failed: ${err.message}`);
}

/**
 * Streams a request body into a temporary directory (under os.tmpdir()) as
 * `relPath`, hashing it on the way, and refuses it with 413 past `limit`
 * bytes. The caller imports `root` and calls cleanup().
 */
export async function receiveUpload(req: IncomingMessage, relPath: string, limit: number): Promise<ReceivedUpload> {
  checkModelPath(relPath);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(`upload of ${declared} bytes is over the limit of ${limit} bytes (--max-upload)`);
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'tessera-upload-'));
  } catch (e) {
    throw receiveError(e, relPath);
  }
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const root = join(dir, 'model');
  const dest = join(root, ...relPath.split('/'));
  let size = 0;
  const hash = createHash('sha256');
  try {
    mkdirSync(dirname(dest), { recursive: true });
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit) {
          cb(tooLarge(`upload is over the limit of ${limit} bytes (--max-upload)`));
          return;
        }
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(req, count, createWriteStream(dest));
  } catch (e) {
    cleanup();
    throw receiveError(e, relPath);
  }
  if (size === 0) {
    cleanup();
    throw invalid('the upload is empty');
  }
  return { root, relPath, size, sha256: hash.digest(), cleanup };
}
