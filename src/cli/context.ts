import type { Store, StoreOptions } from '../store/store.js';
import { backendConfigFromEnv, storeLocation } from './config.js';

export interface GlobalOptions {
  store?: string;
  debug?: boolean;
}

/**
 * Opens the store the options name, runs fn, and closes the store whatever
 * happens. A failure from outside (disk full, store locked, server gone) is
 * reported in the store's own words: see src/backends/errors.ts.
 */
export async function withStore<T>(opts: GlobalOptions, fn: (store: Store) => Promise<T>, extra: Pick<StoreOptions, 'importThreads'> = {}): Promise<T> {
  // Loaded when a command opens a store, not when the command's module is: `import` checks its sources first.
  const { Store } = await import('../store/store.js');
  const store = await Store.open(storeLocation(opts.store), { ...backendConfigFromEnv(), ...extra });
  try {
    return await fn(store);
  } catch (e) {
    throw store.explainError(e);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
