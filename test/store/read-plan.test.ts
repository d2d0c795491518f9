/**
 * An export reads a model's files through one ReadPlan: the chunk lists of
 * all files in one query, the payloads of small files in shared queries
 * (with the delta bases they name), each batch dropped once its files are
 * written. Counted on the store's real backend, on both databases: a model
 * of many small files costs a handful of queries, not two per file, and
 * every file still comes back byte-identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, sha256, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { Backend } from '../../src/backends/backend.js';

/** Counts the backend's calls of the named methods (the Store's backend is private: reached for the count only). */
function countCalls(store: object, names: (keyof Backend)[]): Record<string, number> {
  const db = (store as { db: Record<string, (...a: unknown[]) => unknown> }).db;
  const counts: Record<string, number> = {};
  for (const n of names) {
    const orig = db[n]!.bind(db);
    counts[n] = 0;
    db[n] = (...a: unknown[]) => {
      counts[n]!++;
      return orig(...a);
    };
  }
  return counts;
}

for (const kind of await testBackends()) {
  test(`${kind}: a model of 400 small files exports byte-identically in a few queries, and a bigger file beside them as before`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const src = join(dir, 'pkg');
      mkdirSync(join(src, 'sub'), { recursive: true });
      const files: string[] = [];
      for (let i = 0; i < 400; i++) {
        const rel = i % 3 === 0 ? `sub/f${i}.bin` : `f${i}.bin`;
        // Every fourth file repeats an earlier one: the same chunk in several files of one batch.
        writeFileSync(join(src, rel), i % 4 === 3 ? randomBytes(1000 + (i - 1) * 7, i - 1) : randomBytes(1000 + i * 7, i));
        files.push(rel);
      }
      // Bigger than one read step: read step by step, outside the batches.
      writeFileSync(join(src, 'big.bin'), randomBytes(9_000_000, 999));
      files.push('big.bin');
      await store.import(src, { name: 'pkg' });
      store.dropCaches();
      const calls = countCalls(store, ['getChunks', 'fileChunkIds', 'fileChunkIdsOf']);
      const out = join(dir, 'out');
      const r = await store.export({ name: 'pkg' }, out);
      assert.equal(r.files.length, 401);
      for (const rel of files) assert.equal(sha256(join(out, rel)), sha256(join(src, rel)), rel);
      assert.equal(calls.fileChunkIds, 0, 'no chunk list fetched file by file');
      assert.equal(calls.fileChunkIdsOf, 1);
      // 400 small files of 1-4 chunks: a few batches of 256 chunks (plus the big file's steps), not 400 queries.
      assert.ok(calls.getChunks! <= 12, `getChunks called ${calls.getChunks} times`);
      assert.deepEqual(readFileSync(join(out, 'big.bin')), readFileSync(join(src, 'big.bin')));
    } finally {
      await cleanup();
    }
  });
}
