import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openBackend } from '../src/backends/open.js';
import { sqliteFiles } from '../src/backends/sqlite/files.js';
import type { NewChunk } from '../src/backends/backend.js';
import { hashFileSync } from '../src/io/hash-file-sync.js';
import type { Corpus } from './corpus.js';
import { run } from './proc.js';
import { timed, timing } from './timing.js';
import type { Timing } from './timing.js';

/** SHA-256 (hex) of every corpus file by relative path: what every restore is checked against. */
export function referenceHashes(corpus: Corpus): Map<string, string> {
  return new Map(corpus.files.map((f) => [f.rel, hashFileSync(f.abs).toString('hex')]));
}

/**
 * The machine's own reference speed: coreutils `sha256sum` over the same
 * files, one process for all of them as a user would run it. Its output is
 * checked against the reference digests, so a wrong file list cannot go
 * unnoticed.
 */
export async function sha256sumTiming(corpus: Corpus, hashes: Map<string, string>, repeat: number): Promise<Timing> {
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const { value, seconds } = await timed(() => run('sha256sum', ['--', ...corpus.files.map((f) => f.rel)], { cwd: corpus.root }));
    runs.push(seconds);
    const got = new Map(value.stdout.trim().split('\n').map((l) => {
      const m = /^\\?([0-9a-f]{64}) [ *](.*)$/.exec(l);
      return [m?.[2] ?? l, m?.[1] ?? ''] as const;
    }));
    for (const [rel, digest] of hashes) {
      if (got.get(rel) !== digest) throw new Error(`sha256sum disagrees with the bench's own hash on ${rel}`);
    }
  }
  return timing(runs);
}

/** Files of the corpus under `dir` (by their relative paths) whose bytes differ from the originals, or are missing. */
export function differingFiles(dir: string, corpus: Corpus, hashes: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const f of corpus.files) {
    let digest: string;
    try {
      digest = hashFileSync(`${dir}/${f.rel}`).toString('hex');
    } catch {
      digest = 'missing';
    }
    if (digest !== hashes.get(f.rel)) bad.push(f.rel);
  }
  return bad;
}

/**
 * SHA-256 of the same files in this process (OpenSSL, one thread), the way
 * the store hashes: coreutils may lack the CPU's SHA instructions, so
 * sha256sum alone would understate what hashing costs the import.
 */
export async function nodeSha256Timing(corpus: Corpus, repeat: number): Promise<Timing> {
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    runs.push((await timed(async () => { for (const f of corpus.files) hashFileSync(f.abs); })).seconds);
  }
  return timing(runs);
}

/**
 * zstd -3 on one thread over the same files (`zstd -3 -T1 -c FILES >
 * /dev/null`, one process): the speed of the general-purpose compression an
 * import's new bytes go through, on this machine. Tessera's own byte-plane
 * zstd runs at other levels on split planes; this is the reference a reader
 * knows.
 */
export async function zstdTiming(corpus: Corpus, repeat: number): Promise<Timing> {
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const { seconds } = await timed(() => run('bash', ['-c', 'zstd -q -3 -T1 -c -- "$@" > /dev/null', 'bash', ...corpus.files.map((f) => f.rel)], { cwd: corpus.root }));
    runs.push(seconds);
  }
  return timing(runs);
}

/** Payload bytes of one row of the SQLite reference: about what a 64 KiB chunk of float weights stores. */
const SQLITE_ROW_BYTES = 56_000;

/**
 * The store's own SQLite chunk insert (a fresh database, its schema and
 * pragmas, `insertChunks`, one transaction and its commit) writing `bytes` of
 * incompressible payload in rows of ~56 KB: the speed at which the importing
 * thread can put what an import keeps into the database, whatever the other
 * threads do. Random payloads (no two rows alike) are cut from one buffer, so
 * generating them costs nothing measurable.
 */
export async function sqliteInsertTiming(bytes: number, dir: string, repeat: number): Promise<Timing> {
  const rows = Math.max(1, Math.ceil(bytes / SQLITE_ROW_BYTES));
  const pool = randomBytes(SQLITE_ROW_BYTES + 4096);
  const chunk = (i: number): NewChunk => {
    const data = pool.subarray(i % 4096, (i % 4096) + SQLITE_ROW_BYTES);
    const hash = Buffer.alloc(32);
    hash.writeUInt32LE(i, 0);
    hash.writeUInt32LE(0x7e55e7a, 4);
    return { hash, rawSize: 65536, storedSize: data.length, codec: 1, bases: [], depth: 0, data };
  };
  const runs: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const path = join(dir, `sqlite-reference-${r}.db`);
    const db = await openBackend(path);
    try {
      runs.push((await timed(() => db.transaction(async () => {
        for (let i = 0; i < rows; i += 256) await db.insertChunks(Array.from({ length: Math.min(256, rows - i) }, (_, k) => chunk(i + k)));
      }))).seconds);
    } finally {
      await db.close();
      for (const f of sqliteFiles(path)) rmSync(f, { force: true });
    }
  }
  return timing(runs);
}

/** `node -e 0`, `repeat` times: what every process costs before it runs a line of its own (the per-process floor). */
export async function nodeStartTiming(repeat: number): Promise<Timing> {
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) runs.push((await timed(() => run(process.execPath, ['-e', '0']))).seconds);
  return timing(runs);
}
