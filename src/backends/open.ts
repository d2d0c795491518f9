import { resolve } from 'node:path';
import type { Backend } from './backend.js';
import { backendConfig } from './config.js';
import type { BackendConfig } from './config.js';
import { SqlBackend } from './sql-backend.js';
import { SqliteDriver } from './sqlite/driver.js';

/** Whether a store location names a PostgreSQL database (postgres:// or postgresql:// URL). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens the store a location names: a `postgres://user@host:port/db` URL is
 * a PostgreSQL database (the store lives in the first schema of the search
 * path: `?options=-csearch_path%3Dname` picks one, created when missing); any
 * other location is an SQLite database file (created when missing). Settings
 * not given take their defaults (config.ts).
 */
export async function openBackend(location: string, config: Partial<BackendConfig> = {}): Promise<Backend> {
  const full = backendConfig(config);
  if (isPostgresUrl(location)) {
    // Loaded only for PostgreSQL stores: the embedded default never pays for the driver.
    const { PostgresDriver } = await import('./postgres/driver.js');
    return new SqlBackend(await PostgresDriver.open(location, full));
  }
  return new SqlBackend(await SqliteDriver.open(resolve(location), full));
}
