import { Store } from '../store/store.js';

export interface GlobalOptions {
  store?: string;
  debug?: boolean;
}

/** Opens the store the options name, runs fn, and closes the store whatever happens. */
export async function withStore<T>(opts: GlobalOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(opts.store);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
