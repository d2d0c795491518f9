/**
 * Serving configuration kept with the model (src/store/serving-configs.ts) on
 * both databases, and `tessera config` as users run it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { SERVING_CONFIG_DEFAULTS, servedVersions } from '../../src/wire/serving-config.js';
import { tempLocation, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { tessera } from '../helpers/cli.js';

const kinds = await testBackends();

async function withModel(kind: 'sqlite' | 'postgres', fn: (store: Store, dir: string, path: string) => Promise<void>): Promise<void> {
  const t = await tempStore(kind);
  try {
    for (const v of [1, 2, 3]) {
      const f = join(t.dir, `w${v}.bin`);
      writeFileSync(f, Buffer.alloc(1000, v));
      await t.store.import(f, { name: 'm' });
    }
    await fn(t.store, t.dir, t.path);
  } finally {
    await t.cleanup();
  }
}

for (const kind of kinds) {
  test(`${kind}: a model's and a version's levels merge over the defaults; bad values and contradictions change nothing`, async () => {
    await withModel(kind, async (store) => {
      assert.deepEqual((await store.servingConfig({ name: 'm' })).effective, SERVING_CONFIG_DEFAULTS);
      await store.configure({ name: 'm' }, { set: { max_batch_size: 16, preferred_batch_size: [8, 4], version_policy: { latest: 2 } } });
      const v2 = await store.configure({ name: 'm', version: 2 }, { set: { instances: 2, max_queue_delay_microseconds: 500 } });
      assert.deepEqual(v2.own, { instances: 2, max_queue_delay_microseconds: 500 });
      assert.deepEqual(v2.effective, {
        max_batch_size: 16, preferred_batch_size: [4, 8], max_queue_delay_microseconds: 500, instances: 2, max_queue_size: 128, version_policy: { latest: 2 },
      });
      assert.equal((await store.servingConfig({ name: 'm', version: 3 })).effective.instances, null);
      // Refused, and nothing changed: a policy on a version, a preferred size over the max, a version's max under the model's preferred.
      await assert.rejects(store.configure({ name: 'm', version: 2 }, { set: { version_policy: { all: true } } }), /applies to the model/);
      await assert.rejects(store.configure({ name: 'm' }, { set: { preferred_batch_size: [32] } }), /preferred_batch_size 32 is more than max_batch_size 16/);
      await assert.rejects(store.configure({ name: 'm', version: 3 }, { set: { max_batch_size: 2 } }), /m:3: preferred_batch_size 4 is more than max_batch_size 2/);
      await assert.rejects(store.configure({ name: 'm', version: 9 }, { set: { instances: 1 } }), /no model m:9/);
      await assert.rejects(store.configure({ name: 'nope' }, { set: { instances: 1 } }), /no model named "nope"/);
      assert.deepEqual((await store.servingConfig({ name: 'm', version: 2 })).effective, v2.effective);
      // Unset one key, reset a level.
      const unset = await store.configure({ name: 'm' }, { set: {}, unset: ['preferred_batch_size'] });
      assert.deepEqual(unset.model, { max_batch_size: 16, version_policy: { latest: 2 } });
      const reset = await store.configure({ name: 'm', version: 2 }, { set: {}, reset: true });
      assert.deepEqual(reset.own, {});
      assert.deepEqual((await store.servingConfigRows()).map((r) => [r.name, r.version]), [['m', 0]]);
    });
  });

  test(`${kind}: two processes changing one model's settings at once: both changes kept`, async () => {
    await withModel(kind, async (store, _dir, path) => {
      for (let i = 1; i <= 3; i++) {
        const runs = await Promise.all([
          tessera(['--store', path, 'config', 'm', '--max-batch-size', String(8 * i)]),
          tessera(['--store', path, 'config', 'm', '--max-queue-size', String(10 * i)]),
        ]);
        for (const r of runs) assert.equal(r.code, 0, r.stderr);
        assert.deepEqual((await store.servingConfig({ name: 'm' })).model, { max_batch_size: 8 * i, max_queue_size: 10 * i });
      }
    });
  });

  test(`${kind}: removing a version removes its own settings; removing the last version removes the model's`, async () => {
    await withModel(kind, async (store) => {
      await store.configure({ name: 'm' }, { set: { max_queue_size: 7 } });
      await store.configure({ name: 'm', version: 1 }, { set: { instances: 3 } });
      await store.configure({ name: 'm', version: 2 }, { set: { instances: 2 } });
      await store.remove({ name: 'm', version: 1 });
      assert.deepEqual((await store.servingConfigRows()).map((r) => [r.name, r.version]), [['m', 0], ['m', 2]]);
      await store.remove({ name: 'm', version: 2 });
      await store.remove({ name: 'm', version: 3 });
      assert.deepEqual(await store.servingConfigRows(), []);
    });
  });

  test(`${kind}: tessera migrate takes the serving configurations along`, async () => {
    await withModel(kind, async (store, dir) => {
      await store.configure({ name: 'm' }, { set: { max_batch_size: 4, version_policy: { specific: [1, 3] } } });
      await store.configure({ name: 'm', version: 3 }, { set: { instances: 2 } });
      const target = tempLocation(kind, dir, 'copy.db');
      const to = await Store.open(target.location);
      try {
        await Store.migrate(store, to);
        assert.deepEqual(await to.servingConfig({ name: 'm', version: 3 }), await store.servingConfig({ name: 'm', version: 3 }));
      } finally {
        await to.close();
        await target.drop();
      }
    });
  });
}

test('version policies: all, the latest N, specific versions', () => {
  assert.deepEqual(servedVersions({ all: true }, [3, 1, 2]), [1, 2, 3]);
  assert.deepEqual(servedVersions({ latest: 2 }, [3, 1, 2]), [2, 3]);
  assert.deepEqual(servedVersions({ latest: 5 }, [1]), [1]);
  assert.deepEqual(servedVersions({ specific: [1, 4] }, [1, 2, 3]), [1]);
});

test('tessera config: shows, sets, unsets and resets; errors name the setting and change nothing', async () => {
  const t = await tempStore();
  const f = join(t.dir, 'w.bin');
  writeFileSync(f, Buffer.alloc(100, 1));
  await t.store.import(f, { name: 'm' });
  await t.store.close();
  const run = (...args: string[]) => tessera(['--store', t.path, 'config', ...args]);
  try {
    const shown = await run('m');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /max_batch_size\s+0 \(no dynamic batching\)\s+default/);
    const set = await run('m', '--max-batch-size', '32', '--preferred-batch-sizes', '8,16', '--max-queue-delay', '2ms', '--version-policy', 'latest:2', '--max-queue-size', '64');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /max_queue_delay_microseconds\s+2 ms\s+model/);
    assert.match(set.stdout, /version_policy\s+the latest 2 versions\s+model/);
    const own = await run('m:1', '--instances', '2', '--json');
    assert.equal(own.code, 0, own.stderr);
    const view = JSON.parse(own.stdout) as { own: unknown; effective: { instances: number; max_batch_size: number } };
    assert.deepEqual(view.own, { instances: 2 });
    assert.equal(view.effective.max_batch_size, 32);
    const refused = await run('m:1', '--version-policy', 'all');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /version_policy: applies to the model/);
    const badDelay = await run('m', '--max-queue-delay', '5');
    assert.equal(badDelay.code, 2);
    assert.match(badDelay.stderr, /give the delay's unit/);
    const unset = await run('m', '--unset', 'max-queue-size', '--json');
    assert.equal((JSON.parse(unset.stdout) as { effective: { max_queue_size: number } }).effective.max_queue_size, 128);
    const reset = await run('m', '--reset', '--json');
    assert.deepEqual((JSON.parse(reset.stdout) as { model: unknown }).model, {});
    const missing = await run('nope');
    assert.equal(missing.code, 3);
  } finally {
    await t.cleanup();
  }
});
