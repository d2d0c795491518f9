/**
 * Numbered migrations, applied the same way on both databases: a store
 * records in `schema_migrations` the last one it ran, and opening an older
 * store runs the rest. Each database's schema.ts holds its migrations and the
 * locking around them (SQLite's write lock, PostgreSQL's advisory lock).
 */

export const CREATE_MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)';
export const APPLIED_VERSION = 'SELECT MAX(version) AS v FROM schema_migrations';

/** Runs the migrations after version `done`, in order, recording each; refuses a store newer than this code. */
export async function applyMigrations(
  migrations: readonly string[], done: number, run: (sql: string, values?: unknown[]) => Promise<unknown>,
): Promise<void> {
  if (done > migrations.length) {
    throw new Error(`store schema version ${done} is newer than this Tessera (${migrations.length}); upgrade Tessera`);
  }
  for (let v = done + 1; v <= migrations.length; v++) {
    await run(migrations[v - 1]!);
    await run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [v, new Date().toISOString()]);
  }
}
