import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type {
  Backend, ChunkInfo, TensorRow, FileRow, GcResult, ModelRow, NewChunk, NewFile, NewModel,
  SegmentRow, SharingRow, StoredChunk, StoreTotals,
} from '../backend.js';
import type { BackendConfig } from '../config.js';
import { MIGRATIONS } from './schema.js';
import { TENSOR_COLUMNS, batches, fileFromDb, modelFromDb, segmentFromDb, tensorFromDb } from '../rows.js';
import type { FileDbRow, ModelDbRow, SegmentDbRow, TensorDbRow } from '../rows.js';
import { int4, int8, parseCopyBinary } from './copy-binary.js';
import { postgresFault } from './errors.js';

/**
 * Advisory lock keys (two int4s: a class, and the hash of the store's schema,
 * so stores in different schemas of one database never wait for each other).
 */
const LOCK_GC = 0x74657373; // 'tess'
const LOCK_MIGRATE = 0x74657374; // 'test'
const LOCK_ARGS = `$1::int4, hashtext(current_schema())`;

/** Rows per multi-row INSERT (PostgreSQL allows 65535 bound parameters per statement). */
const INSERT_ROWS = 1000;
/** Payload bytes per multi-row chunk INSERT. */
const INSERT_BYTES = 32 << 20;
/** Ids per COPY of chunk payloads. */
const COPY_IDS = 256;
/** Chunks GC deletes per statement. */
const GC_BATCH = 20000;
/** Times a transaction is run again after a deadlock or a lost race (see transaction()). */
const TX_ATTEMPTS = 6;

/** bigint (int8) and numeric (SUM of bigints) come back as JS numbers: ids and sizes fit in 2^53. */
function safeNumber(s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`PostgreSQL returned ${s}, which is not an integer below 2^53`);
  return n;
}
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 || oid === 1700 ? safeNumber : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** A chunk's bases in order, as "12,34" (text: one round trip, no array decoding); only chunks with depth > 0 have any. */
const BASES_COLUMN = `CASE WHEN c.depth > 0 THEN (SELECT string_agg(b.base_id::text, ',' ORDER BY b.ordinal) FROM chunk_bases b WHERE b.chunk_id = c.id) END`;

function parseBases(s: string | null): number[] {
  return s ? s.split(',').map(Number) : [];
}


/** `($1, $2, $3), ($4, $5, $6), …` for `rows` rows of `cols` parameters, numbered from `first`. */
function placeholders(rows: number, cols: number, first = 1): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const p: string[] = [];
    for (let c = 0; c < cols; c++) p.push(`$${first + r * cols + c}`);
    out.push(`(${p.join(', ')})`);
  }
  return out.join(', ');
}

/** Ids inlined into a COPY statement (COPY takes no bound parameters): integers only. */
function idList(ids: number[]): string {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new Error(`invalid chunk id ${id}`);
  return `'{${ids.join(',')}}'::bigint[]`;
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

/** The schema a connection's search_path names first (the store's schema), or undefined for none. */
function firstSchema(searchPath: string): string | undefined {
  for (const raw of searchPath.split(',')) {
    const s = raw.trim();
    if (!s || s === '"$user"' || s === '$user') continue;
    return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase();
  }
  return undefined;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Errors after which a transaction is run again from the start (see transaction()). */
function retryable(e: unknown): boolean {
  const err = e as { code?: string; constraint?: string };
  // 40P01 deadlock_detected, 40001 serialization_failure; 23505 on (name, version):
  // another process took the version number this import picked.
  return err?.code === '40P01' || err?.code === '40001' || (err?.code === '23505' && err.constraint === 'models_name_version_key');
}

/**
 * The connection a transaction runs on. Refuses queries once the transaction
 * is over, and remembers the first query that failed: an import has several
 * queries in flight, and after a deadlock the one its code awaits first may
 * well be a later one, failing only with "current transaction is aborted".
 */
class TxClient {
  done = false;
  firstError: unknown;
  /** Queries run one after the other (the import pipelines its calls; pg@8 deprecates queuing them on a busy client). */
  private tail: Promise<unknown> = Promise.resolve();
  constructor(readonly client: PoolClient) {}
  run<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      if (this.done) throw new Error('query after the end of its transaction');
      return fn(this.client);
    });
    this.tail = result.catch(() => {});
    return result.catch((e: unknown) => {
      this.firstError ??= e;
      throw e;
    });
  }
  /** Resolves once every query queued so far has finished. */
  async settled(): Promise<void> {
    await this.tail;
  }
}

/**
 * The shared backend: a PostgreSQL database (a schema in it, the first one
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
 *  - Chunks are inserted with `INSERT … ON CONFLICT (hash) DO NOTHING`, then
 *    the ids of the rows that conflicted are selected again. An insert that
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
export class PostgresBackend implements Backend {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly tx = new AsyncLocalStorage<TxClient>();
  private closed = false;

  private constructor(readonly url: string, config: BackendConfig) {
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
  static async open(url: string, config: BackendConfig): Promise<PostgresBackend> {
    const b = new PostgresBackend(url, config);
    try {
      await b.migrate();
    } catch (e) {
      await b.close();
      throw b.wrap(e);
    }
    return b;
  }

  explainError(e: unknown): unknown {
    return postgresFault(e, this.location) ?? e;
  }

  /** An error while opening the store: explained, or at least prefixed with the store's location. */
  private wrap(e: unknown): Error {
    const fault = postgresFault(e, this.location);
    if (fault) return fault;
    const err = e as Error;
    if (err?.message && !err.message.includes(this.location)) err.message = `${this.location}: ${err.message}`;
    return err;
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      let schema = (await c.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]!.s;
      if (schema === null) {
        // The search_path names a schema that does not exist yet: create it (a
        // test or a team gives each store its own schema in one database).
        const wanted = firstSchema((await c.query<{ search_path: string }>('SHOW search_path')).rows[0]!.search_path);
        if (!wanted) throw new Error('the connection has no schema to create tables in (set search_path)');
        await c.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', [LOCK_MIGRATE, wanted]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(wanted)}`);
        schema = wanted;
      }
      // Serializes migrations of one store between processes.
      await c.query(`SELECT pg_advisory_xact_lock($1::int4, hashtext($2))`, [LOCK_MIGRATE, schema]);
      // Only when missing: a role that may read and write rows but not create tables can open a migrated store.
      if ((await c.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`)).rows[0]!.t === null) {
        await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      }
      const done = (await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]!.v ?? 0;
      if (done > MIGRATIONS.length) {
        throw new Error(`store schema version ${done} is newer than this Tessera (${MIGRATIONS.length}); upgrade Tessera`);
      }
      for (let v = done + 1; v <= MIGRATIONS.length; v++) {
        await c.query(MIGRATIONS[v - 1]!);
        await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v, new Date().toISOString()]);
      }
      await c.query('COMMIT');
      c.release();
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      c.release(true);
      throw e;
    }
  }

  /** Runs a query on the transaction's connection inside a transaction, else on the pool. */
  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[], name?: string): Promise<R[]> {
    // A name makes it a prepared statement (parsed and planned once per connection): for the hot, fixed queries.
    const q = name ? { name, text: sql, values: params } : { text: sql, values: params };
    const t = this.tx.getStore();
    const r = t ? await t.run((c) => c.query<R>(q)) : await this.pool.query<R>(q);
    return r.rows;
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

  /** Rows of a `COPY (query) TO STDOUT (FORMAT binary)`. */
  private copyRows(query: string): Promise<(Buffer | null)[][]> {
    return this.withClient(async (c) => {
      const stream = c.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`));
      const parts: Buffer[] = [];
      for await (const p of stream) parts.push(p as Buffer);
      return parseCopyBinary(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /**
   * One transaction on a connection of its own, holding the store's shared
   * advisory lock (GC waits for it; see the class comment). When PostgreSQL
   * aborts it for a deadlock with another importer, or another process took
   * the model version it picked, fn is run again from the start in a new
   * transaction (a few times, after a short random pause): fn must not rely on
   * state it changed outside the database in an earlier run. Chunk ids handed
   * out by a rolled-back run are never reused, so caches keyed by them stay true.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.tx.getStore()) throw new Error('nested transaction');
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw this.wrap(e);
      }
      const t = new TxClient(client);
      let broken = false;
      try {
        await client.query('BEGIN');
        await client.query(`SELECT pg_advisory_xact_lock_shared(${LOCK_ARGS})`, [LOCK_GC]);
        const result = await this.tx.run(t, fn);
        await t.run((c) => c.query('COMMIT'));
        t.done = true;
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
        client.release(broken);
      }
    }
  }

  async findModel(name: string, version?: number): Promise<ModelRow | undefined> {
    const rows = version === undefined
      ? await this.query<ModelDbRow>('SELECT * FROM models WHERE name = $1 ORDER BY version DESC LIMIT 1', [name])
      : await this.query<ModelDbRow>('SELECT * FROM models WHERE name = $1 AND version = $2', [name, version]);
    return rows[0] && modelFromDb(rows[0]);
  }

  async getModel(id: number): Promise<ModelRow | undefined> {
    const rows = await this.query<ModelDbRow>('SELECT * FROM models WHERE id = $1', [id]);
    return rows[0] && modelFromDb(rows[0]);
  }

  async listModels(): Promise<ModelRow[]> {
    return (await this.query<ModelDbRow>('SELECT * FROM models ORDER BY name COLLATE "C", version')).map(modelFromDb);
  }

  async nextVersion(name: string): Promise<number> {
    const rows = await this.query<{ v: number | null }>('SELECT MAX(version) AS v FROM models WHERE name = $1', [name]);
    return (rows[0]!.v ?? 0) + 1;
  }

  async insertModel(m: NewModel): Promise<number> {
    const rows = await this.query<{ id: number }>(`INSERT INTO models (name, version, format, base_model_id, created_at, logical_bytes,
        new_raw_bytes, new_stored_bytes, delta_raw_bytes, delta_stored_bytes, metadata_json)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`, [
      m.name, m.version, m.format, m.baseModelId, m.createdAt, m.logicalBytes,
      m.newRawBytes, m.newStoredBytes, m.deltaRawBytes, m.deltaStoredBytes, m.metadataJson]);
    return rows[0]!.id;
  }

  async updateModelAccounting(id: number, a: Pick<ModelRow, 'newRawBytes' | 'newStoredBytes' | 'deltaRawBytes' | 'deltaStoredBytes' | 'baseModelId'>): Promise<void> {
    await this.query(`UPDATE models SET new_raw_bytes = $1, new_stored_bytes = $2, delta_raw_bytes = $3, delta_stored_bytes = $4,
        base_model_id = $5 WHERE id = $6`, [a.newRawBytes, a.newStoredBytes, a.deltaRawBytes, a.deltaStoredBytes, a.baseModelId, id]);
  }

  async adjustModelAccounting(id: number, d: { newStoredBytes: number; deltaRawBytes: number; deltaStoredBytes: number; baseModelId: number }): Promise<void> {
    await this.query(`UPDATE models SET new_stored_bytes = new_stored_bytes + $1, delta_raw_bytes = delta_raw_bytes + $2,
        delta_stored_bytes = delta_stored_bytes + $3, base_model_id = $4 WHERE id = $5`,
    [d.newStoredBytes, d.deltaRawBytes, d.deltaStoredBytes, d.baseModelId, id]);
  }

  async deleteModel(id: number): Promise<void> {
    // ON DELETE CASCADE removes files, segments and file_chunks; chunks wait for gc.
    await this.query('DELETE FROM models WHERE id = $1', [id]);
  }

  async insertFile(f: NewFile): Promise<number> {
    const rows = await this.query<{ id: number }>('INSERT INTO files (model_id, path, size, sha256, format) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [f.modelId, f.path, f.size, f.sha256, f.format]);
    return rows[0]!.id;
  }

  async listFiles(modelId: number): Promise<FileRow[]> {
    // COLLATE "C": the same byte order as SQLite's, whatever the database's locale.
    return (await this.query<FileDbRow>('SELECT * FROM files WHERE model_id = $1 ORDER BY path COLLATE "C"', [modelId])).map(fileFromDb);
  }

  async insertSegments(fileId: number, rows: SegmentRow[]): Promise<void> {
    for (const b of batches(rows, INSERT_ROWS)) {
      const params: unknown[] = [fileId];
      for (const s of b) {
        params.push(s.ordinal, s.kind, s.tensorName, s.dtype, s.shape ? JSON.stringify(s.shape) : null,
          s.fileOffset, s.length, s.firstChunk, s.chunkCount);
      }
      const values = b.map((_, r) => `($1, ${Array.from({ length: 9 }, (_v, c) => `$${2 + r * 9 + c}`).join(', ')})`).join(', ');
      await this.query(`INSERT INTO segments (file_id, ordinal, kind, tensor_name, dtype, shape_json, file_offset,
          length, first_chunk, chunk_count) VALUES ${values}`, params);
    }
  }

  async listSegments(fileId: number): Promise<SegmentRow[]> {
    const rows = await this.query<SegmentDbRow>('SELECT * FROM segments WHERE file_id = $1 ORDER BY ordinal', [fileId]);
    return rows.map(segmentFromDb);
  }

  async modelTensors(modelId: number): Promise<TensorRow[]> {
    const rows = await this.query<TensorDbRow>(`SELECT ${TENSOR_COLUMNS} FROM segments s JOIN files f ON f.id = s.file_id
        WHERE f.model_id = $1 AND s.kind = 1 ORDER BY f.path COLLATE "C", s.ordinal`, [modelId]);
    return rows.map(tensorFromDb);
  }

  async tensorsNamed(names: string[]): Promise<TensorRow[]> {
    if (names.length === 0) return [];
    const rows = await this.query<TensorDbRow>(`SELECT ${TENSOR_COLUMNS} FROM segments s JOIN files f ON f.id = s.file_id
        WHERE s.kind = 1 AND s.tensor_name = ANY($1::text[])`, [names]);
    return rows.map(tensorFromDb);
  }

  /** Ids by hash (hex) of the stored chunks among `hashes`. */
  private async idsByHash(hashes: Buffer[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const b of batches(hashes, 5000)) {
      const rows = await this.query<{ id: number; hash: Buffer }>('SELECT id, hash FROM chunks WHERE hash = ANY($1::bytea[])', [b], 'tessera_lookup');
      for (const r of rows) out.set(r.hash.toString('hex'), r.id);
    }
    return out;
  }

  async lookupChunks(hashes: Buffer[]): Promise<(number | undefined)[]> {
    if (hashes.length === 0) return [];
    const ids = await this.idsByHash(hashes);
    return hashes.map((h) => ids.get(h.toString('hex')));
  }

  async insertChunks(rows: NewChunk[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const ids = new Map<string, number>();
    const inserted: { id: number; row: NewChunk }[] = [];
    // Rows go in hash order: two importers inserting overlapping batches then
    // take the rows' locks in the same order and wait rather than deadlock.
    const order = rows.map((r) => ({ r, key: r.hash.toString('hex') })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let i = 0;
    while (i < order.length) {
      const batch: typeof order = [];
      let bytes = 0;
      while (i < order.length && batch.length < INSERT_ROWS && (batch.length === 0 || bytes + order[i]!.r.data.length <= INSERT_BYTES)) {
        bytes += order[i]!.r.data.length;
        batch.push(order[i++]!);
      }
      const params: unknown[] = [];
      for (const { r } of batch) params.push(r.hash, r.rawSize, r.storedSize, r.codec, r.depth, r.data);
      const got = await this.query<{ id: number; hash: Buffer }>(`INSERT INTO chunks (hash, raw_size, stored_size, codec, depth, data)
          VALUES ${placeholders(batch.length, 6)} ON CONFLICT (hash) DO NOTHING RETURNING id, hash`, params,
      batch.length <= 16 ? `tessera_insert_chunks_${batch.length}` : undefined);
      const byKey = new Map(batch.map((b) => [b.key, b.r]));
      for (const g of got) {
        const key = g.hash.toString('hex');
        ids.set(key, g.id);
        inserted.push({ id: g.id, row: byKey.get(key)! });
      }
    }
    // Rows that conflicted: stored by another import that committed meanwhile (or earlier in this one).
    const missing = order.filter((o) => !ids.has(o.key)).map((o) => o.r.hash);
    if (missing.length) for (const [k, id] of await this.idsByHash(missing)) ids.set(k, id);
    // Bases only for the rows this call inserted: a chunk stored by someone else keeps its own encoding.
    const bases: number[] = [];
    for (const { id, row } of inserted) row.bases.forEach((b, o) => bases.push(id, o, b));
    for (let j = 0; j < bases.length; j += 3 * INSERT_ROWS) {
      const part = bases.slice(j, j + 3 * INSERT_ROWS);
      await this.query(`INSERT INTO chunk_bases (chunk_id, ordinal, base_id) VALUES ${placeholders(part.length / 3, 3)}`, part);
    }
    return rows.map((r) => {
      const id = ids.get(r.hash.toString('hex'));
      if (id === undefined) throw new Error(`${this.location}: chunk ${r.hash.toString('hex')} neither inserted nor found`);
      return id;
    });
  }

  async insertFileChunks(fileId: number, firstOrdinal: number, chunkIds: number[]): Promise<void> {
    const per = 2 * INSERT_ROWS;
    for (let j = 0; j < chunkIds.length; j += per) {
      const part = chunkIds.slice(j, j + per);
      const params: unknown[] = [fileId];
      part.forEach((c, k) => params.push(firstOrdinal + j + k, c));
      const values = part.map((_, k) => `($1, $${2 + 2 * k}, $${3 + 2 * k})`).join(', ');
      await this.query(`INSERT INTO file_chunks (file_id, ordinal, chunk_id) VALUES ${values}`, params);
    }
  }

  async hasDependents(id: number): Promise<boolean> {
    return (await this.query('SELECT 1 FROM chunk_bases WHERE base_id = $1 LIMIT 1', [id], 'tessera_dependents')).length > 0;
  }

  async restoreChunk(id: number, r: NewChunk): Promise<void> {
    await this.query('INSERT INTO chunks (id, hash, raw_size, stored_size, codec, depth, data) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, r.hash, r.rawSize, r.storedSize, r.codec, r.depth, r.data]);
    await this.insertBases(id, r.bases);
  }

  /** One chunk's bases, in order, in one statement. */
  private async insertBases(id: number, bases: number[]): Promise<void> {
    if (bases.length === 0) return;
    const params: number[] = [];
    bases.forEach((b, i) => params.push(id, i, b));
    await this.query(`INSERT INTO chunk_bases (chunk_id, ordinal, base_id) VALUES ${placeholders(bases.length, 3)}`, params);
  }

  async setModelUnavailable(id: number, reason: string | null): Promise<void> {
    await this.query('UPDATE models SET unavailable = $1 WHERE id = $2', [reason, id]);
  }

  async rewriteChunk(id: number, e: { codec: number; data: Buffer; storedSize: number; depth: number; bases: number[] }): Promise<void> {
    await this.query('UPDATE chunks SET codec = $1, data = $2, stored_size = $3, depth = $4 WHERE id = $5', [e.codec, e.data, e.storedSize, e.depth, id]);
    await this.query('DELETE FROM chunk_bases WHERE chunk_id = $1', [id]);
    await this.insertBases(id, e.bases);
  }

  async fileChunkIds(fileId: number): Promise<number[]> {
    return (await this.query<{ chunk_id: number }>('SELECT chunk_id FROM file_chunks WHERE file_id = $1 ORDER BY ordinal', [fileId], 'tessera_file_chunks'))
      .map((r) => r.chunk_id);
  }

  /** Payloads come through binary COPY (raw bytes; ~3x the throughput of bytea in a text-mode result). */
  async getChunks(ids: number[]): Promise<StoredChunk[]> {
    const found = new Map<number, StoredChunk>();
    for (const b of batches([...new Set(ids)], COPY_IDS)) {
      const rows = await this.copyRows(`SELECT c.id, c.hash, c.raw_size, c.codec, ${BASES_COLUMN}, c.data FROM chunks c WHERE c.id = ANY(${idList(b)})`);
      for (const [id, hash, raw, codec, bases, data] of rows) {
        const c: StoredChunk = {
          id: int8(id!), hash: Buffer.from(hash!), rawSize: int4(raw!), codec: int4(codec!),
          bases: parseBases(bases ? bases.toString('utf8') : null), data: data!,
        };
        found.set(c.id, c);
      }
    }
    return ids.map((id) => {
      const c = found.get(id);
      if (!c) throw new Error(`${this.location}: chunk ${id} is missing from the store`);
      return c;
    });
  }

  async chunkInfo(ids: number[]): Promise<ChunkInfo[]> {
    const found = new Map<number, ChunkInfo>();
    for (const b of batches([...new Set(ids)], 10000)) {
      const rows = await this.query<{ id: number; raw_size: number; stored_size: number; codec: number; depth: number; bases: string | null }>(
        `SELECT c.id, c.raw_size, c.stored_size, c.codec, c.depth, ${BASES_COLUMN} AS bases FROM chunks c WHERE c.id = ANY($1::bigint[])`, [b], 'tessera_chunk_info');
      for (const r of rows) {
        found.set(r.id, { id: r.id, rawSize: r.raw_size, storedSize: r.stored_size, codec: r.codec, depth: r.depth, bases: parseBases(r.bases) });
      }
    }
    return ids.map((id) => {
      const c = found.get(id);
      if (!c) throw new Error(`${this.location}: chunk ${id} is missing from the store`);
      return c;
    });
  }

  async totals(): Promise<StoreTotals> {
    const [m] = await this.query<{ models: number; files: number; logical: number }>(`SELECT (SELECT COUNT(*) FROM models) AS models,
        COUNT(*) AS files, COALESCE(SUM(size), 0) AS logical FROM files`);
    const [c] = await this.query<{ chunks: number; raw: number; stored: number }>(`SELECT COUNT(*) AS chunks,
        COALESCE(SUM(raw_size), 0) AS raw, COALESCE(SUM(stored_size), 0) AS stored FROM chunks`);
    const [d] = await this.query<{ raw: number; stored: number }>(`SELECT COALESCE(SUM(raw_size), 0) AS raw,
        COALESCE(SUM(stored_size), 0) AS stored FROM chunks WHERE id IN (SELECT DISTINCT chunk_id FROM chunk_bases)`);
    return {
      models: m!.models, files: m!.files, logicalBytes: m!.logical, chunks: c!.chunks, uniqueRawBytes: c!.raw,
      storedBytes: c!.stored, deltaRawBytes: d!.raw, deltaStoredBytes: d!.stored, dbBytes: await this.dbBytes(),
    };
  }

  async sharing(modelId: number): Promise<SharingRow[]> {
    const rows = await this.query<{ model_id: number; bytes: number; chunks: number }>(`
      WITH mine AS (
        SELECT DISTINCT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = $1
      ), theirs AS (
        SELECT DISTINCT f.model_id, fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id
        WHERE fc.chunk_id IN (SELECT chunk_id FROM mine) AND f.model_id <> $1
      )
      SELECT t.model_id AS model_id, SUM(c.raw_size) AS bytes, COUNT(*) AS chunks
      FROM theirs t JOIN chunks c ON c.id = t.chunk_id
      GROUP BY t.model_id ORDER BY bytes DESC, t.model_id`, [modelId]);
    return rows.map((r) => ({ modelId: r.model_id, bytes: r.bytes, chunks: r.chunks }));
  }

  async chunkModels(chunkIds: number[]): Promise<{ chunkId: number; modelId: number }[]> {
    const out: { chunkId: number; modelId: number }[] = [];
    for (const b of batches([...new Set(chunkIds)], 10000)) {
      const rows = await this.query<{ chunk_id: number; model_id: number }>(`SELECT DISTINCT fc.chunk_id, f.model_id FROM file_chunks fc
          JOIN files f ON f.id = fc.file_id WHERE fc.chunk_id = ANY($1::bigint[])`, [b]);
      for (const r of rows) out.push({ chunkId: r.chunk_id, modelId: r.model_id });
    }
    return out;
  }

  async modelChunkBytes(modelId: number): Promise<{ distinctBytes: number; uniqueBytes: number; chunks: number }> {
    const [r] = await this.query<{ chunks: number; distinct_bytes: number; unique_bytes: number }>(`
      WITH mine AS (
        SELECT DISTINCT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = $1
      )
      SELECT COUNT(*) AS chunks, COALESCE(SUM(c.raw_size), 0) AS distinct_bytes,
        COALESCE(SUM(CASE WHEN EXISTS (
          SELECT 1 FROM file_chunks fc2 JOIN files f2 ON f2.id = fc2.file_id
          WHERE fc2.chunk_id = m.chunk_id AND f2.model_id <> $1) THEN 0 ELSE c.raw_size END), 0) AS unique_bytes
      FROM mine m JOIN chunks c ON c.id = m.chunk_id`, [modelId]);
    return { distinctBytes: r!.distinct_bytes, uniqueBytes: r!.unique_bytes, chunks: r!.chunks };
  }

  /**
   * Deletes chunks no file and no live delta references, under the store's
   * exclusive advisory lock (it waits for every transaction in flight, and
   * transactions that start meanwhile wait for it: see the class comment).
   * Then VACUUM marks the space reusable and returns empty pages at the end
   * of the tables; VACUUM FULL would shrink them but locks out readers.
   */
  async gc(): Promise<GcResult> {
    if (this.tx.getStore()) throw new Error('gc inside a transaction');
    const dbBytesBefore = await this.dbBytes();
    let chunks = 0;
    let storedBytes = 0;
    const c = await this.pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      await c.query(`SELECT pg_advisory_xact_lock(${LOCK_ARGS})`, [LOCK_GC]);
      // A delta chunk keeps its bases alive; freeing a delta may orphan its base,
      // so sweep until nothing more goes (bounded by the delta chain depth).
      for (;;) {
        const dead = (await c.query<{ id: number; stored_size: number }>(`SELECT id, stored_size FROM chunks
            WHERE NOT EXISTS (SELECT 1 FROM file_chunks fc WHERE fc.chunk_id = chunks.id)
              AND NOT EXISTS (SELECT 1 FROM chunk_bases b WHERE b.base_id = chunks.id) LIMIT ${GC_BATCH}`)).rows;
        if (dead.length === 0) break;
        await c.query('DELETE FROM chunks WHERE id = ANY($1::bigint[])', [dead.map((d) => d.id)]);
        chunks += dead.length;
        for (const d of dead) storedBytes += d.stored_size;
      }
      await c.query('COMMIT');
      if (chunks > 0) await c.query('VACUUM chunks, chunk_bases');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => { broken = true; });
      throw e;
    } finally {
      c.release(broken);
    }
    return { chunks, storedBytes, dbBytesBefore, dbBytesAfter: await this.dbBytes() };
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]))[0]?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  /** Bytes of the store's tables on disk: heap, TOAST (the payloads) and indexes. */
  async dbBytes(): Promise<number> {
    const [r] = await this.query<{ bytes: number }>(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS bytes
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`);
    return r!.bytes;
  }
}
