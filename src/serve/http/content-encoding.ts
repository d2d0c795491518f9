import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import binding from 'zstd-napi/binding.js';
import { invalid, tooLarge, unsupported } from '../../errors.js';

/**
 * Decoding a request body's Content-Encoding (RFC 9110 §8.4) as it streams.
 * Every decoder here is pulled by its consumer: it produces a bounded amount
 * ahead of what was taken (zlib's streams wait on backpressure; the zstd
 * stage is an async generator), so the caller's limit on decoded bytes stops
 * a decompression bomb without buffering it.
 */

export type Coding = 'gzip' | 'deflate' | 'br' | 'zstd';

const NAMES: Record<string, Coding | 'identity'> = {
  'gzip': 'gzip',
  // RFC 9110 §8.4.1.3: a recipient should treat x-gzip as gzip.
  'x-gzip': 'gzip',
  // The zlib format (RFC 1950), as RFC 9110 §8.4.1.2 defines "deflate".
  'deflate': 'deflate',
  'br': 'br',
  'zstd': 'zstd',
  'identity': 'identity',
};

/**
 * The one coding of a Content-Encoding header; undefined for none (absent,
 * empty or identity). Unknown codings, and several stacked ones, are refused
 * (415): the body could not be stored as the file it stands for.
 */
export function parseContentEncoding(header: string | string[] | undefined): Coding | undefined {
  if (header === undefined) return undefined;
  const codings = (Array.isArray(header) ? header.join(',') : header).split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
  if (codings.length > 1) throw unsupported(`Content-Encoding "${codings.join(', ')}" applies several codings; send the file with one (gzip, deflate, br or zstd) or none`);
  if (codings.length === 0) return undefined;
  const coding = Object.hasOwn(NAMES, codings[0]!) ? NAMES[codings[0]!]! : undefined;
  if (coding === undefined) throw unsupported(`Content-Encoding "${codings[0]}" is not supported; send the file with gzip, deflate, br or zstd, or uncompressed`);
  return coding === 'identity' ? undefined : coding;
}

/**
 * The largest zstd window accepted, as a power of two: 2^27 = 128 MiB, zstd's
 * own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT), so whatever `zstd -d`
 * decodes without --memory is taken; it bounds what one zstd upload holds.
 */
export const ZSTD_WINDOW_LOG_MAX = 27;

type Stage = Transform | ((source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>);

export interface BodyDecoder {
  coding: Coding;
  /** A pipeline stage from the body as sent to the decoded bytes. */
  stage: Stage;
  /** Once the stage has ended: refuses bytes that came after the end of the encoded data (they would be dropped unseen). */
  checkEnd(received: number): void;
}

export function bodyDecoder(coding: Coding): BodyDecoder {
  if (coding === 'zstd') return { coding, stage: zstdDecode, checkEnd: () => {} };
  const z = coding === 'gzip' ? createGunzip() : coding === 'deflate' ? createInflate() : createBrotliDecompress();
  return {
    coding,
    stage: z,
    checkEnd: (received) => {
      // zlib stops at the end of the stream and ignores what follows; bytesWritten is the input it used.
      if (z.bytesWritten !== received) throw invalid(`the ${coding} data ends after ${z.bytesWritten} of the body's ${received} bytes`);
    },
  };
}

/** An error of a decoder (corrupt or truncated data) as the client's fault. */
export function decodeError(coding: Coding, e: Error): Error {
  return invalid(`the body is not valid ${coding} data: ${e.message}`);
}

/**
 * zstd through zstd-napi's low-level binding: its DecompressStream decodes a
 * whole input chunk at once, ignoring backpressure (a 64 KiB chunk of a bomb
 * is gigabytes in memory); here each output block waits for the consumer.
 * Concatenated frames (and skippable ones) are decoded as zstd does.
 */
async function* zstdDecode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const dctx = new binding.DCtx();
  dctx.setParameter(binding.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const size = binding.dStreamOutSize();
  let inFrame = false;
  for await (const chunk of source) {
    let src: Buffer = chunk;
    for (;;) {
      const out = Buffer.allocUnsafe(size);
      let hint: number;
      let produced: number;
      let consumed: number;
      try {
        [hint, produced, consumed] = dctx.decompressStream(out, src);
      } catch (e) {
        // zstd's message for a window over windowLogMax; valid data, past a limit of ours.
        if (/too much memory/.test((e as Error).message)) throw tooLarge(`the zstd data needs a window over 2^${ZSTD_WINDOW_LOG_MAX} bytes, more than this server decodes`);
        throw decodeError('zstd', e as Error);
      }
      src = src.subarray(consumed);
      inFrame = hint !== 0;
      if (produced > 0) yield out.subarray(0, produced);
      // Done with this chunk once it is used up and zstd has nothing left to flush (a full output block may have more behind it).
      if (src.length === 0 && (produced < size || !inFrame)) break;
    }
  }
  if (inFrame) throw decodeError('zstd', new Error('the data ends inside a frame'));
}
