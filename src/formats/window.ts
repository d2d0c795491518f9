import type { ByteSource } from '../io/file-source.js';
import { FormatError } from './errors.js';

/** Size of one cached pread window: big enough that a header parse makes few syscalls, small enough to never matter for memory. */
export const WINDOW_SIZE = 64 * 1024;

/**
 * Byte-level access to a ByteSource through one cached window, for parsers
 * that walk a header field by field (protobuf, GGUF). Reads never go past the
 * end of the source: a range that does is a FormatError naming the file, not
 * the RangeError the ByteSource would throw, so truncated files are reported
 * as malformed input rather than as crashes.
 */
export class WindowedSource {
  readonly name: string;
  readonly size: number;
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;

  constructor(private readonly src: ByteSource, private readonly windowSize = WINDOW_SIZE) {
    this.name = src.name;
    this.size = src.size;
  }

  fail(cause: string): never {
    throw new FormatError(this.name, cause);
  }

  /** The byte at `pos`; `what` names the field being read, for the error message. */
  byte(pos: number, what = 'data'): number {
    const i = pos - this.winStart;
    if (i >= 0 && i < this.win.length) return this.win[i]!;
    this.load(pos, 1, what);
    return this.win[0]!;
  }

  /**
   * `length` bytes at `pos`. The caller bounds `length` (by a message end, the
   * file size or a fixed limit) before calling. Short ranges come from the
   * window; longer ones are read directly so the window stays small.
   */
  bytes(pos: number, length: number, what = 'data'): Buffer {
    this.check(pos, length, what);
    const i = pos - this.winStart;
    if (i >= 0 && i + length <= this.win.length) return this.win.subarray(i, i + length);
    if (length > this.windowSize) return this.src.read(pos, length);
    this.load(pos, length, what);
    return this.win.subarray(0, length);
  }

  private check(pos: number, length: number, what: string): void {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(length) || pos < 0 || length < 0 || pos + length > this.size) {
      this.fail(`${what} (${length} bytes at offset ${pos}) runs past the end of the file (${this.size} bytes)`);
    }
  }

  private load(pos: number, minLength: number, what: string): void {
    this.check(pos, minLength, what);
    const length = Math.min(Math.max(this.windowSize, minLength), this.size - pos);
    this.win = this.src.read(pos, length);
    this.winStart = pos;
  }
}
