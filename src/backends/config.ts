/**
 * What a backend can be told besides where the store is. The backends read no
 * environment: the CLI reads it once (src/cli/config.ts) and passes it in, so
 * a library user or a test says what it wants and gets exactly that.
 */
export interface BackendConfig {
  /** How long an SQLite statement waits for another process's lock before failing ("the store is locked"). */
  busyTimeoutMs: number;
  /** Connections in a PostgreSQL store's pool (reads outside a transaction share it; a transaction takes one). */
  pgPoolSize: number;
  /** Names this process's PostgreSQL sessions in pg_stat_activity (an application_name in the URL wins). */
  applicationName: string;
}

/** 10 s: long enough to wait out another import's commit. */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
export const DEFAULT_PG_POOL_SIZE = 8;

/** The given settings, the defaults for the rest. */
export function backendConfig(given: Partial<BackendConfig> = {}): BackendConfig {
  return {
    busyTimeoutMs: given.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    pgPoolSize: given.pgPoolSize ?? DEFAULT_PG_POOL_SIZE,
    // An operator, or a test, can tell which process holds which connection.
    applicationName: given.applicationName ?? `tessera pid ${process.pid}`,
  };
}
