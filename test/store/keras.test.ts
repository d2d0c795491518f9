import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sha256, tempStore, testBackends } from '../helpers/store-fixtures.js';

/** h5py-written files in Keras's layouts (test/fixtures/keras/make-fixtures.py): one MLP's weights in all three. */
const fx = (f: string): string => join(REPO_ROOT, 'test/fixtures/keras', f);
/** Bytes of the MLP's weights: 64×48 + 48 + 48×10 + 10 float32 values. */
const WEIGHT_BYTES = 4 * (64 * 48 + 48 + 48 * 10 + 10);

for (const kind of await testBackends()) {
  test(`${kind}: Keras 2 .h5, HDF5 libver latest and Keras 3 .keras: the weights stored once, tensors listed, exports exact`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const first = await store.import(fx('legacy.h5'), { name: 'keras2' });
      assert.equal(first.model.format, 'hdf5');
      assert.ok(first.newRawBytes >= WEIGHT_BYTES);
      for (const [name, file, format] of [['latest', 'latest.h5', 'hdf5'], ['keras3', 'keras3.keras', 'keras']] as const) {
        const r = await store.import(fx(file), { name });
        assert.equal(r.model.format, format);
        // Only the HDF5 structures (and the zip around them) are new; the optimizer slots of the .h5 files repeat too.
        assert.ok(r.newRawBytes <= statSync(fx(file)).size - WEIGHT_BYTES, `${name}: ${r.newRawBytes} new bytes of ${statSync(fx(file)).size}`);
      }
      const shown = await store.show({ name: 'keras3' });
      assert.deepEqual(shown.tensors.map((t) => [t.name, t.dtype, t.shape]).sort(), [
        ['layers/dense/vars/0', 'F32', [64, 48]], ['layers/dense/vars/1', 'F32', [48]],
        ['layers/dense_1/vars/0', 'F32', [48, 10]], ['layers/dense_1/vars/1', 'F32', [10]],
      ]);
      for (const [name, file] of [['keras2', 'legacy.h5'], ['latest', 'latest.h5'], ['keras3', 'keras3.keras']] as const) {
        const out = join(dir, `${name}.out`);
        await store.export({ name }, out);
        assert.equal(sha256(out), sha256(fx(file)), name);
      }
    } finally {
      await cleanup();
    }
  });
}
