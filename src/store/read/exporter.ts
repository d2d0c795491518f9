import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { FileRow } from '../../backends/backend.js';
import type { HashThread } from '../../io/parallel-hash.js';
import type { FileReader } from './file-reader.js';
import type { ReadPlan } from './read-plan.js';
import { noRoomCause } from '../../backends/errors.js';

/** Files at least this big are hashed on the hashing thread (a block's round trip costs ~30 µs, hashing 64 KB as much). */
const WORKER_HASH_MIN = 256 << 10;

/** Where one file of a model goes, refusing paths that would escape the output directory. */
export function outputPath(outDir: string, rel: string): string {
  const root = resolve(outDir);
  const p = resolve(root, rel);
  if (!p.startsWith(root + sep)) throw new Error(`stored path "${rel}" would leave the output directory`);
  return p;
}

/** Files exported at once: while one waits for the file system, the next is read and decoded. */
const FILES_IN_FLIGHT = 3;

let tmpSeq = 0;

/**
 * Writes stored files to their destinations, a few at a time: creating and
 * writing files runs on libuv's threads (on this machine's disk creating a
 * file costs ~0.3 ms, which a package of 3,563 files pays 3,563 times),
 * while this thread reads and decodes the next file. The first failure
 * stops it: files in flight finish or are removed, and it is thrown.
 */
export async function exportFiles(reader: FileReader, jobs: { file: FileRow; dest: string }[], hashing: HashThread): Promise<number[]> {
  const written = new Array<number>(jobs.length).fill(0);
  const plan = await reader.planFor(jobs.map((j) => j.file));
  const dirs = new Map<string, Promise<unknown>>();
  let next = 0;
  let failure: { e: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < jobs.length) {
      const i = next++;
      const { file, dest } = jobs[i]!;
      try {
        const dir = dirname(dest);
        let made = dirs.get(dir);
        if (!made) dirs.set(dir, (made = mkdir(dir, { recursive: true })));
        await made;
        written[i] = await exportFile(reader, file, dest, hashing, plan);
      } catch (e) {
        failure ??= { e };
      } finally {
        plan.done(file);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, jobs.length) }, lane));
  if (failure) throw failure.e;
  return written;
}

/**
 * Writes one stored file to `dest` (whose folder exists). The reader checks
 * its SHA-256 against the digest recorded at import (hashed on `hashing`'s
 * thread while this thread decodes). The bytes go to a temporary file that
 * is renamed into place only when the digest matched, so a failed export
 * leaves no bad file. Like cp, it does not fsync.
 */
async function exportFile(reader: FileReader, file: FileRow, dest: string, hashing: HashThread, plan: ReadPlan): Promise<number> {
  const tmp = join(dirname(dest), `.${process.pid}.${tmpSeq++}.tessera-export.tmp`);
  const fh = await open(tmp, 'w');
  const hash = hashing.sink(file.size >= WORKER_HASH_MIN);
  let written = 0;
  const writeOut = async (buf: Buffer): Promise<void> => {
    for (let off = 0; off < buf.length;) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
      written += bytesWritten;
    }
  };
  // One block is written while the next is decoded: the reader reuses a block's memory only two blocks later.
  let writing: Promise<void> | undefined;
  try {
    for await (const buf of reader.read(file, { sink: hash, plan })) {
      await writing;
      writing = writeOut(buf);
      // Reported when awaited (above, or below), not as an unhandled rejection meanwhile.
      writing.catch(() => {});
    }
    await writing;
    await fh.close();
    hash.release();
  } catch (e) {
    await writing?.catch(() => {});
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    hash.abort();
    // Node's ENOSPC names neither the file nor what happened to it.
    const noRoom = noRoomCause(e);
    throw noRoom ? new Error(`${dest}: ${noRoom} after ${written} bytes; the partial file was removed`, { cause: e }) : e;
  }
  await rename(tmp, dest);
  return written;
}
