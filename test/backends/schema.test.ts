import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIGRATIONS as SQLITE } from '../../src/backends/sqlite/schema.js';
import { MIGRATIONS as POSTGRES } from '../../src/backends/postgres/schema.js';
import { storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';

const kinds = await testBackends();

test('both backends have the same migrations, one for one', () => {
  assert.equal(POSTGRES.length, SQLITE.length);
});

/** Table → sorted column names, and index names, of a store's schema. */
async function shape(kind: 'sqlite' | 'postgres'): Promise<{ tables: Record<string, string[]>; indexes: string[] }> {
  const t = await tempStore(kind);
  try {
    const cols = kind === 'sqlite'
      ? await storeSql<{ t: string; c: string }>(t.path, `SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
          WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
      : await storeSql<{ t: string; c: string }>(t.path, `SELECT table_name AS t, column_name AS c FROM information_schema.columns
          WHERE table_schema = current_schema()`);
    const tables: Record<string, string[]> = {};
    for (const { t: table, c } of cols) (tables[table] ??= []).push(c);
    for (const k of Object.keys(tables)) tables[k]!.sort();
    const idx = kind === 'sqlite'
      ? await storeSql<{ n: string }>(t.path, `SELECT name AS n FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`)
      : await storeSql<{ n: string }>(t.path, `SELECT indexname AS n FROM pg_indexes WHERE schemaname = current_schema()
          AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`);
    return { tables, indexes: idx.map((r) => r.n).sort() };
  } finally {
    await t.cleanup();
  }
}

test('both backends end up with the same tables, columns and secondary indexes', { skip: !kinds.includes('postgres') && 'no PostgreSQL' }, async () => {
  const [s, p] = [await shape('sqlite'), await shape('postgres')];
  assert.deepEqual(p.tables, s.tables);
  assert.deepEqual(p.indexes, s.indexes);
  assert.ok(s.tables.chunks?.includes('hash'));
});
