/**
 * What each database implements (src/backends/<kind>/driver.ts and
 * dialect.ts): the SQL backend (sql-backend.ts) writes every data statement
 * once, with `?` placeholders, and leaves to the database only what really
 * differs: how a statement is run (connections, prepared statements, the bulk
 * path for payloads), transactions and their locks, giving space back after
 * gc, the size on disk, the words of its faults; and, in the dialect, the few
 * places where the SQL text itself differs.
 */

/** One statement: its text with `?` placeholders, and their values in order. */
export interface Query {
  text: string;
  values?: readonly unknown[];
  /**
   * The name PostgreSQL prepares it under, once per connection (it names
   * every short statement itself when none is given; SQLite caches every
   * statement).
   */
  name?: string;
}

/** How a column of a bulk read is encoded (PostgreSQL's binary COPY sends raw bytes). */
export type ColumnType = 'int4' | 'int8' | 'bytea' | 'text';

/** The SQL type of the values in an "any of" list. */
export type ListType = 'bigint' | 'bytea' | 'text';

/**
 * A transaction's hold on the store: shared by imports, rm and migrate;
 * exclusive for gc's sweep; snapshot for a backup's reads: shared, and every
 * read sees the store as it was when the first one ran (PostgreSQL:
 * REPEATABLE READ READ ONLY; SQLite holds its lock throughout anyway).
 */
export type TxLock = 'shared' | 'exclusive' | 'snapshot';

/** How a run of transactions commits together (Driver.commitGroup). */
export interface CommitGroup {
  windowMs: number;
  committed(): void;
}

export interface Dialect {
  /** `column` equals one of `values` (at most maxList of them): the condition and the values it binds. */
  anyOf(column: string, values: readonly unknown[], type: ListType): { sql: string; values: unknown[] };
  /** Values one anyOf condition takes at most. */
  readonly maxList: number;
  /** `expr` ordered by its bytes (file paths and names sort the same on both databases, whatever the locale). */
  byteOrder(expr: string): string;
  /** Rows and payload bytes per multi-row INSERT of chunks. */
  readonly chunkInsert: { rows: number; bytes: number };
  /** Whether chunks go in sorted by hash (concurrent importers then lock rows in one order). */
  readonly insertInHashOrder: boolean;
  /**
   * Whether a chunk's hash is unique in `chunk_hashes` (hash, chunk_id), which
   * hands out the chunk's id, rather than on `chunks` itself (PostgreSQL:
   * migration 10 says why).
   */
  readonly hashTable: boolean;
  /**
   * Joins `fc` (with a `file_id` column) to the first `limit` file chunk rows
   * of chunk `m.chunk_id`, through an index, however many files hold it.
   */
  firstHolders(limit: number): string;
  /** `chunks c` as the FROM item of a query that reads only ids and raw sizes (a file's layout). */
  readonly chunkSizes: string;
  /**
   * A statement that, in a transaction, waits for any other transaction
   * holding the same key (one parameter: the key) until it ends; undefined
   * where transactions that write are serialized already (SQLite).
   */
  readonly lockKey?: string;
  /**
   * A statement that tells other processes watching the store (watchChanges)
   * that the model named by its one parameter changed, at commit; undefined
   * where they poll instead (SQLite).
   */
  readonly notify?: string;
}

export interface Driver {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the store lives, for messages (a URL without its password). */
  readonly location: string;
  readonly dialect: Dialect;
  /** Rows of one statement (none for a write without RETURNING); inside a transaction, on its connection. */
  query<R>(q: Query): Promise<R[]>;
  /**
   * A statement whose answer nobody reads (a write without RETURNING). Inside
   * a transaction the database may take it without being waited for
   * (PostgreSQL pipelines it behind the statements in flight): the promise
   * may resolve before it has run, later statements of the transaction still
   * see its effect, and its failure fails the transaction (the next statement
   * awaited, or the commit, reports it). Outside a transaction it is awaited.
   */
  execute(q: Query): Promise<void>;
  /**
   * A one-row `INSERT … ON CONFLICT DO NOTHING` (without RETURNING): the new
   * row's `id`, or undefined when the row conflicted. SQLite reads the id off
   * the statement: RETURNING there costs ~40% more per 64 KiB chunk inserted
   * (it copies each row into a table of results).
   */
  insertOne(q: Query): Promise<number | undefined>;
  /** The first column of each row of one statement (no row objects: a file's list of chunk ids is long). */
  column<T>(q: Query): Promise<T[]>;
  /**
   * Rows of a SELECT that carries chunk payloads, by the database's fastest
   * path; `columns` names the selected columns, in order, with their types.
   */
  bulkSelect<R>(q: Query, columns: { [K in keyof R]: ColumnType }): Promise<R[]>;
  /** Runs fn in one transaction holding the store's lock: all of its writes commit together, or none. */
  transaction<T>(fn: () => Promise<T>, lock: TxLock): Promise<T>;
  /**
   * Runs fn, a run of transactions one after another (a CLI batch), with
   * their commits grouped: each transaction still commits or rolls back as a
   * whole, but it may become durable only at a later commit, at most
   * `group.windowMs` after the group's first uncommitted one began, and at
   * the latest when fn settles. `group.committed` is called each time every
   * transaction fn has finished is durable, and once more as the group ends
   * when they are (a caller learns a transaction's result after its commit).
   * A crash loses the transactions since the last call, never part of one.
   */
  commitGroup<T>(group: CommitGroup, fn: () => Promise<T>): Promise<T>;
  /** After gc deleted `freedChunks` chunks: make their space reusable, or give it back to the file system. */
  reclaimSpace(freedChunks: number): Promise<void>;
  /** The store's size on disk. */
  dbBytes(): Promise<number>;
  /**
   * SQLite: copies the database, page by page, into a new file at `path`
   * (the online backup API), consistent while other processes write: the
   * copy is taken in one step under a read lock (writers wait, up to their
   * busy timeout), and started again if a write slipped in before it.
   * Undefined on PostgreSQL (Store.backup copies model by model instead).
   */
  copyDatabase?(path: string): Promise<void>;
  /** `e` as a one-line error naming the store when it is an outside failure, else `e` itself. */
  explainError(e: unknown): unknown;
  close(): Promise<void>;
  /**
   * Calls `onChange` when another process (or another server) commits a
   * change to a model or its serving configuration: with the model's name
   * when the database says which (PostgreSQL: LISTEN/NOTIFY, the writes
   * notify in their transaction, so a notice arrives at commit), undefined
   * when it cannot (SQLite's data_version, polled; a PostgreSQL listener that
   * lost its connection): then anything may have changed. Returns a stop.
   */
  watchChanges(onChange: (name: string | undefined) => void): () => Promise<void>;
}
