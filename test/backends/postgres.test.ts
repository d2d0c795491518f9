import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { redactUrl } from '../../src/backends/postgres/driver.js';
import type { Backend, NewChunk } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';
import { Store } from '../../src/store/store.js';
import { MIGRATIONS } from '../../src/backends/postgres/schema.js';
import { VAD_MODELS, pgTempLocation, storeSql, testBackends } from '../helpers/store-fixtures.js';

/** PostgreSQL-only behaviour of the backend: connections, transactions, locks, types. */

const pgOn = (await testBackends()).includes('postgres');

function chunk(seed: string, bases: number[] = []): NewChunk {
  const data = Buffer.from(`payload ${seed}`);
  return { hash: createHash('sha256').update(seed).digest(), rawSize: data.length, storedSize: data.length, codec: 0, bases, depth: bases.length ? 1 : 0, data };
}

/** `n` backends on one fresh store, and the store's URL (for storeSql). */
async function withBackends<T>(n: number, fn: (b: Backend[], url: string) => Promise<T>): Promise<T> {
  const loc = pgTempLocation();
  const bs: Backend[] = [];
  try {
    // Opened at once: the first migration of a fresh schema must not race.
    bs.push(...(await Promise.all(Array.from({ length: n }, () => openBackend(loc.url)))));
    return await fn(bs, loc.url);
  } finally {
    for (const b of bs) await b.close();
    await loc.drop();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('postgres: URLs are shown without their password', () => {
  assert.equal(redactUrl('postgres://u:secret@h:5432/db?x=1'), 'postgres://u:***@h:5432/db?x=1');
  assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
});

test('postgres: an unreachable server is one clear error naming the store, without the password', async () => {
  await assert.rejects(Store.open('postgres://someone:hunter2@127.0.0.1:1/nowhere'), (e: Error) => {
    assert.match(e.message, /postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: cannot reach PostgreSQL/);
    assert.doesNotMatch(e.message, /hunter2/);
    assert.equal(e.message.split('\n').length, 1);
    return true;
  });
});

test('postgres: several processes opening a fresh schema at once migrate it once; numbers come back as numbers', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  await withBackends(3, async ([a], url) => {
    const versions = await storeSql<{ n: number }>(url, 'SELECT COUNT(*) AS n FROM schema_migrations');
    assert.deepEqual(versions, [{ n: MIGRATIONS.length }]);
    const [id] = await a!.transaction(() => a!.insertChunks([chunk('x')]));
    assert.equal(typeof id, 'number');
    const t = await a!.totals();
    for (const [k, v] of Object.entries(t)) assert.equal(typeof v, 'number', k);
    assert.equal(t.storedBytes, chunk('x').data.length);
  });
});

test('postgres: chunk ids are never reused, after gc or after a rolled-back transaction', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  await withBackends(1, async ([b]) => {
    const [first] = await b!.transaction(() => b!.insertChunks([chunk('a')]));
    await assert.rejects(b!.transaction(async () => {
      await b!.insertChunks([chunk('b')]);
      throw new Error('abort');
    }), /abort/);
    const g = await b!.gc();
    assert.equal(g.chunks, 1, 'the unreferenced chunk went');
    const [again] = await b!.transaction(() => b!.insertChunks([chunk('a')]));
    assert.ok(again! > first! + 1, `a new id (${again}) after ${first} and the rolled-back one`);
  });
});

test('postgres: a transaction\'s writes are invisible to the pool\'s readers until commit; concurrent reads share the pool', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  await withBackends(1, async ([b]) => {
    const inside = deferred();
    const checked = deferred();
    const tx = b!.transaction(async () => {
      const [id] = await b!.insertChunks([chunk('t')]);
      assert.deepEqual(await b!.lookupChunks([chunk('t').hash]), [id], 'the transaction sees its own row');
      inside.resolve();
      await checked.promise;
      return id;
    });
    await inside.promise;
    // This call is not inside the transaction's async context: it goes to the pool.
    const seen = await Promise.all(Array.from({ length: 12 }, () => b!.lookupChunks([chunk('t').hash])));
    assert.ok(seen.every((s) => s[0] === undefined), 'uncommitted rows are not seen outside');
    checked.resolve();
    const id = await tx;
    assert.deepEqual(await b!.lookupChunks([chunk('t').hash]), [id]);
    await assert.rejects(b!.transaction(() => b!.transaction(async () => 1)), /nested transaction/);
  });
});

test('postgres: two transactions inserting the same chunk: the second waits and gets the first one\'s id', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  await withBackends(2, async ([a, b], url) => {
    const aInserted = deferred();
    const release = deferred();
    const ta = a!.transaction(async () => {
      const ids = await a!.insertChunks([chunk('shared', []), chunk('only-a')]);
      aInserted.resolve();
      await release.promise;
      return ids;
    });
    await aInserted.promise;
    let bDone = false;
    const tb = b!.transaction(async () => {
      const ids = await b!.insertChunks([chunk('only-b'), chunk('shared')]);
      bDone = true;
      return ids;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bDone, false, 'b waits for a to decide');
    release.resolve();
    const [ia, ib] = await Promise.all([ta, tb]);
    assert.equal(ib[1], ia[0], 'b uses the chunk a committed');
    const [n] = await storeSql<{ n: number }>(url, 'SELECT COUNT(*) AS n FROM chunks');
    assert.equal(n!.n, 3);
  });
});

test('postgres: importers that deadlock on each other\'s chunks are run again and both commit', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  await withBackends(2, async ([a, b], url) => {
    const aHas1 = deferred();
    const bHas2 = deferred();
    let runs = 0;
    const ta = a!.transaction(async () => {
      runs++;
      const [x] = await a!.insertChunks([chunk('one')]);
      aHas1.resolve();
      await bHas2.promise;
      const [y] = await a!.insertChunks([chunk('two')]);
      return [x!, y!];
    });
    const tb = b!.transaction(async () => {
      runs++;
      const [y] = await b!.insertChunks([chunk('two')]);
      bHas2.resolve();
      await aHas1.promise;
      const [x] = await b!.insertChunks([chunk('one')]);
      return [x!, y!];
    });
    const [ra, rb] = await Promise.all([ta, tb]);
    assert.equal(runs, 3, 'PostgreSQL aborted one of them for the deadlock, and it ran again');
    assert.deepEqual(ra, rb, 'both reference the same two chunks');
    const [n] = await storeSql<{ n: number }>(url, 'SELECT COUNT(*) AS n FROM chunks');
    assert.equal(n!.n, 2);
  });
});

test('postgres: gc waits for a transaction in flight and spares the chunk it is about to reference', { skip: !pgOn && 'no PostgreSQL' }, async () => {
  const loc = pgTempLocation();
  const one = await Store.open(loc.url);
  const two = await Store.open(loc.url);
  const b = await openBackend(loc.url);
  try {
    await one.import(VAD_MODELS[0]!, { name: 'old' });
    await one.remove({ name: 'old' });
    const orphan = (await storeSql<{ id: number }>(loc.url, 'SELECT id FROM chunks ORDER BY id LIMIT 1'))[0]!;
    const looked = deferred();
    const proceed = deferred();
    // An "import" that found an orphan chunk and will reference it.
    const tx = b.transaction(async () => {
      const m = await b.insertModel({ name: 'new', version: 1, format: 'raw', baseModelId: null, createdAt: new Date().toISOString(), logicalBytes: 0,
        newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null });
      const f = await b.insertFile({ modelId: m, path: 'x', size: 0, sha256: Buffer.alloc(32), format: 'raw' });
      looked.resolve();
      await proceed.promise;
      await b.insertFileChunks(f, 0, [orphan.id]);
    });
    await looked.promise;
    let gcDone = false;
    const gc = two.gc().then((r) => {
      gcDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(gcDone, false, 'gc waits for the transaction');
    proceed.resolve();
    await tx;
    const freed = await gc;
    assert.ok(freed.chunks > 0, 'the other orphans went');
    assert.equal((await b.chunkInfo([orphan.id]))[0]!.id, orphan.id, 'the referenced chunk stayed');
  } finally {
    await b.close();
    await one.close();
    await two.close();
    await loc.drop();
  }
});
