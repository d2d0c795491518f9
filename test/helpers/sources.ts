import assert from 'node:assert/strict';
import type { ByteSource } from '../../src/io/file-source.js';
import { FormatError } from '../../src/formats/errors.js';

/**
 * A ByteSource over a buffer that records what readers read and refuses large
 * reads, so tests can check that a reader never touches tensor bytes or
 * allocates by an untrusted length. `virtualSize` makes the file look larger
 * than the buffer (the rest reads as zeros), to test size limits without
 * allocating the size.
 */
export class RecordingSource implements ByteSource {
  readonly size: number;
  bytesRead = 0;
  maxRead = 0;
  reads = 0;

  constructor(readonly name: string, private readonly buf: Buffer, readonly maxReadAllowed = 16 * 1024 * 1024, virtualSize?: number) {
    this.size = virtualSize ?? buf.length;
  }

  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.name}: read of ${length} bytes at offset ${offset} runs past the end (${this.size} bytes)`);
    }
    if (length > this.maxReadAllowed) throw new Error(`${this.name}: read of ${length} bytes exceeds the test's ${this.maxReadAllowed}-byte limit`);
    this.reads++;
    this.bytesRead += length;
    this.maxRead = Math.max(this.maxRead, length);
    if (offset + length <= this.buf.length) return this.buf.subarray(offset, offset + length);
    const out = Buffer.alloc(length);
    if (offset < this.buf.length) this.buf.copy(out, 0, offset);
    return out;
  }

  readInto(buf: Buffer, offset: number): Buffer {
    this.read(offset, buf.length).copy(buf);
    return buf;
  }
}

/** Asserts `fn` throws a FormatError naming `file`, whose message matches `pattern` when given. */
export function assertFormatError(fn: () => unknown, file: string, pattern?: RegExp): FormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a FormatError for ${file}, but nothing was thrown`);
  if (!(caught instanceof FormatError)) {
    assert.fail(`expected a FormatError for ${file}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`);
  }
  assert.ok(caught.message.includes(file), `message does not name the file: ${caught.message}`);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** Deterministic pseudo-random bytes (so tensors differ and byte comparisons mean something). */
export function pseudoRandom(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
