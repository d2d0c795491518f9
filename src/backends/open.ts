import { resolve } from 'node:path';
import type { Backend } from './backend.js';
import { SqliteBackend } from './sqlite/sqlite-backend.js';

export const DEFAULT_STORE = './tessera.db';

/** Whether a store location names a PostgreSQL database (postgres:// or postgresql:// URL). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens the store a location names: a `postgres://user@host:port/db` URL is
 * a PostgreSQL database (the store lives in the first schema of the search
 * path: `?options=-csearch_path%3Dname` picks one, created when missing); any
 * other location is an SQLite database file (created when missing).
 */
export async function openBackend(location: string = process.env.TESSERA_STORE || DEFAULT_STORE): Promise<Backend> {
  if (isPostgresUrl(location)) {
    // Loaded only for PostgreSQL stores: the embedded default never pays for the driver.
    const { PostgresBackend } = await import('./postgres/postgres-backend.js');
    return PostgresBackend.open(location);
  }
  return new SqliteBackend(resolve(location));
}
