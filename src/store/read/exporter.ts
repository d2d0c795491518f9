import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { FileRow } from '../../backends/backend.js';
import { ParallelSha256 } from '../../io/parallel-hash.js';
import type { FileReader } from './file-reader.js';
import { noRoomCause } from '../../backends/errors.js';

/** Files at least this big are hashed on a worker thread while they are written. */
const WORKER_HASH_MIN = 8 << 20;

/** Where one file of a model goes, refusing paths that would escape the output directory. */
export function outputPath(outDir: string, rel: string): string {
  const root = resolve(outDir);
  const p = resolve(root, rel);
  if (!p.startsWith(root + sep)) throw new Error(`stored path "${rel}" would leave the output directory`);
  return p;
}

/**
 * Writes one stored file to `dest`. The reader checks its SHA-256 against the
 * digest recorded at import (hashed on a worker thread while this thread
 * decodes and writes). The bytes go to a temporary file that is renamed into
 * place only when the digest matched, so a failed export leaves no bad file.
 * Like cp, it does not fsync.
 */
export async function exportFile(reader: FileReader, file: FileRow, dest: string): Promise<number> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${process.pid}.tessera-export.tmp`);
  const fd = openSync(tmp, 'w');
  const hash = new ParallelSha256(file.size >= WORKER_HASH_MIN);
  let written = 0;
  try {
    for await (const buf of reader.read(file, { sink: hash })) {
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
  renameSync(tmp, dest);
  return written;
}
