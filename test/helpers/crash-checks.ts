import assert from 'node:assert/strict';
import { Store } from '../../src/store/store.js';
import { formatModelRef } from '../../src/store/model-ref.js';
import { sha256 } from './store-fixtures.js';

/** A model as the crash test compares it between stores: its lineage, and its files' sizes and digests as recorded at import. */
export interface ModelView {
  base: string | null;
  files: { path: string; size: number; sha256: string }[];
}

/** name:version → view, for every model of the store, in the order of its refs. */
export async function modelViews(store: Store): Promise<Map<string, ModelView>> {
  const models = await store.list();
  const refs = new Map(models.map((m) => [m.id, formatModelRef(m.name, m.version)]));
  const views: [string, ModelView][] = [];
  for (const m of models) {
    const files = (await store.files(m)).map((f) => ({ path: f.path, size: f.size, sha256: f.sha256.toString('hex') })).sort((a, b) => byCodeUnits(a.path, b.path));
    views.push([refs.get(m.id)!, { base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null, files }]);
  }
  return new Map(views.sort(([a], [b]) => byCodeUnits(a, b)));
}

/** The order of Array.prototype.sort() with no comparator, which the tests' expected lists use (localeCompare puts "m2:1" after "m24:1"). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Opens a store as the next process would after a crash and asserts that
 * `verify --deep` finds it clean: every chunk decodes to its hash and every
 * file rebuilds (through the exporter's own path) to the digest recorded at
 * import. Then hands its models to `fn`.
 */
export async function withCheckedStore<T>(location: string, label: string, fn: (store: Store, models: Map<string, ModelView>) => Promise<T>): Promise<T> {
  const store = await Store.open(location);
  try {
    const report = await store.verify(true);
    assert.deepEqual(report.problems, [], `${label}: verify --deep`);
    return await fn(store, await modelViews(store));
  } finally {
    await store.close();
  }
}

/** Exports a model to `out` and asserts its bytes are the ones imported. */
export async function assertExports(store: Store, name: string, out: string, digest: string, label: string): Promise<void> {
  await store.export({ name }, out);
  assert.equal(sha256(out), digest, `${label}: ${name} exports byte-identically`);
}
