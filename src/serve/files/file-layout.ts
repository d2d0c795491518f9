import type { FileRow } from '../../backends/backend.js';
import type { Store } from '../../store/store.js';

/** A stored file's chunks and where each starts, for reading a byte range without decoding what precedes it. */
export interface FileLayout {
  ids: number[];
  /** offsets[i] is chunk i's first byte; offsets[ids.length] is the file size. */
  offsets: number[];
}

/** Chunk layouts of recently read files (a committed file never changes, so they never go stale). */
export class FileLayouts {
  private map = new Map<number, FileLayout>();

  constructor(private readonly store: Store, private readonly capacity = 64) {}

  async get(file: FileRow): Promise<FileLayout> {
    const hit = this.map.get(file.id);
    if (hit) {
      this.map.delete(file.id);
      this.map.set(file.id, hit);
      return hit;
    }
    const ids = await this.store.backend.fileChunkIds(file.id);
    const offsets = new Array<number>(ids.length + 1);
    offsets[0] = 0;
    const BATCH = 500;
    for (let i = 0; i < ids.length; i += BATCH) {
      const infos = await this.store.backend.chunkInfo(ids.slice(i, i + BATCH));
      for (const [k, c] of infos.entries()) offsets[i + k + 1] = offsets[i + k]! + c.rawSize;
    }
    if (offsets[ids.length] !== file.size) {
      throw new Error(`${file.path}: its chunks hold ${offsets[ids.length]} bytes, the file has ${file.size}; the store is damaged`);
    }
    const layout = { ids, offsets };
    this.map.set(file.id, layout);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
    return layout;
  }
}

/** Index of the chunk holding byte `pos` (0 <= pos < size). */
function chunkAt(offsets: number[], pos: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Chunks fetched and decoded per step. */
const BATCH = 64;

/** Bytes [start, end) of a stored file, in order, in blocks of up to BATCH chunks, decoding only the chunks the range touches. */
export async function* readRange(store: Store, layout: FileLayout, start: number, end: number): AsyncGenerator<Buffer> {
  if (start >= end) return;
  const reader = store.reader();
  const { ids, offsets } = layout;
  let i = chunkAt(offsets, start);
  while (i < ids.length && offsets[i]! < end) {
    const j = Math.min(ids.length, i + BATCH);
    let last = i;
    while (last < j && offsets[last]! < end) last++;
    const chunks = await store.backend.getChunks(ids.slice(i, last));
    const base = offsets[i]!;
    const block = Buffer.allocUnsafe(offsets[last]! - base);
    for (const [k, c] of chunks.entries()) {
      const at = offsets[i + k]! - base;
      await reader.decodeInto(c, block.subarray(at, at + c.rawSize));
    }
    yield block.subarray(Math.max(0, start - base), Math.min(block.length, end - base));
    i = last;
  }
}
