/**
 * Failures a store meets from outside Tessera — a full disk, a lock another
 * process holds, a PostgreSQL server that restarted or cannot be reached —
 * turned into one line that names the store and the cause. The CLI prints an
 * error's first line only (src/cli/main.ts), and the drivers' own words
 * ("database or disk is full", "Connection terminated unexpectedly") name
 * neither the store nor what to do about it.
 */

/** A known outside failure of a store; the driver's error is kept as `cause` (printed with --debug). */
export class StoreFault extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'StoreFault';
  }
}

interface DriverError {
  code?: unknown;
  message?: unknown;
  /** AggregateError (connecting to a name with several addresses) carries its causes here. */
  errors?: unknown;
}

function codeOf(e: unknown): string {
  const c = (e as DriverError | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** The error's own words, one line (an AggregateError has none of its own: its causes'). */
function wordsOf(e: unknown): string {
  const err = e as DriverError | null;
  let m = typeof err?.message === 'string' ? err.message : '';
  if (!m && Array.isArray(err?.errors)) m = err.errors.map(wordsOf).filter(Boolean).join('; ');
  return (m || String(e)).split('\n')[0]!;
}

/** Why a file write failed, for the errno codes that mean "no room": undefined for any other error. */
export function noRoomCause(e: unknown): string | undefined {
  switch (codeOf(e)) {
    case 'ENOSPC': return 'disk full (no space left on device)';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EFBIG': return 'file size limit reached (file too large)';
    default: return undefined;
  }
}

/**
 * An SQLite error as a StoreFault, or undefined when it is not an outside
 * failure. Each SQLite write is a statement or transaction of its own, rolled
 * back whole when it fails, so "nothing was kept" holds for all of them.
 */
export function sqliteFault(e: unknown, location: string, busyTimeoutMs: number): StoreFault | undefined {
  if (e instanceof StoreFault) return e;
  const code = codeOf(e);
  if (code === 'SQLITE_FULL') {
    return new StoreFault(`${location}: disk full (${wordsOf(e)}); nothing of the failed write was kept, free some space and retry`, e);
  }
  if (code.startsWith('SQLITE_BUSY')) {
    const waited = (busyTimeoutMs / 1000).toFixed(1);
    return new StoreFault(`${location}: the store is locked by another process (gave up after waiting ${waited} s, TESSERA_BUSY_TIMEOUT_MS); retry when it has finished`, e);
  }
  // A write the OS refused for another reason than ENOSPC (SQLite maps only that one to
  // SQLITE_FULL): EFBIG under a file size limit, EDQUOT, or a failing device.
  if (code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_TRUNCATE' || code === 'SQLITE_IOERR_FSYNC') {
    return new StoreFault(`${location}: could not write the database file (${code}: disk full, file size limit or I/O error); nothing of the failed write was kept`, e);
  }
  if (code === 'SQLITE_CANTOPEN') {
    return new StoreFault(`${location}: cannot open the store (${wordsOf(e)}): does its directory exist and is it writable?`, e);
  }
  return undefined;
}

/** What node-postgres and the server say when a session ends under a query (a restart, pg_terminate_backend, a dropped socket). */
const LOST_CODES = new Set(['57P01', '57P02', 'ECONNRESET', 'EPIPE']);
const LOST_WORDS = /Connection terminated|not queryable|encountered a connection error/i;

/** A PostgreSQL error as a StoreFault, or undefined when it is not an outside failure. */
export function postgresFault(e: unknown, location: string): StoreFault | undefined {
  if (e instanceof StoreFault) return e;
  const code = codeOf(e);
  const words = wordsOf(e);
  // pg's own connect timeout says "Connection terminated due to connection timeout": not a lost session.
  if (!code && /connection timeout|timeout expired/i.test(words)) return new StoreFault(`${location}: cannot reach PostgreSQL (${words})`, e);
  if (LOST_CODES.has(code) || LOST_WORDS.test(words)) {
    // The server rolls back whatever the lost session had not committed.
    return new StoreFault(`${location}: lost the connection to PostgreSQL (${words}); nothing uncommitted was kept, retry once the server is back`, e);
  }
  if (code === '57P03') return new StoreFault(`${location}: PostgreSQL is not accepting connections (${words}); retry once it is up`, e);
  if (code === '53100') return new StoreFault(`${location}: disk full on the PostgreSQL server (${words}); nothing uncommitted was kept`, e);
  if (code === '53300') return new StoreFault(`${location}: PostgreSQL has no free connection slot (${words})`, e);
  // Socket errors while connecting (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…), or an AggregateError over several addresses.
  if (/^E[A-Z]+$/.test(code) || Array.isArray((e as DriverError | null)?.errors)) {
    return new StoreFault(`${location}: cannot reach PostgreSQL (${words})`, e);
  }
  return undefined;
}
