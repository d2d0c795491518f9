import { constants } from 'node:buffer';
import type { Backend, FileRow } from '../../backends/backend.js';
import { TesseraError, damaged } from '../../errors.js';
import { Sha256Sink } from '../../io/parallel-hash.js';
import type { HashingSink } from '../../io/parallel-hash.js';
import type { ChunkReader, ReadStats } from './chunk-reader.js';
import { emptyStats } from './chunk-reader.js';
import { ReadPlan } from './read-plan.js';

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
  /** A plan made for this file among others (planFor): its chunk list and payloads may be there already. */
  plan?: ReadPlan;
  /**
   * Let other work of this thread's event loop run between steps of a
   * whole-file read, and take smaller steps (a server's model load: its
   * other requests wait at most one step, a few ms).
   */
  yieldToEvents?: boolean;
}

/** Chunks fetched per step (a query for 64 payloads), and bytes per block handed on (writes of up to 8 MiB). */
const STEP_CHUNKS = 64;
/** Chunks per step of a read that yields to the event loop (about 1 MiB: a few ms of decoding). */
const SHORT_STEP_CHUNKS = 16;
const STEP_BYTES = 8 << 20;
/** Layouts kept (a committed file never changes, so they never go stale). */
const LAYOUTS = 64;

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
  /**
   * Recently read files' chunk lists, with their offsets once a range read
   * needed them (a committed file never changes). Keyed by id and digest: an
   * SQLite file id can be handed out again after `rm`, never to the same bytes.
   */
  private known = new Map<string, { ids: number[]; offsets?: number[] }>();

  constructor(private readonly backend: Backend, private readonly chunks: ChunkReader) {}

  /** Which chunks make up the file and where each starts; a layout that does not add up to the file's size is damage. */
  async layout(file: FileRow): Promise<FileLayout> {
    const hit = this.recall(file);
    if (hit?.offsets) return { ids: hit.ids, offsets: hit.offsets };
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
    this.remember(file, { ids, offsets });
    return { ids, offsets };
  }

  /** The file's chunk ids in order (all a whole-file read needs beforehand). */
  private async chunkIds(file: FileRow): Promise<number[]> {
    const hit = this.recall(file);
    if (hit) return hit.ids;
    const ids = await this.backend.fileChunkIds(file.id);
    this.remember(file, { ids });
    return ids;
  }

  private recall(file: FileRow): { ids: number[]; offsets?: number[] } | undefined {
    const key = keyOf(file);
    const hit = this.known.get(key);
    if (hit) {
      this.known.delete(key);
      this.known.set(key, hit);
    }
    return hit;
  }

  private remember(file: FileRow, entry: { ids: number[]; offsets?: number[] }): void {
    this.known.set(keyOf(file), entry);
    if (this.known.size > LAYOUTS) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * Bytes [start, end) of a stored file, in order, in blocks of at most
   * 8 MiB (a chunk bigger than that is a block of its own), fetched 64 chunks
   * a step. A whole-file read walks the file's chunk list and checks the
   * SHA-256; a range read finds its first chunk in the layout and reads only
   * the chunks the range touches. A block is valid until the sink reuses its
   * buffer.
   */
  async *read(file: FileRow, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
    const start = opts.start ?? 0;
    const end = opts.end ?? file.size;
    if (start < 0 || end > file.size || start > end) throw new RangeError(`${file.path}: range ${start}-${end} is outside its ${file.size} bytes`);
    const keep = opts.keep === true;
    const stats = opts.stats ?? emptyStats();
    if (start > 0 || end < file.size) {
      yield* this.readRange(file, start, end, keep, stats);
      return;
    }
    const sink = opts.sink ?? new Sha256Sink();
    // Sizes come with the chunks (gather): a whole read needs only the list of ids beforehand.
    const ids = opts.plan?.chunkIds(file) ?? (await this.chunkIds(file));
    const fetched = await opts.plan?.payloads(file);
    let held: Buffer | undefined;
    let bytes = 0;
    const step = opts.yieldToEvents ? SHORT_STEP_CHUNKS : STEP_CHUNKS;
    for (let i = 0; i < ids.length; i += step) {
      // SQLite answers synchronously: without this, a whole read would run without the event loop turning once.
      if (opts.yieldToEvents && i > 0) await new Promise((r) => setImmediate(r));
      const g = await this.chunks.gather(ids.slice(i, i + step), stats, fetched);
      for (const [from, to, n] of blocksOf(g.sizes)) {
        if (bytes + n > file.size) throw damaged(`${file.path}: its chunks hold more than the file's ${file.size} bytes; the store is damaged`);
        const block = sink.alloc(n);
        this.chunks.place(g, from, to, block, keep);
        sink.take(block);
        bytes += n;
        // Hold each block back until the next is decoded, and the last until the digest matched.
        if (held) yield held;
        held = block;
      }
    }
    const digest = await sink.digest();
    if (bytes !== file.size || !digest.equals(file.sha256)) throw new DamagedFileError(file, bytes, digest);
    if (held) yield held;
  }

  /** Bytes [start, end) through the layout: only the chunks the range touches, the first block and the last cut to it. */
  private async *readRange(file: FileRow, start: number, end: number, keep: boolean, stats: ReadStats): AsyncGenerator<Buffer> {
    const { ids, offsets } = await this.layout(file);
    let i = chunkAt(offsets, start);
    while (i < ids.length && offsets[i]! < end) {
      let j = Math.min(ids.length, i + STEP_CHUNKS);
      while (j > i + 1 && offsets[j - 1]! >= end) j--;
      const g = await this.chunks.gather(ids.slice(i, j), stats);
      for (const [from, to, n] of blocksOf(g.sizes)) {
        const first = offsets[i + from]!;
        const block = Buffer.allocUnsafe(n);
        this.chunks.place(g, from, to, block, keep);
        yield block.subarray(Math.max(0, start - first), Math.min(n, end - first));
      }
      i = j;
    }
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
    for await (const block of this.read(file, { sink, keep: true, stats, yieldToEvents: true })) void block;
    return { bytes: out, stats };
  }

  /** A plan for reading these files whole, one after another or a few at a time (an export). */
  planFor(files: FileRow[]): Promise<ReadPlan> {
    return ReadPlan.create(this.backend, files, STEP_CHUNKS);
  }

  /** Forgets the chunk lists it keeps (after gc: a removed file's list is useless, and its memory is freed). */
  clear(): void {
    this.known.clear();
  }
}

const keyOf = (file: FileRow): string => `${file.id}:${file.sha256.toString('hex')}`;

/** Consecutive runs [from, to) of chunks whose sizes add up to at most STEP_BYTES (one chunk at least), with their total. */
function* blocksOf(sizes: number[]): Generator<[number, number, number]> {
  let from = 0;
  while (from < sizes.length) {
    let to = from + 1;
    let n = sizes[from]!;
    while (to < sizes.length && n + sizes[to]! <= STEP_BYTES) n += sizes[to++]!;
    yield [from, to, n];
    from = to;
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
