import { resolve } from 'node:path';
import type { Backend } from './backend.js';
import { SqliteBackend } from './sqlite/sqlite-backend.js';

export const DEFAULT_STORE = './tessera.db';

/**
 * Opens the store a location names: a file path is an SQLite database
 * (created when missing).
 */
export async function openBackend(location: string = process.env.TESSERA_STORE || DEFAULT_STORE): Promise<Backend> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new Error(`${location}: the PostgreSQL backend is not available in this version`);
  }
  return new SqliteBackend(resolve(location));
}
