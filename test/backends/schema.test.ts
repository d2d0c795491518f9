import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIGRATIONS as SQLITE } from '../../src/backends/sqlite/schema.js';
import { MIGRATIONS as POSTGRES } from '../../src/backends/postgres/schema.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteOpen, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { sqliteDialect } from '../../src/backends/sqlite/dialect.js';
import { Store } from '../../src/store/store.js';

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

test('both backends end up with the same tables, columns and secondary indexes (but PostgreSQL\'s chunk_hashes)', { skip: !kinds.includes('postgres') && 'no PostgreSQL' }, async () => {
  const [s, p] = [await shape('sqlite'), await shape('postgres')];
  // The hash's own table, for a distributed layout (migration 10); SQLite keeps chunks' UNIQUE (hash).
  const { chunk_hashes: hashTable, ...shared } = p.tables;
  assert.deepEqual(hashTable, ['chunk_id', 'hash']);
  assert.deepEqual(shared, s.tables);
  // Names in byte order: SQLite's UNIQUE (name, version) index sorts so already, PostgreSQL's by the database's collation.
  const PG_ONLY = ['models_name_bytes'];
  assert.deepEqual(p.indexes.filter((i) => !PG_ONLY.includes(i)), s.indexes);
  assert.deepEqual(PG_ONLY.filter((i) => p.indexes.includes(i)), PG_ONLY);
  assert.ok(s.tables.chunks?.includes('hash'));
});

test('a store of schema 3 gets chunks_raw_size when opened, and file layouts read their sizes from it', async () => {
  const t = await tempStore('sqlite');
  try {
    const dir = join(t.dir, 'm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'w.bin'), Buffer.alloc(300_000, 7));
    await t.store.import(dir, { name: 'm' });
    // Back to schema 3, as a store written before migration 4 is.
    const db = await sqliteOpen(t.path);
    db.exec(`DROP INDEX chunks_raw_size; DROP TABLE serving_configs; DROP TABLE chunk_sketches; DROP TABLE tensor_fingerprints; DROP INDEX files_content;
      DROP TABLE model_sharing; DROP INDEX models_family; ALTER TABLE models DROP COLUMN family_id; DELETE FROM settings WHERE key = 'sharing_index';
      DELETE FROM schema_migrations WHERE version >= 4`);
    db.close();
    const reopened = await Store.open(t.path);
    try {
      const [file] = await reopened.files(await reopened.resolve({ name: 'm' }));
      const layout = await reopened.fileLayout(file!);
      assert.equal(layout.offsets.at(-1), 300_000);
      // The sharing index of a store that had models is built at first use.
      assert.deepEqual((await reopened.show({ name: 'm' })).sharedWith, []);
    } finally {
      await reopened.close();
    }
    assert.deepEqual(await storeSql(t.path, `SELECT name FROM sqlite_master WHERE name = 'chunks_raw_size'`), [{ name: 'chunks_raw_size' }]);
    // The layout query names the index (SQLite's planner would read each chunk's row instead).
    const plan = await storeSql<{ detail: string }>(t.path, `EXPLAIN QUERY PLAN SELECT fc.chunk_id, c.raw_size FROM file_chunks fc
      LEFT JOIN ${sqliteDialect.chunkSizes} ON c.id = fc.chunk_id WHERE fc.file_id = 1 ORDER BY fc.ordinal`);
    assert.ok(plan.some((r) => /COVERING INDEX chunks_raw_size/.test(r.detail)), JSON.stringify(plan));
  } finally {
    await t.cleanup();
  }
});
