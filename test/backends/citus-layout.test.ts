/**
 * The distributed layout of README's "Scale beyond one machine": every table
 * of a real PostgreSQL store is placed (distributed by a column, or a
 * reference table), and every unique key of a distributed table includes its
 * distribution column, as Citus requires (chunks' hash is unique in
 * chunk_hashes, distributed by hash, not on chunks). A new table,
 * or a new unique key that breaks the rule, fails here. Without a Citus
 * cluster, this is as far as it can be checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';

const kinds = await testBackends();

/** Distributed tables and their distribution column (README: Scale beyond one machine). */
const DISTRIBUTED: Record<string, string> = {
  chunks: 'id',
  chunk_hashes: 'hash',
  chunk_bases: 'chunk_id',
  chunk_sketches: 'chunk_id',
  file_chunks: 'file_id',
  tensor_fingerprints: 'file_id',
  model_sharing: 'model_id',
};
const REFERENCE = ['models', 'files', 'segments', 'settings', 'schema_migrations', 'serving_configs'];

test('every table is placed, and every unique key of a distributed table holds its distribution column', { skip: !kinds.includes('postgres') && 'no PostgreSQL' }, async () => {
  const t = await tempStore('postgres');
  try {
    const tables = (await storeSql<{ t: string }>(t.path, `SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = current_schema() ORDER BY 1`)).map((r) => r.t);
    assert.deepEqual(tables, [...Object.keys(DISTRIBUTED), ...REFERENCE].sort(), 'each table distributed or a reference table');
    const keys = await storeSql<{ t: string; cols: string }>(t.path, `SELECT c.relname AS t,
        string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum)) AS cols
        FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
        WHERE i.indisunique AND n.nspname = current_schema() GROUP BY c.relname, x.relname`);
    const breaking = keys.filter((k) => DISTRIBUTED[k.t] !== undefined && !k.cols.split(',').includes(DISTRIBUTED[k.t]!)).map((k) => `${k.t}(${k.cols})`).sort();
    assert.deepEqual(breaking, []);
  } finally {
    await t.cleanup();
  }
});
