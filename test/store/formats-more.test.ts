import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildOnnx } from '../helpers/build-onnx.js';
import { buildTfjsModel } from '../helpers/build-tfjs.js';
import { buildTflite } from '../helpers/build-tflite.js';
import { statePickle } from '../helpers/build-pickle.js';
import { buildTorchZip } from '../helpers/build-zip.js';
import { REPO_ROOT, randomWeights, sha256, tempDir, tempStore, testBackends } from '../helpers/store-fixtures.js';

/** Two versions of @vladmandic/face-api's TF.js models, installed as devDependencies under aliases. */
const FACE_API = ['face-api-1610', 'face-api-1715'].map((p) => join(REPO_ROOT, 'node_modules', p, 'model'));

for (const kind of await testBackends()) {
  test(`${kind}: one float32 tensor in safetensors, ONNX, TF.js, TFLite and a PyTorch checkpoint is stored once`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      const w = randomWeights(76_800, 41);
      const shape = [300, 256];
      writeFileSync(join(src.dir, 'a.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape, data: w }]));
      writeFileSync(join(src.dir, 'b.onnx'), buildOnnx([{ name: 'w', dtype: 'F32', shape, data: w }]));
      mkdirSync(join(src.dir, 'tfjs'));
      // Shards of 100 KiB: the tensor spans several shard files.
      buildTfjsModel(join(src.dir, 'tfjs'), [{ name: 'dense/kernel', dtype: 'float32', shape, data: w }], 100 * 1024);
      writeFileSync(join(src.dir, 'c.tflite'), buildTflite([{ name: 'w', type: 0, shape, data: w }]).file);
      writeFileSync(join(src.dir, 'd.pt'), buildTorchZip([w], {}, 'archive', statePickle([{ name: 'w', storageType: 'FloatStorage', key: '0', numel: w.length / 4, shape }])).file);

      const first = await store.import(join(src.dir, 'a.safetensors'), { name: 'st' });
      assert.equal(first.tensors, 1);
      for (const [name, path, format] of [['onnx', 'b.onnx', 'onnx'], ['tflite', 'c.tflite', 'tflite'], ['pt', 'd.pt', 'pytorch']] as const) {
        const r = await store.import(join(src.dir, path), { name });
        assert.ok(r.tensors >= 1, name);
        assert.equal(r.model.format, format);
        // Only headers and graph bytes are new: the tensor's chunks are stored already.
        assert.ok(r.newRawBytes < 8192, `${name}: ${r.newRawBytes} new bytes`);
      }
      const tf = await store.import(join(src.dir, 'tfjs'), { name: 'tfjs' });
      assert.ok(tf.files > 2, 'model.json and its shards');
      // The tensor is cut where the shards are: whole chunks inside each shard part match, and the
      // pieces around the boundaries are stored as slices of the stored cells they cut.
      assert.ok(tf.newStoredBytes < 0.02 * w.length, `tfjs: ${tf.newStoredBytes} new stored bytes for ${w.length}`);
      console.log(`# ${kind}: a ${w.length}-byte tensor split over TF.js shards: ${tf.newStoredBytes} new stored bytes (model.json and slices of the cut cells)`);
      const show = await store.show({ name: 'tfjs' });
      assert.ok(show.tensors.some((t) => t.name === 'dense/kernel'));
      for (const [name, path] of [['onnx', 'b.onnx'], ['tflite', 'c.tflite'], ['pt', 'd.pt']] as const) {
        const out = join(src.dir, `out-${path}`);
        await store.export({ name }, out);
        assert.equal(sha256(out), sha256(join(src.dir, path)), name);
      }
      const out = join(src.dir, 'out-tfjs');
      await store.export({ name: 'tfjs' }, out);
      for (const f of readdirSync(join(src.dir, 'tfjs'))) assert.equal(sha256(join(out, f)), sha256(join(src.dir, 'tfjs', f)), f);
    } finally {
      src.cleanup();
      await cleanup();
    }
  });
}

test('face-api TF.js models of two releases: tensors listed, the second release stores nothing new, exports exact', {
  skip: FACE_API.every((d) => existsSync(d)) ? false : 'skipped: the face-api devDependencies are not installed',
}, async () => {
  const { store, dir, cleanup } = await tempStore();
  try {
    // Releases 1.6.10 and 1.7.15 ship the same weights: the second import adds nothing.
    const a = await store.import(FACE_API[0]!, { name: 'face-api-1.6.10' });
    const b = await store.import(FACE_API[1]!, { name: 'face-api-1.7.15' });
    assert.ok(a.tensors > 100, `${a.tensors} tensors`);
    assert.equal(b.newRawBytes, 0, `release 2 adds ${b.newRawBytes} of ${b.logicalBytes} bytes`);
    const d = await store.show({ name: 'face-api-1.7.15' });
    assert.equal(d.sharedWith[0]?.model, 'face-api-1.6.10:1');
    assert.ok(d.files.some((f) => f.format === 'tfjs') && d.files.some((f) => f.format === 'tfjs-weights'));
    console.log(`# face-api: ${a.files} files, ${a.tensors} tensors; release 2 shares ${(100 * (1 - b.newRawBytes / b.logicalBytes)).toFixed(1)}% with release 1`);
    const out = join(dir, 'out');
    await store.export({ name: 'face-api-1.7.15' }, out);
    for (const f of readdirSync(FACE_API[1]!)) assert.equal(sha256(join(out, f)), sha256(join(FACE_API[1]!, f)), f);
  } finally {
    await cleanup();
  }
});
