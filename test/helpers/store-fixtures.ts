import { test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from './segments.js';
import { Store } from '../../src/store/store.js';

/** The repository root (tests run from dist/test/…). */
export const REPO_ROOT = repoRoot();

/** The shared model corpus beside the repository, when this machine has it. */
export function corpusDir(): string | undefined {
  const dir = resolve(REPO_ROOT, '../shared/corpus/trained-digits');
  return existsSync(dir) ? dir : undefined;
}

export const CORPUS_ABSENT = 'skipped: ../shared/corpus/trained-digits is absent on this machine';

export const VAD_DIR = join(REPO_ROOT, 'node_modules/@ricky0123/vad-web/dist');
export const VAD_MODELS = ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx', 'silero_vad_v6.onnx'].map((f) => join(VAD_DIR, f));

export function tempDir(prefix = 'tessera-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type BackendKind = 'sqlite' | 'postgres';

/** The PostgreSQL server the tests use: $TESSERA_TEST_PG, or the local default. */
export const PG_TEST_URL = process.env.TESSERA_TEST_PG || 'postgres://postgres@127.0.0.1:5432/test';

let pgProbe: Promise<string | undefined> | undefined;

/** Why the test server cannot be used, or undefined when it answers (asked once per process). */
export function pgProblem(): Promise<string | undefined> {
  pgProbe ??= (async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 3000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      await sweepLeftoverSchemas(c);
      return undefined;
    } catch (e) {
      return (e as Error).message || String(e);
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return pgProbe;
}

/** Test schemas are named tessera_t_<pid>_<random>: drop those whose process is gone (a run that was killed). */
async function sweepLeftoverSchemas(c: { query(sql: string): Promise<{ rows: { nspname: string }[] }> }): Promise<void> {
  const { rows } = await c.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tessera\\_t\\_%'`);
  for (const { nspname } of rows) {
    const pid = Number(/^tessera_t_(\d+)_/.exec(nspname)?.[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) await c.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`).catch(() => {});
  }
}

/**
 * The backends every store test runs against: SQLite always, PostgreSQL when
 * the test server answers. Where it does not, one loud skip line (and a
 * skipped test, so the count shows it); under CI (process.env.CI) a failing
 * test instead, since CI must run both.
 */
export async function testBackends(): Promise<BackendKind[]> {
  const problem = await pgProblem();
  if (problem === undefined) return ['sqlite', 'postgres'];
  const what = `${PG_TEST_URL} not reachable (${problem})`;
  if (process.env.CI) {
    test('postgres: the test server answers (CI runs every store test on PostgreSQL too)', () => {
      throw new Error(`postgres: ${what}; .ci/run should have started PostgreSQL`);
    });
  } else {
    console.log(`# SKIP postgres: ${what}; set TESSERA_TEST_PG to a server to run this file's tests on PostgreSQL`);
    test('postgres: this file\'s tests', { skip: `postgres: ${what}` }, () => {});
  }
  return ['sqlite'];
}

/** A store location in a schema of its own on the test server (created on open), and how to drop it. */
export function pgTempLocation(): { url: string; schema: string; drop: () => Promise<void> } {
  const schema = `tessera_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const u = new URL(PG_TEST_URL);
  u.searchParams.set('options', `-csearch_path=${schema}`);
  return { url: u.toString(), schema, drop: () => dropPgSchema(schema) };
}

export async function dropPgSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  c.on('error', () => {});
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** The schema a pgTempLocation() URL puts the store in. */
export function pgSchemaOf(url: string): string {
  return new URL(url).searchParams.get('options')!.replace('-csearch_path=', '');
}

/** Whether a transaction holds the store's shared advisory lock (an import in flight) in this schema. */
export async function importInFlight(c: { query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> }, schema: string): Promise<boolean> {
  const r = await c.query(`SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted
      AND classid = $1 AND objsubid = 2 AND objid::bigint = ((hashtext($2)::bigint + 4294967296) % 4294967296)`, [0x74657373, schema]);
  return (r.rows[0] as { n: number }).n > 0;
}

/** A location for a new store of the given kind (the CLI creates it): an SQLite file in `dir`, or a fresh PostgreSQL schema. */
export function tempLocation(kind: BackendKind, dir: string, file = 'store.db'): { location: string; drop: () => Promise<void> } {
  if (kind === 'postgres') {
    const loc = pgTempLocation();
    return { location: loc.url, drop: loc.drop };
  }
  return { location: join(dir, file), drop: async () => {} };
}

/** A fresh, empty store of the given kind: an SQLite file in a temporary directory, or a fresh PostgreSQL schema. */
export async function tempStore(kind: BackendKind = 'sqlite'): Promise<{ store: Store; dir: string; path: string; kind: BackendKind; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  if (kind === 'postgres') {
    const loc = pgTempLocation();
    const store = await Store.open(loc.url);
    return {
      store, dir, path: loc.url, kind,
      cleanup: async () => {
        await store.close();
        await loc.drop();
        cleanup();
      },
    };
  }
  const path = join(dir, 'store.db');
  const store = await Store.open(path);
  return { store, dir, path, kind, cleanup: async () => { await store.close(); cleanup(); } };
}

function isPgLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** A connection of its own to the PostgreSQL store at `url` (its search_path names the store's schema); bigints and sums as numbers. */
async function pgConnect(url: string): Promise<import('pg').Client> {
  const { default: pg } = await import('pg');
  const asNumber = (s: string): number => Number(s);
  const c = new pg.Client({
    connectionString: url,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 || oid === 1700 ? asNumber : pg.types.getTypeParser(oid, format ?? 'text'))) as typeof pg.types.getTypeParser },
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** A connection of its own to the SQLite store file at `path`. */
export async function sqliteOpen(path: string): Promise<import('better-sqlite3').Database> {
  const { default: Database } = await import('better-sqlite3');
  return new Database(path, { fileMustExist: true });
}

/**
 * Rows of a plain SQL query (written in the SQL both databases speak) run on
 * a connection of its own to the store at `location`: the SQLite file, or the
 * PostgreSQL URL (whose search_path names the store's schema). Bigints and
 * sums come back as numbers on both, as the backend reads them.
 */
export async function storeSql<R>(location: string, sql: string): Promise<R[]> {
  if (!isPgLocation(location)) {
    const db = await sqliteOpen(location);
    try {
      return db.prepare(sql).all() as R[];
    } finally {
      db.close();
    }
  }
  const c = await pgConnect(location);
  try {
    return (await c.query(sql)).rows as R[];
  } finally {
    await c.end();
  }
}

/** Runs statements that return nothing (DELETE, UPDATE) on a store's database, as another tool would. */
export async function storeExec(location: string, sql: string): Promise<void> {
  if (!isPgLocation(location)) {
    const db = await sqliteOpen(location);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return;
  }
  const c = await pgConnect(location);
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Deletes a chunk row behind the foreign keys' back, as damage to the database file would. */
export async function deleteChunkRow(location: string, id: number): Promise<void> {
  if (!isPgLocation(location)) {
    const db = await sqliteOpen(location);
    db.pragma('foreign_keys = OFF');
    db.prepare('DELETE FROM chunk_bases WHERE chunk_id = ?').run(id);
    db.prepare('DELETE FROM chunks WHERE id = ?').run(id);
    db.close();
    return;
  }
  const c = await pgConnect(location);
  try {
    // Replica mode skips foreign-key triggers (the test role is a superuser).
    await c.query('SET session_replication_role = replica');
    await c.query('DELETE FROM chunk_bases WHERE chunk_id = $1', [id]);
    await c.query('DELETE FROM chunks WHERE id = $1', [id]);
  } finally {
    await c.end();
  }
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), for reproducible test data. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const v = r();
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return b;
}

/** Float32 weights roughly N(0, std), deterministic. */
export function randomWeights(count: number, seed: number, std = 0.02): Buffer {
  const r = prng(seed);
  const f = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    // Sum of uniforms: close enough to a normal for test data.
    const u = (r() + r() + r() + r()) / 4294967296 - 2;
    f[i] = u * std * 1.73;
  }
  return Buffer.from(f.buffer);
}
