import { createHash } from 'node:crypto';
import { constants } from 'node:buffer';
import type { Backend, FileRow } from '../../backends/backend.js';
import { TesseraError, damaged } from '../../errors.js';
import type { BlockSink } from '../../io/parallel-hash.js';
import type { ChunkReader, ReadStats } from './chunk-reader.js';
import { emptyStats } from './chunk-reader.js';

/** A stored file's chunks and where each starts, for reading any byte range without decoding what precedes it. */
export interface FileLayout {
  ids: number[];
  /** offsets[i] is chunk i's first byte; offsets[ids.length] is the file size. */
  offsets: number[];
}

/** The store's two readers, for the modules that check or copy stored data (verify, repair, migrate). */
export interface StoreReaders {
  chunks: ChunkReader;
  files: FileReader;
}

/** A sink that also hashes what it takes: whole-file reads check the file's SHA-256 with it. */
export interface HashingSink extends BlockSink {
  digest(): Promise<Buffer>;
}

export interface ReadOptions {
  /** First byte (default 0) and the byte after the last (default the file's size). */
  start?: number;
  end?: number;
  /** Where blocks are decoded into; a whole-file read needs one that hashes (default: fresh buffers, SHA-256 on this thread). */
  sink?: HashingSink;
  /** Keep the decoded chunks in the store's cache (a model load: the next model of the family shares them). */
  keep?: boolean;
  /** Counts the chunks read and those the cache had. */
  stats?: ReadStats;
}

/** Chunks fetched per step, and bytes per block handed on: a query per 64 chunks, writes of up to 8 MiB. */
const STEP_CHUNKS = 64;
const STEP_BYTES = 8 << 20;
/** Layouts kept (a committed file never changes, so they never go stale). */
const LAYOUTS = 64;

/** Fresh buffers, hashed on this thread as they are taken. */
export class Sha256Sink implements HashingSink {
  private hash = createHash('sha256');
  constructor(readonly alloc: (length: number) => Buffer = (n) => Buffer.allocUnsafe(n)) {}
  take(block: Buffer): void {
    this.hash.update(block);
  }
  async digest(): Promise<Buffer> {
    return this.hash.digest();
  }
}

/** A file whose rebuilt bytes are not the ones imported: the store is damaged. */
export class DamagedFileError extends TesseraError {
  constructor(file: FileRow, bytes: number, digest: Buffer) {
    super('damaged', `${file.path}: reconstructed ${bytes} bytes with SHA-256 ${digest.toString('hex')}, expected ${file.size} bytes with ${file.sha256.toString('hex')}; the store is damaged`);
    this.name = 'DamagedFileError';
  }
}

/**
 * The one way stored files come back as bytes: export, the server's model
 * loads and downloads (whole or a Range), verify, repair and migrate all read
 * through it. A file is its chunk list; a read walks it in steps of up to 64
 * chunks, each decoded into one block through the chunk reader (the store's
 * cache first, then one query for the payloads and one per level of delta
 * bases). A whole-file read is checked against the SHA-256 recorded at
 * import, and its last block is handed on only after the digest matched: a
 * consumer never receives a complete file with wrong bytes.
 */
export class FileReader {
  private layouts = new Map<number, FileLayout>();

  constructor(private readonly backend: Backend, private readonly chunks: ChunkReader) {}

  /** Which chunks make up the file and where each starts; a layout that does not add up to the file's size is damage. */
  async layout(file: FileRow): Promise<FileLayout> {
    const hit = this.layouts.get(file.id);
    if (hit) {
      this.layouts.delete(file.id);
      this.layouts.set(file.id, hit);
      return hit;
    }
    const { ids, sizes } = await this.backend.fileChunkSizes(file.id);
    const offsets = new Array<number>(ids.length + 1);
    offsets[0] = 0;
    for (let i = 0; i < ids.length; i++) {
      const size = sizes[i];
      if (size === null || size === undefined) throw damaged(`${file.path}: chunk ${ids[i]} is missing from the store; the store is damaged`);
      offsets[i + 1] = offsets[i]! + size;
    }
    if (offsets[ids.length] !== file.size) {
      throw damaged(`${file.path}: its chunks hold ${offsets[ids.length]} bytes, the file has ${file.size}; the store is damaged`);
    }
    const layout = { ids, offsets };
    this.layouts.set(file.id, layout);
    if (this.layouts.size > LAYOUTS) this.layouts.delete(this.layouts.keys().next().value!);
    return layout;
  }

  /**
   * Bytes [start, end) of a stored file, in order, as blocks of up to 64
   * chunks (about 4 MiB at the default chunk size). Only the chunks the range
   * touches are read. A block is valid until the sink reuses its buffer.
   */
  async *read(file: FileRow, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
    const start = opts.start ?? 0;
    const end = opts.end ?? file.size;
    if (start < 0 || end > file.size || start > end) throw new RangeError(`${file.path}: range ${start}-${end} is outside its ${file.size} bytes`);
    const whole = start === 0 && end === file.size;
    const sink = opts.sink ?? new Sha256Sink();
    const stats = opts.stats ?? emptyStats();
    const { ids, offsets } = await this.layout(file);
    let i = chunkAt(offsets, start);
    let held: Buffer | undefined;
    let bytes = 0;
    while (i < ids.length && offsets[i]! < end) {
      let j = i + 1;
      while (j < ids.length && offsets[j]! < end && j - i < STEP_CHUNKS && offsets[j + 1]! - offsets[i]! <= STEP_BYTES) j++;
      const first = offsets[i]!;
      const block = sink.alloc(offsets[j]! - first);
      await this.chunks.readInto(ids.slice(i, j), block, offsets.slice(i, j).map((o) => o - first), opts.keep === true, stats);
      const part = block.subarray(Math.max(0, start - first), Math.min(block.length, end - first));
      i = j;
      if (!whole) {
        yield part;
        continue;
      }
      sink.take(part);
      bytes += part.length;
      // Hold each block back until the next is decoded, and the last until the digest matched.
      if (held) yield held;
      held = part;
    }
    if (!whole) return;
    const digest = await sink.digest();
    if (bytes !== file.size || !digest.equals(file.sha256)) throw new DamagedFileError(file, bytes, digest);
    if (held) yield held;
  }

  /**
   * The whole file in one buffer (a session is created from it), its SHA-256
   * checked; its chunks are kept in the cache for the models that share them.
   */
  async readWhole(file: FileRow): Promise<{ bytes: Buffer; stats: ReadStats }> {
    if (file.size > constants.MAX_LENGTH) throw new Error(`${file.path}: ${file.size} bytes is more than one buffer can hold`);
    const out = Buffer.allocUnsafeSlow(file.size);
    let pos = 0;
    const sink = new Sha256Sink((n) => out.subarray(pos, (pos += n)));
    const stats = emptyStats();
    for await (const block of this.read(file, { sink, keep: true, stats })) void block;
    return { bytes: out, stats };
  }

  /** Forgets cached layouts (after gc: a removed file's id is never reused, but its memory is freed). */
  clear(): void {
    this.layouts.clear();
  }
}

/** Index of the chunk holding byte `pos` (the last chunk when pos is the end). */
function chunkAt(offsets: number[], pos: number): number {
  let lo = 0;
  let hi = Math.max(0, offsets.length - 2);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
