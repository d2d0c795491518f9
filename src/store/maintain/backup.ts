/**
 * Online backup and restore. A backup is a new SQLite store file, whatever
 * the source, so that one command checks it (`tessera verify --deep`) and any
 * Tessera opens it:
 *
 * - from SQLite, SQLite's online backup API copies the database page by page
 *   in one step under a read lock: a consistent copy while imports run
 *   (they wait for the copy, up to their busy timeout; the copy starts again
 *   if a write slipped in between its first and second step);
 * - from PostgreSQL, every model is copied as `tessera migrate` copies it,
 *   inside one REPEATABLE READ READ ONLY transaction holding the store's
 *   shared lock: the copy is the store as it was when the backup began, and
 *   gc cannot delete a chunk the copy still has to read.
 *
 * The copy is written beside its destination under a temporary name, checked
 * (`verify --deep`: every chunk decodes to its hash, every file rebuilds to
 * its digest) and only then renamed into place: a failed or interrupted
 * backup leaves no file that looks like one.
 *
 * Restore goes the other way, into a store that holds no model yet: a SQLite
 * target gets the backup's pages (the same file, byte for byte in content),
 * a PostgreSQL one the backup's models by migration. Restoring over a store
 * in use is refused: its servers cache chunks by id, and the backup's id
 * sequence is behind theirs.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Backend } from '../../backends/backend.js';
import { conflict, damaged, invalid, notFound } from '../../errors.js';
import { Store, isPostgresUrl } from '../store.js';
import type { VerifyReport } from './verify.js';

export interface BackupOptions {
  /** Replace an existing file at the destination. */
  force?: boolean;
  /** Check the copy with verify --deep before it is put in place (default true). */
  verify?: boolean;
}

export interface BackupResult {
  /** How the copy was made: SQLite pages, or models copied one by one (from PostgreSQL). */
  method: 'pages' | 'models';
  location: string;
  models: number;
  /** The copy's size on disk. */
  bytes: number;
  /** The deep check of the copy (undefined with verify: false). */
  verified?: Pick<VerifyReport, 'models' | 'files' | 'chunksHashed' | 'filesHashed'>;
}

function removeSqliteFile(path: string): void {
  for (const p of [path, `${path}-journal`, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
}

/**
 * A SQLite file made at `target` by way of a sibling under a temporary name:
 * `make` writes (and checks) it there, and only then is it renamed into
 * place (an older file at `target`, and its journal, removed first); on a
 * failure it is removed, so nothing that looks like a finished copy is left.
 */
async function intoPlace<T>(target: string, make: (partial: string) => Promise<T>): Promise<T> {
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  removeSqliteFile(partial);
  try {
    const result = await make(partial);
    removeSqliteFile(target);
    renameSync(partial, target);
    return result;
  } catch (e) {
    removeSqliteFile(partial);
    throw e;
  }
}

/** verify --deep of the store at `path`; a damaged copy is refused. */
async function checkCopy(path: string, what: string): Promise<NonNullable<BackupResult['verified']>> {
  const copy = await Store.open(path);
  try {
    const r = await copy.verify(true);
    if (r.problems.length) {
      throw damaged(`${what} failed verify --deep: ${r.problems.length} problem(s), the first: ${r.problems[0]!.message}`);
    }
    return { models: r.models, files: r.files, chunksHashed: r.chunksHashed, filesHashed: r.filesHashed };
  } finally {
    await copy.close();
  }
}

async function modelCount(path: string): Promise<number> {
  const s = await Store.open(path);
  try {
    return (await s.list()).length;
  } finally {
    await s.close();
  }
}

/** A new SQLite file at `path` with what `src` (backend `db`) holds now. */
async function copyInto(src: Store, db: Backend, path: string): Promise<BackupResult['method']> {
  if (db.copyDatabase) {
    await db.copyDatabase(path);
    return 'pages';
  }
  const dst = await Store.open(path);
  try {
    await db.snapshot(() => Store.migrate(src, dst));
  } finally {
    await dst.close();
  }
  return 'models';
}

export async function backupStore(src: Store, db: Backend, to: string, opts: BackupOptions = {}): Promise<BackupResult> {
  if (isPostgresUrl(to)) throw invalid(`${to}: a backup is a SQLite file; name a path`);
  const target = resolve(to);
  if (!existsSync(dirname(target))) throw notFound(`${dirname(target)}: no such directory for the backup`);
  if (existsSync(target)) {
    if (!opts.force) throw conflict(`${to} exists; pass --force to replace it`);
    if (statSync(target).isDirectory()) throw invalid(`${to} is a directory`);
  }
  const made = await intoPlace(target, async (partial) => {
    const method = await copyInto(src, db, partial);
    const verified = opts.verify === false ? undefined : await checkCopy(partial, `the backup copy ${partial}`);
    return { method, verified, models: verified?.models ?? await modelCount(partial) };
  });
  return { ...made, location: target, bytes: statSync(target).size };
}

export interface RestoreResult {
  method: BackupResult['method'];
  location: string;
  models: number;
  /** The deep check of the backup, before anything was written (undefined with verify: false). */
  verified?: BackupResult['verified'];
}

/** Restores the backup file `from` into `to`, a store location that holds no model (a SQLite file that does not exist yet, or an empty PostgreSQL schema). */
export async function restoreStore(from: string, to: string, opts: Pick<BackupOptions, 'verify'> = {}): Promise<RestoreResult> {
  if (isPostgresUrl(from)) throw invalid(`${from}: a backup is a SQLite file (tessera backup --to FILE)`);
  if (!existsSync(from)) throw notFound(`${from}: no such backup`);
  const pg = isPostgresUrl(to);
  if (!pg && existsSync(to)) throw conflict(`${to} exists: restore makes a new store; move the old one away first (and stop the servers on it)`);
  const verified = opts.verify === false ? undefined : await checkCopy(from, `the backup ${from}`);
  const backup = await Store.open(from);
  try {
    if (pg) {
      const dst = await Store.open(to);
      try {
        if ((await dst.list()).length > 0) throw conflict(`${dst.location} holds models: restore only into an empty store (a fresh schema)`);
        const r = await Store.migrate(backup, dst);
        return { method: 'models', location: dst.location, models: r.models, verified };
      } finally {
        await dst.close();
      }
    }
    const target = resolve(to);
    const models = await intoPlace(target, async (partial) => {
      await backup.copyTo(partial);
      return verified?.models ?? await modelCount(partial);
    });
    return { method: 'pages', location: target, models, verified };
  } finally {
    await backup.close();
  }
}
