import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { PG_TEST_URL, importInFlight, pgSchemaOf, randomWeights, sha256, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import { startTessera, tessera } from '../helpers/cli.js';
import type { CliOptions, Run } from '../helpers/cli.js';
import { fullDiskMechanism, mountTmpfs } from '../helpers/full-disk.js';
import type { Tmpfs } from '../helpers/full-disk.js';
import { Store } from '../../src/store/store.js';
import type { StoreTotals } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';

/**
 * Faults from outside, for real, on CLI processes: a full disk, a store
 * locked by another process, a PostgreSQL server that drops its sessions
 * mid-import or cannot be reached. Each failing command must exit 1 with one
 * clear line naming the store (or file) and the cause, and leave the store as
 * it was: `verify --deep` clean, the same models and totals; the same import
 * run again then succeeds and exports byte-identically.
 */

const kinds = await testBackends();
const MIB = 1 << 20;
const mib = (n: number): string => `${(n / MIB).toFixed(1)} MiB`;

/** A safetensors file of `mib` random F32 tensors of 1 MiB each (compresses ~15%: it needs about that much room). */
function model(path: string, mibs: number, seed: number): string {
  writeFileSync(path, buildSafetensors(Array.from({ length: mibs }, (_, i) => ({
    name: `t${i}`, dtype: 'F32', shape: [MIB / 4], data: randomWeights(MIB / 4, seed + i),
  }))));
  return path;
}

/** Exit code 1, one line on stderr (no stack trace), naming `names` and matching the cause. */
function assertClearError(r: Run, names: string, cause: RegExp): string {
  assert.equal(r.code, 1, `exit code 1; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, no stack trace: ${r.stderr}`);
  const line = lines[0]!;
  assert.match(line, /^tessera: /);
  assert.ok(line.includes(names), `"${line}" names ${names}`);
  assert.match(line, cause);
  return line;
}

interface Snapshot {
  models: { ref: string; logicalBytes: number; files: number }[];
  totals: Omit<StoreTotals, 'dbBytes'>;
}

/** What a user sees of a store: its models and totals (not its size on disk, which a rollback may leave grown). */
async function snapshot(location: string): Promise<Snapshot> {
  const s = await Store.open(location);
  try {
    const models = (await s.list()).map((m) => ({ ref: `${m.name}:${m.version}`, logicalBytes: m.logicalBytes, files: m.files }));
    const { dbBytes: _size, ...totals } = await s.totals();
    return { models, totals };
  } finally {
    await s.close();
  }
}

/** `tessera verify --deep` is clean and the store shows what it showed before the failed command. */
async function assertUnchanged(location: string, before: Snapshot): Promise<void> {
  const v = await tessera(['verify', '--deep', '--json', '--store', location]);
  assert.equal(v.code, 0, `verify --deep: ${v.stdout}${v.stderr}`);
  assert.equal((JSON.parse(v.stdout) as { clean: boolean }).clean, true);
  assert.deepEqual(await snapshot(location), before, 'the same models and totals as before the failure');
}

/** Runs the import again (it must succeed) and exports the model: byte-identical. Returns the bytes it stored. */
async function assertRetrySucceeds(location: string, file: string, name: string, outDir: string): Promise<{ newStoredBytes: number; newChunks: number }> {
  const r = await tessera(['import', file, '--name', name, '--json', '--store', location]);
  assert.equal(r.code, 0, `the retry imports: ${r.stderr}`);
  const out = join(outDir, `${name}.out.safetensors`);
  const e = await tessera(['export', name, '--out', out, '--store', location]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(sha256(out), sha256(file), 'exported byte-identically');
  return (JSON.parse(r.stdout) as { newStoredBytes: number; newChunks: number }[])[0]!;
}

/**
 * Where a command runs out of room. tmpfs: the store on an 8 MiB file system,
 * made 96 MiB for the retry; the export to a 4 MiB one. rlimit: the same
 * commands under a file size limit a little above what exists; the retry runs
 * without it.
 */
interface NoRoom {
  what: string;
  storeDir: string;
  /** How to run a command that must run out of room writing to `file`. */
  limitFor(file: string): CliOptions;
  makeRoom(): void;
  exportDir: string;
  exportLimit: CliOptions;
  describe(): string;
  cleanup(): void;
}

function tmpfsNoRoom(dir: string): NoRoom {
  const mounts: Tmpfs[] = [];
  const mount = (sub: string, bytes: number): Tmpfs => {
    const t = mountTmpfs(join(dir, sub), bytes);
    if (typeof t === 'string') throw new Error(`mount: ${t}`);
    mounts.push(t);
    return t;
  };
  try {
    const store = mount('store-fs', 8 * MIB);
    const dest = mount('export-fs', 4 * MIB);
    return {
      what: 'an 8 MiB tmpfs', storeDir: store.dir, limitFor: () => ({}), exportDir: dest.dir, exportLimit: {},
      makeRoom: () => store.resize(96 * MIB),
      describe: () => `store tmpfs ${mib(store.usage().used)} used of ${mib(store.usage().size)}`,
      cleanup: () => mounts.forEach((m) => m.unmount()),
    };
  } catch (e) {
    mounts.forEach((m) => m.unmount());
    throw e;
  }
}

function rlimitNoRoom(dir: string): NoRoom {
  const storeDir = join(dir, 'store');
  const exportDir = join(dir, 'export');
  mkdirSync(storeDir);
  mkdirSync(exportDir);
  return {
    what: 'RLIMIT_FSIZE (ulimit -f)', storeDir, exportDir,
    // Room for 4 MiB more than the store holds now.
    limitFor: (file) => ({ fileSizeLimitKiB: Math.ceil(statSync(file).size / 1024) + 4096 }),
    makeRoom: () => {},
    exportLimit: { fileSizeLimitKiB: 4096 },
    describe: () => 'file size limit 4 MiB above the store file',
    cleanup: () => {},
  };
}

const mechanism = fullDiskMechanism();

test('sqlite: disk full during import and export: a clear error, the store unchanged, the retry succeeds', {
  skip: mechanism.kind === 'none' ? `neither a tmpfs nor RLIMIT_FSIZE: ${mechanism.why}` : false,
}, async () => {
  if (mechanism.kind === 'rlimit') console.log(`# disk full via RLIMIT_FSIZE: ${mechanism.why}`);
  const { dir, cleanup } = tempDir();
  const room = mechanism.kind === 'tmpfs' ? tmpfsNoRoom(dir) : rlimitNoRoom(dir);
  try {
    const small = model(join(dir, 'small.safetensors'), 2, 1);
    const big = model(join(dir, 'big.safetensors'), 16, 100);
    const store = join(room.storeDir, 'store.db');
    assert.equal((await tessera(['import', small, '--name', 'small', '--store', store])).code, 0);
    const before = await snapshot(store);
    const sizeBefore = statSync(store).size;
    const roomBefore = room.describe();

    const t0 = Date.now();
    const failed = await tessera(['import', big, '--name', 'big', '--store', store], room.limitFor(store));
    const line = assertClearError(failed, store, mechanism.kind === 'tmpfs' ? /disk full/ : /disk full|file size limit|could not write/);
    const failedMs = Date.now() - t0;
    assert.equal(statSync(store).size, sizeBefore, 'the rollback gave the store file its old size back');
    assert.equal(existsSync(`${store}-journal`), false, 'no journal left behind');
    await assertUnchanged(store, before);

    room.makeRoom();
    const retry = await assertRetrySucceeds(store, big, 'big', dir);

    // Export to a destination that fills up: a clear error naming the file, and nothing left there.
    const dest = join(room.exportDir, 'big.safetensors');
    const exp = await tessera(['export', 'big', '--out', dest, '--store', store], room.exportLimit);
    const expLine = assertClearError(exp, dest, mechanism.kind === 'tmpfs' ? /disk full/ : /disk full|file size limit/);
    assert.deepEqual(readdirSync(room.exportDir), [], 'no partial file (nor temporary) left in the destination');
    const partial = Number(/after (\d+) bytes/.exec(expLine)?.[1]);

    console.log(`# disk full (${room.what}): import of ${mib(statSync(big).size)} failed after ${failedMs} ms (${roomBefore} before it); ` +
      `store file ${sizeBefore} bytes before and after, no journal; verify --deep clean, ${before.models.length} model(s), ` +
      `${before.totals.chunks} chunks, ${before.totals.storedBytes} stored bytes unchanged; after making room the retry stored ` +
      `${mib(retry.newStoredBytes)} in ${retry.newChunks} new chunks and exported byte-identically`);
    console.log(`#   import error: ${line}`);
    console.log(`#   export to a full destination failed after ${partial} bytes, nothing left behind: ${expLine}`);
  } finally {
    room.cleanup();
    cleanup();
  }
});

test('sqlite: a store locked by another process: the import waits, succeeds when the lock goes within the busy timeout, fails clearly past it', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 'store.db');
    const small = model(join(dir, 'small.safetensors'), 2, 1);
    const medium = model(join(dir, 'medium.safetensors'), 4, 200);
    assert.equal((await tessera(['import', small, '--name', 'small', '--store', store])).code, 0);
    const before = await snapshot(store);
    // Another process's lock, as SQLite sees it: a second connection (this test process, not the CLI's).
    const holder = new Database(store);
    try {
      // Held past the timeout, both kinds of lock: EXCLUSIVE (readers wait too: the CLI fails while
      // opening the store) and IMMEDIATE (readers pass: it fails at its own BEGIN IMMEDIATE).
      const timeoutMs = 1000;
      const lines: string[] = [];
      for (const mode of ['EXCLUSIVE', 'IMMEDIATE']) {
        holder.exec(`BEGIN ${mode}`);
        const r = await tessera(['import', medium, '--name', 'medium', '--store', store], { env: { TESSERA_BUSY_TIMEOUT_MS: String(timeoutMs) } });
        holder.exec('ROLLBACK');
        lines.push(`${mode} after ${r.ended - r.started} ms: ${assertClearError(r, store, /locked by another process/)}`);
        assert.ok(r.ended - r.started >= timeoutMs, 'it waited its busy timeout first');
        await assertUnchanged(store, before);
      }

      // Released after ~1 s, within the (default 10 s) timeout: the import waits and goes through.
      holder.exec('BEGIN EXCLUSIVE');
      const run = startTessera(['import', medium, '--name', 'medium', '--store', store]);
      await new Promise((r) => setTimeout(r, 1000));
      const released = Date.now();
      holder.exec('ROLLBACK');
      const ok = await run.done;
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(ok.ended > released, 'the import finished only after the lock was released');
      const out = join(dir, 'medium.out');
      assert.equal((await tessera(['export', 'medium', '--out', out, '--store', store])).code, 0);
      assert.equal(sha256(out), sha256(medium), 'exported byte-identically');

      console.log(`# database locked: lock held past a ${timeoutMs} ms busy timeout -> clear error, store unchanged (verify --deep clean, ` +
        `${before.models.length} model(s), ${before.totals.chunks} chunks); lock released ${released - ok.started} ms after the CLI started ` +
        `-> the import waited and finished ${ok.ended - released} ms later, exported byte-identically`);
      for (const l of lines) console.log(`#   ${l}`);
    } finally {
      holder.close();
    }
  } finally {
    cleanup();
  }
});

const pgSkip = kinds.includes('postgres') ? false : 'no PostgreSQL server';

test('postgres: the server drops the import\'s sessions mid-import: a clear error, nothing kept, the retry succeeds', { skip: pgSkip }, async () => {
  const { dir, cleanup } = tempDir();
  const loc = tempLocation('postgres', dir);
  const admin = new pg.Client({ connectionString: PG_TEST_URL });
  await admin.connect();
  try {
    const small = model(join(dir, 'small.safetensors'), 2, 1);
    const big = model(join(dir, 'big.safetensors'), 48, 300);
    assert.equal((await tessera(['import', small, '--name', 'small', '--store', loc.location])).code, 0);
    const before = await snapshot(loc.location);

    const run = startTessera(['import', big, '--name', 'big', '--store', loc.location]);
    let exited = false;
    void run.done.then(() => (exited = true));
    // Inside its transaction, and some way into writing chunks.
    while (!exited && !(await importInFlight(admin, pgSchemaOf(loc.location)))) await new Promise((r) => setTimeout(r, 10));
    assert.equal(exited, false, 'the import was seen in flight');
    await new Promise((r) => setTimeout(r, 200));
    // What a restart does to each session (it ends with 57P01 "terminating connection due to administrator
    // command"), done to this import's sessions only: other test files share this server, so it is not restarted.
    // The pids are selected first, terminated second: in one WHERE clause the planner may well call
    // pg_terminate_backend before the filters (it does here), ending every session on the server.
    const killed = await admin.query<{ pid: number; in_tx_ms: number | null }>(`SELECT pid,
        (EXTRACT(EPOCH FROM now() - xact_start) * 1000)::int AS in_tx_ms FROM pg_stat_activity
        WHERE application_name = $1 AND pid <> pg_backend_pid()`, [`tessera pid ${run.child.pid}`]);
    assert.ok(killed.rows.length >= 1, 'the import\'s sessions were found by their application_name');
    for (const { pid } of killed.rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const inTxMs = Math.max(...killed.rows.map((k) => k.in_tx_ms ?? 0));
    assert.ok(inTxMs > 0, 'one of them was inside the import\'s transaction');
    const r = await run.done;
    const line = assertClearError(r, pgSchemaOf(loc.location), /lost the connection to PostgreSQL/);
    await assertUnchanged(loc.location, before);
    const retry = await assertRetrySucceeds(loc.location, big, 'big', dir);

    console.log(`# postgres sessions terminated mid-import (${killed.rows.length} connection(s) of the importer, ${inTxMs} ms into its transaction; ` +
      `the CLI exited ${r.ended - r.started} ms after it started): ` +
      `clear error; verify --deep clean, ${before.models.length} model(s), ${before.totals.chunks} chunks unchanged; ` +
      `the retry stored ${mib(retry.newStoredBytes)} in ${retry.newChunks} new chunks, exported byte-identically`);
    console.log(`#   ${line}`);
  } finally {
    await admin.end();
    cleanup();
    await loc.drop();
  }
});

test('postgres: a session ended while its transaction is between two queries fails that transaction clearly (no crash on the client\'s error event)', { skip: pgSkip }, async () => {
  const { dir, cleanup } = tempDir();
  const loc = tempLocation('postgres', dir);
  // Its own application_name: the admin session finds the transaction's session by it.
  const applicationName = `tessera faults test ${process.pid} ${Math.random().toString(36).slice(2, 10)}`;
  const backend = await openBackend(loc.location, { applicationName });
  const admin = new pg.Client({ connectionString: PG_TEST_URL });
  await admin.connect();
  try {
    await backend.setSetting('probe', 'before');
    // Idle between queries is when pg reports the end of a session as an 'error' event on the
    // client (with a query running, the query fails instead); unhandled, it ends the process.
    const failed = await backend.transaction(async () => {
      await backend.setSetting('probe', 'inside');
      const inTx = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`, [applicationName]);
      assert.equal(inTx.rows.length, 1, 'the transaction\'s session, idle between two queries');
      const [{ pid }] = inTx.rows as [{ pid: number }];
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await new Promise((r) => setTimeout(r, 200));
      await backend.setSetting('probe', 'after');
    }).then(() => undefined, (e: unknown) => e as Error);
    assert.ok(failed instanceof Error, 'the transaction failed');
    assert.match(failed.message, /lost the connection to PostgreSQL/);
    assert.ok(failed.message.startsWith(`${backend.location}: `), 'names the store');
    assert.equal(await backend.getSetting('probe'), 'before', 'nothing of the transaction was kept; the pool opens a new session');
    console.log(`# postgres session ended between two queries: ${failed.message}`);
  } finally {
    await admin.end();
    await backend.close();
    await loc.drop();
    cleanup();
  }
});

test('postgres: an unreachable server gives a clear error naming its address', async () => {
  const url = 'postgres://postgres@127.0.0.1:1/test';
  const r = await tessera(['ls', '--store', url]);
  const line = assertClearError(r, '127.0.0.1:1', /cannot reach PostgreSQL/);
  // With --debug, the stack of the explained error and of the driver's error under it.
  const debug = await tessera(['ls', '--debug', '--store', url]);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /\n\s+at [^\n]+\n[\s\S]*caused by: Error: connect ECONNREFUSED 127\.0\.0\.1:1/);
  console.log(`# postgres unreachable: ${line}`);
});
