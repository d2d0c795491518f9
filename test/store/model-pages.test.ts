/**
 * Listing a store a page at a time (Store.modelPage, `tessera ls`), on both
 * databases: pages put together are the whole list in order, a search is
 * letter-case blind and takes '_' and '%' literally, import order pages by
 * id, and `stats` gives the latest imports of a big store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomWeights, storeExec, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { tessera } from '../helpers/cli.js';
import { STATS_MODELS } from '../../src/wire/store-json.js';

const NAMES = ['Alpha', 'alpha/two', 'a_b', 'axb', 'beta', 'beta', 'c-1', 'c-2', 'c-10', 'Zed', 'yak', 'm.1', 'm.2'];

for (const kind of await testBackends()) {
  test(`${kind}: pages of models put together are the whole list; search, format and import order`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      for (const [i, name] of NAMES.entries()) {
        const path = join(dir, `m${i}.safetensors`);
        writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [64], data: randomWeights(64, i) }]));
        await store.import(path, { name });
      }
      const all = (await store.list()).map((m) => `${m.name}:${m.version}`);
      assert.equal(all.length, NAMES.length);
      // Byte order: upper case before lower case, then version.
      assert.deepEqual(all.slice(0, 3), ['Alpha:1', 'Zed:1', 'a_b:1']);

      for (const limit of [1, 4, 5, 100]) {
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listPage({ limit, after });
          assert.equal(page.total, NAMES.length);
          seen.push(...page.models.map((m) => `${m.name}:${m.version}`));
          if (page.next === null) break;
          assert.equal(page.next, seen[seen.length - 1], 'the cursor is the last model of the page');
          after = page.next;
        }
        assert.deepEqual(seen, all, `pages of ${limit}`);
      }

      const names = async (q: Parameters<typeof store.listPage>[0]): Promise<string[]> => (await store.listPage(q)).models.map((m) => `${m.name}:${m.version}`);
      assert.deepEqual(await names({ limit: 10, search: 'ALPHA' }), ['Alpha:1', 'alpha/two:1']);
      assert.deepEqual(await names({ limit: 10, search: 'a_b' }), ['a_b:1'], "'_' is a character, not a wildcard");
      assert.deepEqual(await names({ limit: 10, search: '%' }), []);
      assert.deepEqual(await names({ limit: 10, search: 'c-1' }), ['c-1:1', 'c-10:1']);
      assert.equal((await store.listPage({ limit: 1, search: 'c-' })).total, 3);
      assert.deepEqual(await names({ limit: 2, search: 'c-', after: 'c-10:1' }), ['c-2:1']);
      assert.deepEqual(await names({ limit: 10, format: 'onnx' }), []);
      assert.equal((await store.listPage({ limit: 100, format: 'safetensors' })).models.length, NAMES.length);
      const entry = (await store.listPage({ limit: 1, search: 'beta' })).models[0]!;
      assert.equal(entry.files, 1);

      // Import order, newest first: the cursor is an id.
      const newest: string[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await store.listPage({ limit: 3, newestFirst: true, before });
        newest.push(...page.models.map((m) => `${m.name}:${m.version}`));
        if (page.next === null) break;
        before = Number(page.next);
      }
      const imported = NAMES.map((n, i) => `${n}:${NAMES.slice(0, i).filter((x) => x === n).length + 1}`);
      assert.deepEqual(newest, [...imported].reverse());

      await assert.rejects(store.listPage({ limit: 2, after: 'beta' }), /not a model version/);

      // The CLI: a page, the cursor it prints, the next page.
      const first = await tessera(['--store', location, 'ls', '--limit', '5']);
      assert.equal(first.code, 0, first.stderr);
      assert.ok(first.stdout.includes(`(5 of 13 models; the next page: tessera ls --after ${all[4]})`), first.stdout);
      const second = await tessera(['--store', location, 'ls', '--limit', '5', '--after', all[4]!, '--json']);
      assert.deepEqual((JSON.parse(second.stdout) as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`), all.slice(5, 10));
      const bad = await tessera(['--store', location, 'ls', '--limit', '0']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--limit: expected a whole number/);

      // stats: every model while the store holds at most STATS_MODELS, else the latest imports.
      const small = await store.stats();
      assert.equal(small.perModelComplete, true);
      assert.equal(small.perModel.length, NAMES.length);
      await storeExec(location, kind === 'sqlite'
        ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${STATS_MODELS})
           INSERT INTO models (name, version, format, created_at, logical_bytes) SELECT 'bulk/m' || i, 1, 'raw', '2026-01-01T00:00:00.000Z', 0 FROM n`
        : `INSERT INTO models (name, version, format, created_at, logical_bytes) SELECT 'bulk/m' || i, 1, 'raw', '2026-01-01T00:00:00.000Z', 0 FROM generate_series(1, ${STATS_MODELS}) i`);
      const big = await store.stats();
      assert.equal(big.models, NAMES.length + STATS_MODELS);
      assert.equal(big.perModelComplete, false);
      assert.equal(big.perModel.length, STATS_MODELS);
      assert.equal(big.perModel[big.perModel.length - 1]!.model, `bulk/m${STATS_MODELS}:1`, 'the latest import last');
      assert.equal((await store.stats({ all: true })).perModel.length, NAMES.length + STATS_MODELS);
    } finally {
      await store.close();
      await cleanup();
    }
  });
}
