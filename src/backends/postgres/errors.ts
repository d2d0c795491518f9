import { StoreFault, codeOf, wordsOf } from '../errors.js';
import type { DriverError } from '../errors.js';

/** What node-postgres and the server say when a session ends under a query (a restart, pg_terminate_backend, a dropped socket). */
const LOST_CODES = new Set(['57P01', '57P02', 'ECONNRESET', 'EPIPE']);
const LOST_WORDS = /Connection terminated|not queryable|encountered a connection error/i;

/** A PostgreSQL error as a StoreFault, or undefined when it is not an outside failure. */
export function postgresFault(e: unknown, location: string): StoreFault | undefined {
  if (e instanceof StoreFault) return e;
  const code = codeOf(e);
  const words = wordsOf(e);
  // pg's own connect timeout says "Connection terminated due to connection timeout": not a lost session.
  if (!code && /connection timeout|timeout expired/i.test(words)) return new StoreFault(location, `cannot reach PostgreSQL (${words})`, e);
  if (LOST_CODES.has(code) || LOST_WORDS.test(words)) {
    // The server rolls back whatever the lost session had not committed.
    return new StoreFault(location, `lost the connection to PostgreSQL (${words}); nothing uncommitted was kept, retry once the server is back`, e);
  }
  if (code === '57P03') return new StoreFault(location, `PostgreSQL is not accepting connections (${words}); retry once it is up`, e);
  if (code === '53100') return new StoreFault(location, `disk full on the PostgreSQL server (${words}); nothing uncommitted was kept`, e);
  if (code === '53300') return new StoreFault(location, `PostgreSQL has no free connection slot (${words})`, e);
  // Socket errors while connecting (ECONNREFUSED, ENOTFOUND, ETIMEDOUT…), or an AggregateError over several addresses.
  if (/^E[A-Z]+$/.test(code) || Array.isArray((e as DriverError | null)?.errors)) {
    return new StoreFault(location, `cannot reach PostgreSQL (${words})`, e);
  }
  return undefined;
}
