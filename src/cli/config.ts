import { existsSync } from 'node:fs';
import type { StoreOptions } from '../store/store.js';

/**
 * The CLI's edge: where the environment is read (once, here) into what the
 * store and its backend are given.
 */

export const DEFAULT_STORE = './tessera.db';

export type Env = Record<string, string | undefined>;

/** The store a command works on: --store, else $TESSERA_STORE, else ./tessera.db. */
export function storeLocation(flag: string | undefined, env: Env = process.env): string {
  return flag ?? (env.TESSERA_STORE || DEFAULT_STORE);
}

/** $TESSERA_BUSY_TIMEOUT_MS as milliseconds, undefined when unset. */
export function busyTimeoutFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`TESSERA_BUSY_TIMEOUT_MS=${value}: expected a whole number of milliseconds`);
  return n;
}

/**
 * Backend settings from the environment: TESSERA_BUSY_TIMEOUT_MS (SQLite's
 * wait for a lock), TESSERA_PG_POOL (PostgreSQL connections; not a positive
 * number: the default), PGAPPNAME (the sessions' application_name). Unset
 * ones are left out, so the backend's defaults apply.
 */
export function backendConfigFromEnv(env: Env = process.env): StoreOptions {
  const config: StoreOptions = {};
  const busy = busyTimeoutFromEnv(env.TESSERA_BUSY_TIMEOUT_MS);
  if (busy !== undefined) config.busyTimeoutMs = busy;
  const pool = Number(env.TESSERA_PG_POOL);
  if (pool > 0) config.pgPoolSize = pool;
  if (env.PGAPPNAME) config.applicationName = env.PGAPPNAME;
  return config;
}


/** tessera serve's config file when it has none named (serve-config.ts). */
export const DEFAULT_CONFIG_FILE = 'tessera.toml';

/** Which config file is read: --config, else $TESSERA_CONFIG, else ./tessera.toml when there is one. */
export function configPath(flag: string | undefined, env: Env = process.env): string | undefined {
  if (flag !== undefined) return flag;
  if (env.TESSERA_CONFIG) return env.TESSERA_CONFIG;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

/** The variables serve's settings read (TESSERA_*). */
export function serveEnvironment(env: Env = process.env): Env {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('TESSERA_')));
}
