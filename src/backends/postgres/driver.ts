import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type { BackendConfig } from '../config.js';
import type { ColumnType, CommitGroup, Driver, Query, TxLock } from '../driver.js';
import { openError } from '../errors.js';
import { int4, int8, parseCopyBinary } from './copy-binary.js';
import { CHANGES_CHANNEL, inlined, numbered, postgresDialect } from './dialect.js';
import { postgresFault } from './errors.js';
import { migratePostgres } from './schema.js';
import { TxClient } from './tx-client.js';

/**
 * Advisory lock of the store (two int4s: a class, and the hash of the
 * store's schema, so stores in different schemas of one database never wait
 * for each other): transactions hold it shared, gc exclusively.
 */
const LOCK_GC = 0x74657373; // 'tess'
const LOCK_ARGS = `$1::int4, hashtext(current_schema())`;
const LOCK_SQL: Record<TxLock, string> = {
  shared: `SELECT pg_advisory_xact_lock_shared(${LOCK_ARGS})`,
  exclusive: `SELECT pg_advisory_xact_lock(${LOCK_ARGS})`,
  // gc waits for a backup's reads, which need every chunk they listed to stay.
  snapshot: `SELECT pg_advisory_xact_lock_shared(${LOCK_ARGS})`,
};

/** Statements at most this long are prepared (see PostgresDriver.prepare()); longer ones are multi-row INSERTs of many rows. */
const PREPARE_MAX_TEXT = 4096;
/** Statement texts prepared at most: a bound on what every connection keeps, whatever runs. */
const PREPARE_MAX = 400;

/** Times a transaction is run again after a deadlock or a lost race (see transaction()). */
const TX_ATTEMPTS = 6;

/** bigint (int8) and numeric (SUM of bigints) come back as JS numbers: ids and sizes fit in 2^53. */
function safeNumber(s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`PostgreSQL returned ${s}, which is not an integer below 2^53`);
  return n;
}
/** How long a change listener whose connection ended waits before it connects again. */
const WATCH_RETRY_MS = 1000;

const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 || oid === 1700 ? safeNumber : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** A field of binary COPY output as the JS value a query would have given. */
const DECODE: Record<ColumnType, (b: Buffer | null) => unknown> = {
  int4: (b) => int4(b),
  int8: (b) => int8(b),
  // Views of the COPY's buffer: nothing is copied.
  bytea: (b) => b,
  text: (b) => (b === null ? null : b.toString('utf8')),
};

/**
 * A binary COPY out run as a plain pg query, pg handing it every CopyData
 * message: it pipelines with a transaction's other statements, where a COPY
 * stream (pg-copy-streams) needs the connection to itself. Each message is
 * copied as it arrives: pg parses from a buffer it reuses.
 */
class CopyOut extends pg.Query {
  private readonly parts: Buffer[] = [];

  /** Called by pg for each CopyData message. */
  handleCopyData(msg: { chunk: Buffer }): void {
    this.parts.push(Buffer.from(msg.chunk));
  }

  /** The messages as they came (parseCopyBinary reads across them: joining them would copy every payload again). */
  data(): Buffer[] {
    return this.parts;
  }
}

/** The whole output of `COPY … TO STDOUT` on `c`, in the pieces it arrived in. */
function copyOut(c: PoolClient, text: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const q: CopyOut = new CopyOut(text, (e) => (e ? reject(e) : resolve(q.data())));
    c.query(q);
  });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@');
  }
}

/** Errors after which a transaction is run again from the start (see transaction()). */
function retryable(e: unknown): boolean {
  const err = e as { code?: string; constraint?: string };
  // 40P01 deadlock_detected, 40001 serialization_failure; 23505 on (name, version):
  // another process took the version number this import picked.
  return err?.code === '40P01' || err?.code === '40001' || (err?.code === '23505' && err.constraint === 'models_name_version_key');
}

/**
 * The shared backend's database: PostgreSQL (a schema in it, the first one
 * of the connection's search_path), reached through node-postgres.
 *
 * Connections: reads outside a transaction go to a pool, so a server's
 * concurrent requests run side by side; a transaction takes one connection
 * of its own for its whole length. Which calls belong to a transaction is
 * tracked with AsyncLocalStorage, so work started inside `fn` (the import's
 * pipelined lookups and inserts) runs on the transaction's connection and
 * sees its uncommitted rows, while other requests of the same process keep
 * using the pool and never see them.
 *
 * Concurrency between processes (several importers, servers and `gc` on one
 * store) — locking, not generations:
 *  - Chunk hashes are claimed with `INSERT INTO chunk_hashes … ON CONFLICT
 *    (hash) DO NOTHING`, then the ids of the rows that conflicted are selected
 *    again (sql-backend.ts; in hash order, see dialect.ts). An insert that
 *    meets a row another open transaction inserted waits for it: if that
 *    transaction commits, its row is used (the chunk is stored once); if it
 *    rolls back, ours goes in. Two imports may so wait for each other (A holds
 *    a chunk B needs and B one A needs); PostgreSQL then aborts one with a
 *    deadlock error, and transaction() runs it again from the start, when the
 *    other has committed and its chunks are plainly there.
 *  - GC must never delete a chunk that an import in flight has looked up and
 *    is about to reference: the import's file_chunks rows are not committed,
 *    so GC would see the chunk unreferenced. Every transaction (import, rm,
 *    migrate) holds a shared advisory lock on the store for its whole length
 *    (`pg_advisory_xact_lock_shared`), and GC takes the same lock exclusively
 *    for its sweep. So GC waits for the imports in flight to commit, and
 *    imports that start meanwhile wait for GC (PostgreSQL queues them behind
 *    its waiting exclusive request); a GC never runs beside an import. Chosen
 *    over a generation scheme (chunks stamped with the import's generation and
 *    only chunks older than every running import collected) because it needs
 *    no extra column written on every lookup, adds nothing to the read path,
 *    and the lock is released by PostgreSQL itself when a client dies. The
 *    cost: a long import delays GC, and GC (short) delays imports.
 *  - Reads outside transactions need no lock: MVCC shows them committed
 *    models only; ids are never reused, so caches keyed by chunk id stay true.
 */
export class PostgresDriver implements Driver {
  readonly kind = 'postgres' as const;
  readonly dialect = postgresDialect;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly tx = new AsyncLocalStorage<TxClient>();
  /** Statement texts prepared under a name, by their shared text (see prepare()). */
  private readonly statements = new Map<string, { text: string; name: string }>();
  private closed = false;
  /** Called after each commit while a commit group runs (commitGroup). */
  private groupCommitted?: () => void;

  private constructor(private readonly url: string, private readonly applicationName: string | undefined, config: BackendConfig) {
    this.location = redactUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      // An application_name in the URL wins over this one.
      application_name: config.applicationName,
      max: config.pgPoolSize,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 15_000,
      allowExitOnIdle: true,
      types: TYPES,
    });
    // An idle connection that breaks (server restart) is dropped; the next query opens another.
    this.pool.on('error', () => {});
    // A checked-out connection (a transaction's, gc's) whose session ends between two queries
    // reports it as an 'error' event, which would crash the process with a stack trace: its
    // next query fails instead, and that error is explained (errors.ts).
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Connects and brings the store's schema up to date (creating the schema when missing). */
  static async open(url: string, config: BackendConfig): Promise<PostgresDriver> {
    const d = new PostgresDriver(url, config.applicationName, config);
    try {
      const c = await d.pool.connect();
      let broken = false;
      try {
        await migratePostgres(c);
      } catch (e) {
        broken = true;
        throw e;
      } finally {
        c.release(broken);
      }
    } catch (e) {
      await d.close();
      throw d.openError(e);
    }
    return d;
  }

  explainError(e: unknown): unknown {
    return postgresFault(e, this.location) ?? e;
  }

  /**
   * LISTENs on a connection of its own (not the pool's: a listener holds
   * its session) for the store's notices (dialect.notify: schema, newline,
   * name); notices of other schemas' stores are skipped. A connection that
   * ends is opened again a second later, and `onChange(undefined)` says
   * that notices may have been missed meanwhile.
   */
  watchChanges(onChange: (name: string | undefined) => void): () => Promise<void> {
    let stopped = false;
    let client: pg.Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Notices sent while no listener was connected are lost: the next connection says so.
    let missed = false;
    const retry = (): void => {
      if (stopped) return;
      missed = true;
      timer = setTimeout(() => void listen(), WATCH_RETRY_MS);
      timer.unref();
    };
    const listen = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url, application_name: this.applicationName, types: TYPES });
      c.on('error', () => {});
      let up = false;
      c.on('end', () => {
        if (client === c) client = undefined;
        if (up && !stopped) retry();
      });
      try {
        await c.connect();
        const schema = (await c.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]!.s;
        c.on('notification', (n) => {
          if (n.channel !== CHANGES_CHANNEL || n.payload === undefined) return;
          const cut = n.payload.indexOf('\n');
          if (cut >= 0 && n.payload.slice(0, cut) === schema) onChange(n.payload.slice(cut + 1));
        });
        await c.query(`LISTEN ${CHANGES_CHANNEL}`);
        if (stopped) {
          await c.end();
          return;
        }
        client = c;
        up = true;
        if (missed) {
          missed = false;
          onChange(undefined);
        }
      } catch {
        await c.end().catch(() => {});
        retry();
      }
    };
    void listen();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => {});
    };
  }

  /** An error while opening the store or connecting: explained, or at least prefixed with the store's location. */
  private openError(e: unknown): unknown {
    return openError(e, this.location, postgresFault(e, this.location));
  }

  /** Runs a query on the transaction's connection inside a transaction, else on the pool. */
  async query<R>(q: Query): Promise<R[]> {
    return (await this.run<QueryResultRow>(q, {})).rows as R[];
  }

  async insertOne(q: Query): Promise<number | undefined> {
    const rows = await this.query<{ id: number | string }>({ ...q, text: `${q.text} RETURNING id`, name: q.name && `${q.name}_id` });
    return rows.length ? Number(rows[0]!.id) : undefined;
  }

  async column<T>(q: Query): Promise<T[]> {
    return (await this.run<unknown[]>(q, { rowMode: 'array' })).rows.map((r) => r[0] as T);
  }

  /**
   * A write nobody reads the answer of: inside a transaction it is pipelined
   * and not waited for (its failure fails the transaction: see TxClient);
   * outside one, run on the pool and awaited.
   */
  async execute(q: Query): Promise<void> {
    const t = this.tx.getStore();
    if (t) t.detach(t.run((c) => c.query(this.config(q, {}))));
    else await this.pool.query(this.config(q, {}));
  }

  private config(q: Query, mode: { rowMode?: 'array' }): pg.QueryConfig {
    const known = this.statements.get(q.text);
    const text = known?.text ?? numbered(q.text);
    const name = q.name ?? known?.name ?? this.prepare(q.text, text);
    // A name makes it a prepared statement, parsed and planned once per connection.
    return { ...mode, text, values: q.values as unknown[] | undefined, ...(name ? { name } : {}) };
  }

  /**
   * A name for a statement text to be prepared under, when it is short: the
   * shared SQL has a few dozen such texts (a multi-row INSERT has one per row
   * count), so what connections keep stays small, and each is parsed once per
   * connection rather than on every run (an import runs dozens).
   */
  private prepare(text: string, numberedText: string): string | undefined {
    if (text.length > PREPARE_MAX_TEXT || this.statements.size >= PREPARE_MAX) return undefined;
    const name = `tessera_${this.statements.size}`;
    this.statements.set(text, { text: numberedText, name });
    return name;
  }

  private run<R extends QueryResultRow | unknown[]>(q: Query, mode: { rowMode?: 'array' }): Promise<pg.QueryResult<R>> {
    const config = this.config(q, mode);
    const t = this.tx.getStore();
    return t ? t.run((c) => c.query<R & QueryResultRow>(config)) : this.pool.query(config);
  }

  /**
   * Through binary COPY: payloads arrive as raw bytes, ~3x the throughput of
   * bytea in a text-mode result (which sends hex). COPY takes no bound
   * parameters, so the values (integers: ids) are written into the text.
   * In a transaction it is pipelined like any statement.
   */
  async bulkSelect<R>(q: Query, columns: { [K in keyof R]: ColumnType }): Promise<R[]> {
    const names = Object.keys(columns) as (keyof R & string)[];
    const decode = names.map((n) => DECODE[columns[n]]);
    const text = `COPY (${inlined(q.text, q.values)}) TO STDOUT (FORMAT binary)`;
    const tuples = parseCopyBinary(await this.withClient((c) => copyOut(c, text)));
    return tuples.map((fields) => {
      const row: Record<string, unknown> = {};
      names.forEach((n, i) => (row[n] = decode[i]!(fields[i] ?? null)));
      return row as R;
    });
  }

  /** Runs fn with a connection: the transaction's, or one of the pool's for fn's length. */
  private async withClient<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const t = this.tx.getStore();
    if (t) return t.run(fn);
    const c = await this.pool.connect();
    let broken = false;
    try {
      return await fn(c);
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      c.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * One transaction on a connection of its own, holding the store's advisory
   * lock: shared (GC waits for it), or exclusive for GC's sweep (see the
   * class comment). When PostgreSQL aborts it for a deadlock with another
   * importer, or another process took the model version it picked, fn is run
   * again from the start in a new transaction (a few times, after a short
   * random pause): fn must not rely on state it changed outside the database
   * in an earlier run. Chunk ids handed out by a rolled-back run are never
   * reused, so caches keyed by them stay true.
   */
  async transaction<T>(fn: () => Promise<T>, lock: TxLock): Promise<T> {
    if (this.tx.getStore()) throw new Error('nested transaction');
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw this.openError(e);
      }
      const t = new TxClient(client);
      let broken = false;
      try {
        // BEGIN and the lock go out with fn's first statement: no round trip of their own.
        t.detach(t.run((c) => c.query(lock === 'snapshot' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN')));
        t.detach(t.run((c) => c.query({ text: LOCK_SQL[lock], values: [LOCK_GC], name: `tessera_lock_${lock}` })));
        const result = await this.tx.run(t, fn);
        // A write fn did not wait for may have failed: PostgreSQL would answer COMMIT with a rollback.
        await t.check();
        await t.run((c) => c.query('COMMIT'));
        t.done = true;
        this.groupCommitted?.();
        return result;
      } catch (e) {
        await t.settled();
        t.done = true;
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        // The cause: the first query that failed, when fn failed because of it.
        const cause = (e as { code?: string })?.code === '25P02' && t.firstError !== undefined ? t.firstError : e;
        if (attempt < TX_ATTEMPTS && retryable(cause)) {
          await sleep(20 + Math.random() * 100 * attempt);
          continue;
        }
        throw this.explainError(cause);
      } finally {
        t.release();
        client.release(broken);
      }
    }
  }

  /**
   * PostgreSQL's commit costs one WAL flush (about a millisecond here), and
   * a transaction may be run again after a deadlock, which a savepoint
   * could not: every transaction commits on its own, and says so.
   */
  async commitGroup<T>(group: CommitGroup, fn: () => Promise<T>): Promise<T> {
    if (this.groupCommitted) throw new Error('nested commit group');
    this.groupCommitted = group.committed;
    try {
      return await fn();
    } finally {
      this.groupCommitted = undefined;
      // The last transaction committed before its caller learnt its result: say it again.
      group.committed();
    }
  }

  /**
   * VACUUM marks the space of deleted rows reusable and returns empty pages
   * at the end of the tables; VACUUM FULL would shrink them but locks out readers.
   */
  async reclaimSpace(freedChunks: number): Promise<void> {
    if (freedChunks > 0) await this.pool.query('VACUUM chunks, chunk_hashes, chunk_bases');
  }

  /** Bytes of the store's tables on disk: heap, TOAST (the payloads) and indexes. */
  async dbBytes(): Promise<number> {
    const [r] = await this.query<{ bytes: number }>({
      text: `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS bytes
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
    });
    return r!.bytes;
  }
}
