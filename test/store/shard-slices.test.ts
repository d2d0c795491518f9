import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Codec } from '../../src/codec/index.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildTfjsModel } from '../helpers/build-tfjs.js';
import { randomWeights, sha256, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';

const slices = async (location: string): Promise<number> =>
  ((await storeSql<{ n: number }>(location, `SELECT COUNT(*) AS n FROM chunks WHERE codec = ${Codec.PERMUTE}`))[0]!).n;

for (const kind of await testBackends()) {
  test(`${kind}: a TF.js weight cut by shard boundaries deduplicates fully against the same weight whole or cut elsewhere, in any order`, async () => {
    // 300 × 256 float32 = 307,200 bytes: in 100 KiB shards it is cut at 102,400 and 204,800, inside 64 KiB grid cells 1 and 3.
    const w = randomWeights(300 * 256, 41);
    const weight = { name: 'dense/kernel', dtype: 'float32', shape: [300, 256], data: w };
    const orders: Array<Array<'whole' | 'tf100' | 'tf150'>> = [['whole', 'tf100'], ['tf100', 'whole'], ['tf100', 'tf150']];
    for (const order of orders) {
      const { store, dir, path: location, cleanup } = await tempStore(kind);
      try {
        writeFileSync(join(dir, 'whole.safetensors'), buildSafetensors([{ name: 'dense/kernel', dtype: 'F32', shape: [300, 256], data: w }]));
        buildTfjsModel(join(dir, 'tf100'), [weight], 100 * 1024);
        buildTfjsModel(join(dir, 'tf150'), [weight], 150 * 1024);
        const src = (n: string): string => join(dir, n === 'whole' ? 'whole.safetensors' : n);
        const first = await store.import(src(order[0]!), { name: order[0]! });
        const second = await store.import(src(order[1]!), { name: order[1]! });
        assert.ok(first.newRawBytes >= w.length, `${order}: the first stores the weight`);
        // The second stores its own headers and a few dozen bytes a piece, never weight bytes.
        assert.ok(second.newStoredBytes < 4096, `${order}: second import stored ${second.newStoredBytes} bytes`);
        console.log(`# ${kind} ${order.join(" then ")}: the second stored ${second.newStoredBytes} bytes (${second.newRawBytes} raw) for a ${w.length}-byte weight`);
        assert.ok((await slices(location)) >= 2, `${order}: the cut pieces are slices`);
        for (const name of order) {
          store.dropCaches();
          const out = join(dir, `${name}.out`);
          await store.export({ name }, out);
          if (name === 'whole') assert.equal(sha256(out), sha256(src(name)));
          else for (const f of readdirSync(src(name))) assert.equal(sha256(join(out, f)), sha256(join(src(name), f)), `${name}/${f}`);
        }
        // The first model removed and gc run: the cells the slices need stay.
        await store.remove({ name: order[0]! });
        await store.gc();
        store.dropCaches();
        assert.deepEqual((await store.verify(true)).problems, []);
      } finally {
        await cleanup();
      }
    }
  });
}
