import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Backend, FileRow } from '../backends/backend.js';
import { ParallelSha256 } from '../io/parallel-hash.js';
import type { BlockSink } from '../io/parallel-hash.js';
import type { ChunkReader } from './chunk-reader.js';
import { noRoomCause } from '../backends/errors.js';

/** Chunks fetched per query while streaming a file. */
const FETCH_BATCH = 64;
/** Bytes gathered before a block is handed on. */
const BLOCK = 8 << 20;
/** Files at least this big are hashed on a worker thread while they are written. */
const WORKER_HASH_MIN = 8 << 20;

/** Plain buffers for callers that keep the blocks (streaming to a client). */
export const plainBlocks: BlockSink = { alloc: (n) => Buffer.allocUnsafe(n), take: () => {} };

/**
 * A stored file's bytes in order, as blocks of about 8 MiB decoded straight
 * into buffers from `sink` (and handed to sink.take, e.g. to hash them). A
 * block is valid until the next one is requested when the sink reuses buffers.
 */
export async function* fileBlocks(backend: Backend, reader: ChunkReader, file: FileRow, sink: BlockSink = plainBlocks): AsyncGenerator<Buffer> {
  const ids = await backend.fileChunkIds(file.id);
  let block: Buffer | undefined;
  let pos = 0;
  for (let i = 0; i < ids.length; i += FETCH_BATCH) {
    const chunks = await backend.getChunks(ids.slice(i, i + FETCH_BATCH));
    await reader.prefetchBases(chunks);
    for (const c of chunks) {
      if (block && pos + c.rawSize > block.length) {
        const full = block.subarray(0, pos);
        sink.take(full);
        yield full;
        block = undefined;
      }
      if (!block) {
        block = sink.alloc(Math.max(BLOCK, c.rawSize));
        pos = 0;
      }
      await reader.decodeInto(c, block.subarray(pos, pos + c.rawSize));
      pos += c.rawSize;
    }
  }
  if (block && pos > 0) {
    const last = block.subarray(0, pos);
    sink.take(last);
    yield last;
  }
}

/** Where one file of a model goes, refusing paths that would escape the output directory. */
export function outputPath(outDir: string, rel: string): string {
  const root = resolve(outDir);
  const p = resolve(root, rel);
  if (!p.startsWith(root + sep)) throw new Error(`stored path "${rel}" would leave the output directory`);
  return p;
}

/**
 * Writes one stored file to `dest` and checks its SHA-256 against the digest
 * recorded at import (hashed on a worker thread while the main thread decodes
 * and writes). The bytes go to a temporary file that is renamed into place
 * only when the digest matches, so a failed export leaves no bad file. Like
 * cp, it does not fsync.
 */
export async function exportFile(backend: Backend, reader: ChunkReader, file: FileRow, dest: string): Promise<number> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${process.pid}.tessera-export.tmp`);
  const fd = openSync(tmp, 'w');
  const hash = new ParallelSha256(file.size >= WORKER_HASH_MIN);
  let written = 0;
  try {
    for await (const buf of fileBlocks(backend, reader, file, hash)) {
      for (let off = 0; off < buf.length;) {
        const n = writeSync(fd, buf, off, buf.length - off);
        off += n;
        written += n;
      }
    }
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    await hash.abort();
    // Node's ENOSPC names neither the file nor what happened to it.
    const noRoom = noRoomCause(e);
    throw noRoom ? new Error(`${dest}: ${noRoom} after ${written} bytes; the partial file was removed`, { cause: e }) : e;
  }
  closeSync(fd);
  const digest = await hash.digest();
  if (written !== file.size || !digest.equals(file.sha256)) {
    rmSync(tmp, { force: true });
    throw new Error(`${file.path}: reconstructed ${written} bytes with SHA-256 ${digest.toString('hex')}, expected ${file.size} bytes with ${file.sha256.toString('hex')}; the store is damaged`);
  }
  renameSync(tmp, dest);
  return written;
}
