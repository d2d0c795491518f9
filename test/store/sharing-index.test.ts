/**
 * What models share, kept by imports and removals (src/store/inspect/
 * sharing-index.ts), on both databases: each figure is checked against the
 * chunk lists themselves, the kept lists against recomputing them all, and
 * a list that loses a partner takes the next one in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomWeights, storeExec, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { Store } from '../../src/store/store.js';
import { SHARING_TOP } from '../../src/store/inspect/sharing-index.js';

/** 4 KiB tensors: each its own chunk. */
const T = 1024;
const tensor = (seed: number): Buffer => randomWeights(T, seed);

/** Writes a model of these tensors (named by position: the same names give the same header) and imports it. */
async function put(store: Store, dir: string, name: string, seeds: number[]): Promise<number> {
  const path = join(dir, `${name.replace(/\//g, '_')}.safetensors`);
  writeFileSync(path, buildSafetensors(seeds.map((s, i) => ({ name: `t${i}`, dtype: 'F32', shape: [T], data: tensor(s) }))));
  return (await store.import(path, { name, base: null })).model.id;
}

type KeptRow = { model_id: number; other_id: number; bytes: number; chunks: number };

async function keptRows(location: string): Promise<KeptRow[]> {
  return (await storeSql<KeptRow>(location, 'SELECT model_id, other_id, bytes, chunks FROM model_sharing ORDER BY model_id, other_id'))
    .map((r) => ({ model_id: Number(r.model_id), other_id: Number(r.other_id), bytes: Number(r.bytes), chunks: Number(r.chunks) }));
}

/** Raw bytes of the distinct chunks both models reference, from their chunk lists. */
async function exactShared(location: string, a: number, b: number): Promise<number> {
  const rows = await storeSql<{ bytes: number | string | null }>(location, `SELECT SUM(c.raw_size) AS bytes FROM chunks c WHERE
      c.id IN (SELECT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = ${a})
      AND c.id IN (SELECT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = ${b})`);
  return Number(rows[0]!.bytes ?? 0);
}

for (const kind of await testBackends()) {
  test(`${kind}: what a model shares is kept at import, exact, and the same as recomputing every list`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      const core = [1, 2, 3, 4, 5];
      const a = await put(store, dir, 'fam/a', [...core, 100]);
      const b = await put(store, dir, 'fam/b', [...core, 101]);
      const c = await put(store, dir, 'fam/c', [1, 2, 3, 200, 201, 202]);
      const d = await put(store, dir, 'other', [300, 301]);

      const show = await store.show({ name: 'fam/b' });
      const expected = [
        { model: 'fam/a:1', bytes: await exactShared(location, b, a) },
        { model: 'fam/c:1', bytes: await exactShared(location, b, c) },
      ].sort((x, y) => y.bytes - x.bytes);
      assert.ok(expected[0]!.bytes >= 5 * 4 * T, 'a and b share the five core tensors');
      assert.deepEqual(show.sharedWith.map((s) => ({ model: s.model, bytes: s.bytes })), expected);
      assert.deepEqual((await store.show({ name: 'other' })).sharedWith, [], 'd shares nothing (its header differs: two tensors)');

      // The pairs, most shared first, with the tensors of the first model over them.
      const pairs = await store.sharedPairs(10);
      assert.deepEqual(pairs.map((p) => [p.a, p.b, p.bytes]), [
        ['fam/a:1', 'fam/b:1', await exactShared(location, a, b)],
        ['fam/a:1', 'fam/c:1', await exactShared(location, a, c)],
        ['fam/b:1', 'fam/c:1', await exactShared(location, b, c)],
      ]);
      assert.deepEqual(pairs[0]!.tensors.names, ['t0', 't1', 't2', 't3', 't4']);

      // Families: b and c joined a's (they share at least half of the smaller); d has its own.
      const fams = await storeSql<{ id: number; family_id: number }>(location, 'SELECT id, family_id FROM models ORDER BY id');
      const family = new Map(fams.map((r) => [Number(r.id), Number(r.family_id)]));
      assert.equal(family.get(b), family.get(a));
      assert.equal(family.get(c), family.get(a));
      assert.equal(family.get(d), d);

      // Removing a mends the lists that named it; everything equals a rebuild from the chunks.
      await store.remove({ name: 'fam/a', version: 1 });
      assert.deepEqual((await store.show({ name: 'fam/b' })).sharedWith.map((s) => s.model), ['fam/c:1']);
      const kept = await keptRows(location);
      assert.ok(kept.every((r) => r.model_id !== a && r.other_id !== a), 'no row names a removed model');
      await store.rebuildSharing();
      assert.deepEqual(await keptRows(location), kept, 'kept incrementally = recomputed');

      // The heatmap matrix reads the same figures (a small store: model by model).
      const m = await store.sharing();
      assert.equal(m.grouping, 'models');
      const ib = m.models.findIndex((x) => x.ref === 'fam/b:1');
      const ic = m.models.findIndex((x) => x.ref === 'fam/c:1');
      assert.equal(m.bytes[ib]![ic], await exactShared(location, b, c));
      assert.deepEqual(m.tensors[ib]![ic]!.names, ['t0', 't1', 't2']);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  test(`${kind}: a list keeps the ${SHARING_TOP} models it shares most with, and takes the next in when one goes`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      const n = SHARING_TOP + 2;
      // The hub holds tensors 1..n; model k holds the first k of them and one of its own.
      const hub = await put(store, dir, 'hub', Array.from({ length: n }, (_, i) => i + 1));
      const ids: number[] = [];
      for (let k = 1; k <= n; k++) ids.push(await put(store, dir, `m${k}`, [...Array.from({ length: k }, (_, i) => i + 1), 1000 + k]));
      const partners = async (): Promise<string[]> => (await store.show({ name: 'hub' })).sharedWith.map((s) => s.model);
      // The SHARING_TOP sharing the most: m(n) … m3 (m1 and m2 share the least).
      assert.deepEqual(await partners(), Array.from({ length: SHARING_TOP }, (_, i) => `m${n - i}:1`));
      await store.remove({ name: `m${n}`, version: 1 });
      assert.deepEqual(await partners(), Array.from({ length: SHARING_TOP }, (_, i) => `m${n - 1 - i}:1`), 'm2 takes the freed place');
      const kept = await keptRows(location);
      await store.rebuildSharing();
      assert.deepEqual(await keptRows(location), kept);
      void hub;
      void ids;
    } finally {
      await store.close();
      await cleanup();
    }
  });

  test(`${kind}: a store whose models came before the index builds it at first use`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      await put(store, dir, 'x', [1, 2, 3]);
      await put(store, dir, 'y', [1, 2, 4]);
      const before = await keptRows(location);
      assert.ok(before.length >= 4, 'two own rows and the pair both ways');
      // As a store migrated to schema 9 holds it: no rows, no mark that the index is complete.
      await storeExec(location, "DELETE FROM model_sharing; DELETE FROM settings WHERE key = 'sharing_index'; UPDATE models SET family_id = NULL");
      assert.deepEqual((await store.show({ name: 'y' })).sharedWith.map((s) => s.model), ['x:1']);
      assert.deepEqual(await keptRows(location), before);
    } finally {
      await store.close();
      await cleanup();
    }
  });
}
