/**
 * PostgreSQL's chunk_hashes (migration 10): the table that makes a chunk's
 * hash unique, so that chunks' own unique keys are its id alone (the
 * distributed layout of README's "Scale beyond one machine"). Imports claim
 * hashes there, gc removes both rows, verify finds the two tables disagreeing
 * and repair puts them right; a store of schema 9 gets the table filled when
 * opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, randomWeights, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';

const kinds = await testBackends();
const skip = !kinds.includes('postgres') && 'no PostgreSQL';
const BIN = join(REPO_ROOT, 'bin/tessera.js');

/** Chunks, hash rows, and the pairs on which the two agree. */
async function counts(url: string): Promise<{ chunks: number; hashes: number; agreeing: number }> {
  const [r] = await storeSql<{ chunks: number; hashes: number; agreeing: number }>(url, `SELECT
      (SELECT COUNT(*)::int FROM chunks) AS chunks, (SELECT COUNT(*)::int FROM chunk_hashes) AS hashes,
      (SELECT COUNT(*)::int FROM chunks c JOIN chunk_hashes h ON h.hash = c.hash AND h.chunk_id = c.id) AS agreeing`);
  return r!;
}

function cli(args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

/** Two safetensors files sharing one tensor: a.safetensors (w, x) and b.safetensors (w, y). */
function writeModels(dir: string): { a: string; b: string } {
  const w = randomWeights(150_000, 1);
  const a = join(dir, 'a.safetensors');
  const b = join(dir, 'b.safetensors');
  writeFileSync(a, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [150_000], data: w }, { name: 'x', dtype: 'F32', shape: [50_000], data: randomWeights(50_000, 2) }]));
  writeFileSync(b, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [150_000], data: w }, { name: 'y', dtype: 'F32', shape: [50_000], data: randomWeights(50_000, 3) }]));
  return { a, b };
}

test('chunk_hashes: imports claim each hash once, shared chunks are found there, gc removes both rows', { skip }, async () => {
  const t = await tempStore('postgres');
  try {
    const { a, b } = writeModels(t.dir);
    const ra = await t.store.import(a, { name: 'a' });
    const rb = await t.store.import(b, { name: 'b' });
    assert.ok(rb.chunks > rb.newChunks, 'the shared tensor is found by its hashes');
    let c = await counts(t.path);
    assert.equal(c.hashes, c.chunks);
    assert.equal(c.agreeing, c.chunks);
    assert.ok(c.chunks > ra.newChunks);
    // Importing the same bytes again stores nothing new.
    const again = await t.store.import(a, { name: 'a2' });
    assert.equal(again.newChunks, 0);
    assert.equal((await counts(t.path)).chunks, c.chunks);

    await t.store.remove({ name: 'b' });
    const gc = await t.store.gc();
    assert.ok(gc.chunks > 0);
    c = await counts(t.path);
    assert.equal(c.hashes, c.chunks, 'gc deleted the hash rows of the chunks it deleted');
    assert.equal(c.agreeing, c.chunks);
    // The gone chunks' bytes are stored afresh (no hash row points at a deleted chunk).
    const back = await t.store.import(b, { name: 'b' });
    assert.ok(back.newChunks > 0);
    assert.equal((await t.store.verify(true)).problems.length, 0);
  } finally {
    await t.cleanup();
  }
});

test('chunk_hashes: verify reports a hash row without its chunk and a chunk without its row; repair puts both right', { skip }, async () => {
  const t = await tempStore('postgres');
  try {
    const { a } = writeModels(t.dir);
    await t.store.import(a, { name: 'a' });
    await t.store.close();
    // A hash row whose chunk is gone, and a chunk whose row is gone.
    await storeSql(t.path, `INSERT INTO chunk_hashes (hash, chunk_id) VALUES ('\\x${'ab'.repeat(32)}', 999999)`);
    await storeSql(t.path, 'DELETE FROM chunk_hashes WHERE chunk_id = (SELECT MIN(id) FROM chunks)');
    const v = cli(['verify', '--store', t.path]);
    assert.notEqual(v.code, 0);
    assert.match(v.out, /hash-index.*1 hash row\(s\) of chunk_hashes name a chunk that is not in the store.*chunk 999999/);
    assert.match(v.out, /hash-index.*1 chunk\(s\) have no row in chunk_hashes/);
    const r = cli(['repair', '--store', t.path]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /put 2 row\(s\) of the hash index \(chunk_hashes\) right/);
    assert.match(r.out, /the store is clean/);
    const c = await counts(t.path);
    assert.deepEqual([c.hashes, c.agreeing], [c.chunks, c.chunks]);
    assert.equal(cli(['verify', '--deep', '--store', t.path]).code, 0);
  } finally {
    await t.cleanup();
  }
});

test('chunk_hashes: a store of schema 9 is migrated (rows filled from chunks, the unique hash on chunks dropped) and dedups as before', { skip }, async () => {
  const t = await tempStore('postgres');
  try {
    const { a, b } = writeModels(t.dir);
    await t.store.import(a, { name: 'a' });
    await t.store.close();
    // Back to schema 9, as a store written before migration 10 is.
    await storeSql(t.path, `DROP TABLE chunk_hashes; ALTER TABLE chunks ADD CONSTRAINT chunks_hash_key UNIQUE (hash);
      DELETE FROM schema_migrations WHERE version >= 10`);
    const store = await Store.open(t.path);
    try {
      const c = await counts(t.path);
      assert.deepEqual([c.hashes, c.agreeing], [c.chunks, c.chunks]);
      const unique = await storeSql<{ n: number }>(t.path, `SELECT COUNT(*)::int AS n FROM pg_indexes
          WHERE schemaname = current_schema() AND tablename = 'chunks' AND indexdef LIKE '%UNIQUE%' AND indexname <> 'chunks_pkey'`);
      assert.equal(unique[0]!.n, 0);
      const rb = await store.import(b, { name: 'b' });
      assert.ok(rb.chunks > rb.newChunks);
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('analyze (the bench\'s, between batches) covers every table of the store, chunk_hashes included', { skip }, async () => {
  const t = await tempStore('postgres');
  try {
    const { a } = writeModels(t.dir);
    await t.store.import(a, { name: 'a' });
    await t.store.analyze();
    const missed = await storeSql<{ t: string }>(t.path, `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
          AND NOT EXISTS (SELECT 1 FROM pg_stat_user_tables s WHERE s.relid = c.oid AND s.last_analyze IS NOT NULL) ORDER BY 1`);
    assert.deepEqual(missed.map((r) => r.t), []);
  } finally {
    await t.cleanup();
  }
});
