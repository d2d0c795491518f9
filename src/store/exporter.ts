import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Backend, FileRow } from '../backends/backend.js';
import { ChunkReader } from './chunk-reader.js';

/** Chunks fetched per query while streaming a file. */
const FETCH_BATCH = 64;

/**
 * Streams a stored file's bytes in order. The caller checks the digest (export
 * does it before it reports success; the server sends it as the ETag).
 */
export async function* fileBytes(backend: Backend, reader: ChunkReader, file: FileRow): AsyncGenerator<Buffer> {
  const ids = await backend.fileChunkIds(file.id);
  for (let i = 0; i < ids.length; i += FETCH_BATCH) {
    yield* await reader.read(ids.slice(i, i + FETCH_BATCH));
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
 * recorded at import. The bytes go to a temporary file that is renamed into
 * place only when the digest matches, so a failed export leaves no bad file.
 */
export async function exportFile(backend: Backend, reader: ChunkReader, file: FileRow, dest: string): Promise<number> {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${process.pid}.tessera-export.tmp`);
  const fd = openSync(tmp, 'w');
  const h = createHash('sha256');
  let written = 0;
  try {
    for await (const buf of fileBytes(backend, reader, file)) {
      h.update(buf);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      written += buf.length;
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  const digest = h.digest();
  if (written !== file.size || !digest.equals(file.sha256)) {
    rmSync(tmp, { force: true });
    throw new Error(`${file.path}: reconstructed ${written} bytes with SHA-256 ${digest.toString('hex')}, expected ${file.size} bytes with ${file.sha256.toString('hex')}; the store is damaged`);
  }
  renameSync(tmp, dest);
  return written;
}
