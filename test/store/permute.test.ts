import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Codec } from '../../src/codec/index.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, randomWeights, sha256, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';

/** numpy.transpose for float32 bytes. */
function transpose(data: Buffer, dims: number[], perm: number[]): Buffer {
  const r = dims.length;
  const t = perm.map((a) => dims[a]!);
  const n = dims.reduce((a, b) => a * b, 1);
  const stride = dims.map((_, a) => dims.slice(a + 1).reduce((x, y) => x * y, 1));
  const out = Buffer.alloc(n * 4);
  for (let k = 0; k < n; k++) {
    let rest = k;
    let off = 0;
    for (let i = r - 1; i >= 0; i--) {
      off += (rest % t[i]!) * stride[perm[i]!]!;
      rest = Math.floor(rest / t[i]!);
    }
    data.copy(out, 4 * k, 4 * off, 4 * off + 4);
  }
  return out;
}

const permuteChunks = async (location: string): Promise<number> =>
  ((await storeSql<{ n: number }>(location, `SELECT COUNT(*) AS n FROM chunks WHERE codec = ${Codec.PERMUTE}`))[0]!).n;

for (const kind of await testBackends()) {
  test(`${kind}: a convolution kernel in OHWI and a dense kernel transposed are stored as permutations of the stored HWIO/[in,out] tensors, either order`, async () => {
    const hwio = [3, 3, 64, 96];
    const conv = randomWeights(3 * 3 * 64 * 96, 5);
    const dense = randomWeights(300 * 200, 6);
    const tf = [{ name: 'conv/kernel', dtype: 'F32', shape: hwio, data: conv }, { name: 'dense/kernel', dtype: 'F32', shape: [300, 200], data: dense }];
    const lite = [
      { name: 'Conv2D', dtype: 'F32', shape: [96, 3, 3, 64], data: transpose(conv, hwio, [3, 0, 1, 2]) },
      { name: 'MatMul', dtype: 'F32', shape: [200, 300], data: transpose(dense, [300, 200], [1, 0]) },
    ];
    for (const [first, second] of [[tf, lite], [lite, tf]] as const) {
      const { store, dir, path: location, cleanup } = await tempStore(kind);
      try {
        writeFileSync(join(dir, 'a.safetensors'), buildSafetensors([...first]));
        writeFileSync(join(dir, 'b.safetensors'), buildSafetensors([...second]));
        const a = await store.import(join(dir, 'a.safetensors'), { name: 'a' });
        const b = await store.import(join(dir, 'b.safetensors'), { name: 'b' });
        assert.equal(await permuteChunks(location), Math.ceil(conv.length / 65536) + Math.ceil(dense.length / 65536));
        // Both tensors of b are permutations: it stores almost nothing (its header, and a few dozen bytes a chunk).
        assert.ok(b.newStoredBytes < 0.01 * a.newStoredBytes, `b stored ${b.newStoredBytes} B, a ${a.newStoredBytes} B`);
        assert.ok(b.deltaRawBytes >= conv.length + dense.length);
        // Export is byte-exact, also with the source model removed and gc run (its chunks stay as bases).
        for (const [name, file] of [['a', 'a.safetensors'], ['b', 'b.safetensors']]) {
          store.dropCaches();
          await store.export({ name: name! }, join(dir, `${name}.out`));
          assert.equal(sha256(join(dir, `${name}.out`)), sha256(join(dir, file!)), name);
        }
        await store.remove({ name: 'a' });
        await store.gc();
        store.dropCaches();
        await store.export({ name: 'b' }, join(dir, 'b2.out'));
        assert.equal(sha256(join(dir, 'b2.out')), sha256(join(dir, 'b.safetensors')));
        assert.deepEqual((await store.verify(true)).problems, []);
      } finally {
        await cleanup();
      }
    }
  });
}

test('a PyTorch checkpoint and the same network as Keras .h5 (Dense kernels transposed): the kernels are stored once', async () => {
  const fx = (f: string): string => join(REPO_ROOT, 'test/fixtures/pytorch', f);
  const { store, dir, path: location, cleanup } = await tempStore();
  try {
    const pt = await store.import(fx('family-base.pt'), { name: 'torch' });
    const h5 = await store.import(fx('family-base.h5'), { name: 'keras' });
    // 0.weight [96,128] and 2.weight [10,96] come back as dataset kernels [128,96] and [96,10].
    assert.equal(await permuteChunks(location), Math.ceil((96 * 128 * 4) / 65536) + 1);
    assert.ok(h5.newStoredBytes < 0.1 * pt.newStoredBytes, `keras stored ${h5.newStoredBytes} B, torch ${pt.newStoredBytes} B`);
    await store.export({ name: 'keras' }, join(dir, 'k.h5'));
    assert.equal(sha256(join(dir, 'k.h5')), sha256(fx('family-base.h5')));
  } finally {
    await cleanup();
  }
});

test('a near-permutation (one value changed) is not stored as one: every chunk is checked by its hash', async () => {
  const { store, dir, path: location, cleanup } = await tempStore();
  try {
    const w = randomWeights(256 * 128, 8);
    const t = transpose(w, [256, 128], [1, 0]);
    t.writeFloatLE(123.5, 4 * 1000);
    writeFileSync(join(dir, 'a.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [256, 128], data: w }]));
    writeFileSync(join(dir, 'b.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [128, 256], data: t }]));
    await store.import(join(dir, 'a.safetensors'), { name: 'a' });
    await store.import(join(dir, 'b.safetensors'), { name: 'b' });
    assert.equal(await permuteChunks(location), 0);
  } finally {
    await cleanup();
  }
});
