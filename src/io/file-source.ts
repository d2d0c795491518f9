import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';

/**
 * Random-access reads from a file by offset (pread). Readers parse headers
 * through this instead of loading whole files: model files can exceed the
 * 2 GiB limit of readFileSync.
 */
export interface ByteSource {
  /** Name used in error messages (usually the file path). */
  readonly name: string;
  readonly size: number;
  /**
   * Returns exactly `length` bytes at `offset`. Throws when the range runs past
   * the end. Callers bound `length` before calling: it is never taken from an
   * untrusted field without a check.
   */
  read(offset: number, length: number): Buffer;
}

/** A source the import streams through, reading blocks into buffers it supplies. */
export interface BlockSource extends ByteSource {
  /** Fills `buf` with the bytes at `offset`; same bounds as read(). */
  readInto(buf: Buffer, offset: number): Buffer;
}

export class FileSource implements BlockSource {
  readonly size: number;
  private fd: number;

  constructor(readonly name: string) {
    this.fd = openSync(name, 'r');
    this.size = fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Buffer {
    return this.readInto(Buffer.allocUnsafe(Math.max(0, length)), offset);
  }

  readInto(buf: Buffer, offset: number): Buffer {
    const length = buf.length;
    this.checkRange(length, offset);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new Error(`${this.name}: file shrank while reading (offset ${offset + done})`);
      done += n;
    }
    return buf;
  }

  /**
   * readInto() in libuv's thread pool: the copy from the page cache runs on
   * another core while this thread gets on with other work (an import's
   * database writes).
   */
  async readIntoAsync(buf: Buffer, offset: number): Promise<Buffer> {
    const length = buf.length;
    this.checkRange(length, offset);
    let done = 0;
    while (done < length) {
      const n = await new Promise<number>((resolve, reject) => read(this.fd, buf, done, length - done, offset + done, (e, got) => (e ? reject(e) : resolve(got))));
      if (n === 0) throw new Error(`${this.name}: file shrank while reading (offset ${offset + done})`);
      done += n;
    }
    return buf;
  }

  private checkRange(length: number, offset: number): void {
    if (offset < 0 || offset + length > this.size) {
      throw new RangeError(`${this.name}: read of ${length} bytes at offset ${offset} runs past the end of the file (${this.size} bytes)`);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** An in-memory ByteSource, for tests and for bytes that arrive over HTTP. */
export class BufferSource implements BlockSource {
  readonly size: number;
  constructor(readonly name: string, private readonly buf: Buffer) {
    this.size = buf.length;
  }
  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.name}: read of ${length} bytes at offset ${offset} runs past the end (${this.size} bytes)`);
    }
    return this.buf.subarray(offset, offset + length);
  }
  readInto(buf: Buffer, offset: number): Buffer {
    this.read(offset, buf.length).copy(buf);
    return buf;
  }
}
