import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TesseraError, invalid, tooLarge } from '../../errors.js';
import { bodyDecoder, decodeError, parseContentEncoding } from './content-encoding.js';
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

/** Counts the bytes passing through, and fails with 413 past `limit` (`what` says which bytes, for the message). */
function meter(limit: number, what: string, onChunk: (chunk: Buffer) => void = () => {}): { stage: Transform; bytes: () => number } {
  let bytes = 0;
  const stage = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > limit) {
        cb(tooLarge(`${what} over the limit of ${limit} bytes (--max-upload)`));
        return;
      }
      onChunk(chunk);
      cb(null, chunk);
    },
  });
  return { stage, bytes: () => bytes };
}

/**
 * Streams a request body into a temporary directory (under os.tmpdir()) as
 * `relPath`, decoding its Content-Encoding (gzip, deflate, br, zstd) on the
 * way, and hashes the decoded file. `limit` bounds the body as sent and the
 * decoded file alike (413 past it, as the bytes stream: a decompression bomb
 * stops there). The caller imports `root` and calls cleanup(); on any failure
 * the temporary directory is gone before this throws.
 */
export async function receiveUpload(req: IncomingMessage, relPath: string, limit: number): Promise<ReceivedUpload> {
  checkModelPath(relPath);
  const coding = parseContentEncoding(req.headers['content-encoding']);
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
  const hash = createHash('sha256');
  const sent = meter(limit, 'the upload is');
  const file = meter(limit, coding ? `the upload decoded from ${coding} is` : 'the upload is', (chunk) => hash.update(chunk));
  const decoder = coding ? bodyDecoder(coding) : undefined;
  let decoderError: unknown;
  if (decoder && typeof decoder.stage !== 'function') decoder.stage.once('error', (e) => (decoderError = e));
  // The pipeline must not destroy the request: a destroyed request leaves the rest of the body unread on the
  // connection, and the client still sending it never gets the answer. On a failure the server drains it (linger.ts).
  const head = decoder ? sent.stage : file.stage;
  req.pipe(head);
  req.once('close', () => {
    if (!req.complete) head.destroy(invalid('the client closed the connection before the body was complete'));
  });
  try {
    mkdirSync(dirname(dest), { recursive: true });
    if (decoder) {
      await pipeline(sent.stage, decoder.stage, file.stage, createWriteStream(dest));
      decoder.checkEnd(sent.bytes());
    } else {
      await pipeline(file.stage, createWriteStream(dest));
    }
  } catch (e) {
    req.unpipe(head);
    cleanup();
    // A limit (413) or client error may reach the decoder stage too: a TesseraError passes as it is.
    if (e instanceof TesseraError) throw e;
    if (decoder && e === decoderError) throw decodeError(decoder.coding, e as Error);
    throw receiveError(e, relPath);
  }
  const size = file.bytes();
  if (size === 0) {
    cleanup();
    throw invalid('the upload is empty');
  }
  return { root, relPath, size, sha256: hash.digest(), cleanup };
}
