/** The server's catalog keeps serving with the configurations it has when the store cannot be read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../src/serve/catalog.js';
import { WriteLock } from '../../src/serve/write-lock.js';
import type { Store } from '../../src/store/store.js';

test('a failed read of the serving configurations keeps the last ones and is tried again a second later', async () => {
  let fail = false;
  let reads = 0;
  const rows = [{ name: 'm', version: 0, configJson: '{"max_batch_size":8}', updatedAt: '' }];
  const store = {
    catalog: async () => [],
    modelsFingerprint: async () => '0:0:0:0',
    servingConfigRows: async () => {
      reads++;
      if (fail) throw new Error('the store is away');
      return rows;
    },
  } as unknown as Store;
  const catalog = new Catalog(store, new WriteLock());
  const errors: unknown[] = [];
  catalog.onConfigReadError = (e) => errors.push(e);
  await catalog.refresh();
  assert.equal(catalog.config('m', 1).max_batch_size, 8);
  fail = true;
  await catalog.refreshConfigsIfOlder(0);
  assert.equal(errors.length, 1);
  assert.equal(catalog.config('m', 1).max_batch_size, 8, 'the last configuration stays');
  const before = reads;
  await catalog.refreshConfigsIfOlder();
  assert.equal(reads, before, 'not asked again within the second');
});
