import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import type { SafetensorsTensor } from '../helpers/build-safetensors.js';
import { PG_TEST_URL, importInFlight, pgSchemaOf, randomWeights, sha256, storeSql, tempDir, tempLocation, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { BackendKind } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';
import { tessera } from '../helpers/cli.js';
import type { Run } from '../helpers/cli.js';

/**
 * Several processes on one store, for real: each importer and each gc is its
 * own `node bin/tessera.js` process.
 */

const kinds = await testBackends();

const MIB_FLOATS = 1 << 18;
const tensor = (name: string, seed: number): SafetensorsTensor => ({ name, dtype: 'F32', shape: [MIB_FLOATS], data: randomWeights(MIB_FLOATS, seed) });

for (const kind of kinds) {
  test(`${kind}: two processes importing overlapping models at once both succeed, and every shared chunk is stored once`, async () => {
    const { dir, cleanup } = tempDir();
    const loc = tempLocation(kind, dir);
    try {
      // 16 MiB shared, in opposite orders, so each importer needs chunks the other may hold uncommitted.
      const shared = Array.from({ length: 16 }, (_, i) => tensor(`shared.${i}`, 100 + i));
      const a = join(dir, 'a.safetensors');
      const b = join(dir, 'b.safetensors');
      writeFileSync(a, buildSafetensors([...shared, ...Array.from({ length: 8 }, (_, i) => tensor(`a.${i}`, 200 + i))]));
      writeFileSync(b, buildSafetensors([...Array.from({ length: 8 }, (_, i) => tensor(`b.${i}`, 300 + i)), ...[...shared].reverse()]));

      // What one importer after the other stores: the chunk count to expect.
      const ref = await tempStore('sqlite');
      await ref.store.import(a, { name: 'a' });
      await ref.store.import(b, { name: 'b' });
      const expected = (await ref.store.totals()).chunks;
      await ref.cleanup();

      const [ra, rb] = await Promise.all([
        tessera(['import', a, '--name', 'a', '--store', loc.location]),
        tessera(['import', b, '--name', 'b', '--store', loc.location]),
      ]);
      assert.equal(ra.code, 0, ra.stderr);
      assert.equal(rb.code, 0, rb.stderr);
      assert.ok(ra.started < rb.ended && rb.started < ra.ended, 'the imports ran at the same time');

      const store = await Store.open(loc.location);
      try {
        const t = await store.totals();
        assert.equal(t.models, 2);
        assert.equal(t.chunks, expected, 'every distinct chunk stored once, none lost');
        const [dups] = await storeSql<{ n: number }>(loc.location, 'SELECT COUNT(*) - COUNT(DISTINCT hash) AS n FROM chunks');
        assert.equal(Number(dups!.n), 0);
        const showA = await store.show({ name: 'a' });
        const sharedBytes = shared.reduce((n, s) => n + s.data.length, 0);
        assert.equal(showA.sharedWith.find((s) => s.model === 'b:1')?.bytes, sharedBytes, 'a and b reference the same chunks for the shared tensors');
        for (const [name, file] of [['a', a], ['b', b]] as const) {
          const out = join(dir, `${name}.out`);
          await store.export({ name }, out);
          assert.equal(sha256(out), sha256(file), name);
        }
        assert.equal((await store.gc()).chunks, 0, 'nothing was left unreferenced');
      } finally {
        await store.close();
      }
    } finally {
      cleanup();
      await loc.drop();
    }
  });
}

const pgOnly = (k: BackendKind[]) => (k.includes('postgres') ? false : 'no PostgreSQL server (SQLite has one writer at a time: gc cannot run beside an import there)');

test('postgres: gc looping in other processes while a big import runs never deletes a chunk the import references', { skip: pgOnly(kinds) }, async () => {
  const { dir, cleanup } = tempDir();
  const loc = tempLocation('postgres', dir);
  const schema = pgSchemaOf(loc.location);
  const admin = new pg.Client({ connectionString: PG_TEST_URL });
  await admin.connect();
  try {
    // "old" leaves orphans behind (rm without gc); the big import starts by looking them
    // up (they are its first tensors) and references them only when it commits.
    const reused = Array.from({ length: 8 }, (_, i) => tensor(`reused.${i}`, 500 + i));
    const oldFile = join(dir, 'old.safetensors');
    writeFileSync(oldFile, buildSafetensors([...reused, tensor('old.only', 599)]));
    const bigFile = join(dir, 'big.safetensors');
    writeFileSync(bigFile, buildSafetensors([...reused, ...Array.from({ length: 72 }, (_, i) => tensor(`big.${i}`, 600 + i))]));
    assert.equal((await tessera(['import', oldFile, '--name', 'old', '--store', loc.location])).code, 0);
    const oldIds = (await storeSql<{ id: number }>(loc.location, 'SELECT id FROM chunks')).map((r) => Number(r.id));
    assert.equal((await tessera(['rm', 'old', '--store', loc.location])).code, 0);

    const importing = tessera(['import', bigFile, '--name', 'big', '--store', loc.location]);
    let importDone = false;
    void importing.then(() => (importDone = true));
    // Wait until the import is inside its transaction, and has had time to look up the reused chunks.
    while (!importDone && !(await importInFlight(admin, schema))) await new Promise((r) => setTimeout(r, 10));
    assert.equal(importDone, false, 'the import was seen in flight');
    await new Promise((r) => setTimeout(r, 300));
    const gcs: Run[] = [];
    while (!importDone) {
      const g = await tessera(['gc', '--json', '--store', loc.location]);
      assert.equal(g.code, 0, g.stderr);
      gcs.push(g);
    }
    const imp = await importing;
    assert.equal(imp.code, 0, imp.stderr);
    assert.ok(gcs.length >= 1 && gcs[0]!.started < imp.ended, 'a gc ran while the import was in flight');
    gcs.push(await tessera(['gc', '--json', '--store', loc.location]));

    const check = await Store.open(loc.location);
    try {
      const out = join(dir, 'big.out');
      await check.export({ name: 'big' }, out);
      assert.equal(sha256(out), sha256(bigFile), 'the import\'s model exports byte-identically');
      // The gcs freed exactly old's chunks that big does not reference (its header and its own tensor).
      const live = new Set((await storeSql<{ chunk_id: number }>(loc.location, 'SELECT chunk_id FROM file_chunks')).map((r) => Number(r.chunk_id)));
      const orphans = oldIds.filter((id) => !live.has(id));
      const freed = gcs.reduce((n, g) => n + (JSON.parse(g.stdout) as { chunks: number }).chunks, 0);
      assert.equal(freed, orphans.length);
      assert.ok(oldIds.length - orphans.length >= 8 * 4, 'big references old\'s reused chunks, under their old ids');
    } finally {
      await check.close();
    }
  } finally {
    await admin.end();
    cleanup();
    await loc.drop();
  }
});
