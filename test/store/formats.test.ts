import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildGguf } from '../helpers/build-gguf.js';
import { buildOnnx, buildOnnxExternal } from '../helpers/build-onnx.js';
import { VAD_MODELS, randomWeights, sha256, tempDir, tempStore, testBackends } from '../helpers/store-fixtures.js';

for (const kind of await testBackends()) {
  test(`${kind}: one tensor in safetensors, ONNX, ONNX external data and GGUF is stored once`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      // 300 KiB: several full chunks and a short last one.
      const w = randomWeights(76_800, 5);
      const shape = [300, 256];
      writeFileSync(join(src.dir, 'a.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape, data: w }], { note: 'x' }));
      writeFileSync(join(src.dir, 'b.onnx'), buildOnnx([{ name: 'other_name', dtype: 'F32', shape, data: w }]));
      mkdirSync(join(src.dir, 'ext'));
      const ext = buildOnnxExternal([{ name: 'w', dtype: 'F32', shape, data: w }], 'weights.bin');
      writeFileSync(join(src.dir, 'ext/model.onnx'), ext.model);
      writeFileSync(join(src.dir, 'ext/weights.bin'), ext.external);
      writeFileSync(join(src.dir, 'c.gguf'), buildGguf([{ name: 'w', type: 'F32', shape, data: w }]));

      const first = await store.import(join(src.dir, 'a.safetensors'), { name: 'st' });
      assert.equal(first.tensors, 1);
      for (const [name, path] of [['onnx', 'b.onnx'], ['gguf', 'c.gguf']] as const) {
        const r = await store.import(join(src.dir, path), { name });
        assert.equal(r.tensors, 1, name);
        // Only the few header bytes are new: the tensor's chunks are all stored already.
        assert.ok(r.newRawBytes < 4096, `${name}: ${r.newRawBytes} new bytes`);
      }
      // A single-file import of an ONNX model with external data brings its data file along.
      const e = await store.import(join(src.dir, 'ext/model.onnx'), { name: 'ext' });
      assert.equal(e.files, 2);
      assert.ok(e.newRawBytes < 4096, `external: ${e.newRawBytes} new bytes`);
      const files = await store.files(e.model);
      assert.deepEqual(files.map((f) => [f.path, f.format]), [['model.onnx', 'onnx'], ['weights.bin', 'onnx-external-data']]);

      const out = join(src.dir, 'out');
      await store.export({ name: 'ext' }, out);
      assert.equal(sha256(join(out, 'model.onnx')), sha256(join(src.dir, 'ext/model.onnx')));
      assert.equal(sha256(join(out, 'weights.bin')), sha256(join(src.dir, 'ext/weights.bin')));
      for (const [name, path] of [['st', 'a.safetensors'], ['onnx', 'b.onnx'], ['gguf', 'c.gguf']] as const) {
        await store.export({ name }, join(out, path));
        assert.equal(sha256(join(out, path)), sha256(join(src.dir, path)), name);
      }
      const show = await store.show({ name: 'gguf' });
      assert.deepEqual(show.tensors.map((t) => [t.name, t.dtype, t.shape]), [['w', 'F32', shape]]);
      assert.equal(show.sharedWith.find((s) => s.model === 'st:1')?.bytes, w.length);
    } finally {
      src.cleanup();
      await cleanup();
    }
  });

  test(`${kind}: a missing external data file is a clear error and nothing is stored`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      const ext = buildOnnxExternal([{ name: 'w', dtype: 'F32', shape: [16], data: randomWeights(16, 1) }], 'gone.bin');
      writeFileSync(join(src.dir, 'model.onnx'), ext.model);
      await assert.rejects(store.import(join(src.dir, 'model.onnx'), { name: 'x' }), /model\.onnx: external data file "gone\.bin" is missing/);
      writeFileSync(join(src.dir, 'gone.bin'), ext.external.subarray(0, 10));
      await assert.rejects(store.import(join(src.dir, 'model.onnx'), { name: 'x' }), /gone\.bin: external tensor "w" .* runs past the end/);
      assert.equal((await store.totals()).models, 0);
    } finally {
      src.cleanup();
      await cleanup();
    }
  });

  test(`${kind}: malformed files are rejected with the file named, and the store is left exactly as it was`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      await store.import(VAD_MODELS[0]!, { name: 'keep' });
      const before = JSON.stringify([await store.totals(), await store.list()]);
      const good = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [64], data: randomWeights(64, 2) }]);
      const vad = readFileSync(VAD_MODELS[1]!);
      const cases: [string, Buffer, RegExp][] = [
        ['truncated.safetensors', good.subarray(0, good.length - 7), /truncated\.safetensors/],
        ['header-past-end.safetensors', Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 0, 0, 0]), good.subarray(8)]), /header-past-end\.safetensors/],
        ['bad-dtype.safetensors', Buffer.from(good.toString('latin1').replace('"F32"', '"Q99"'), 'latin1'), /bad-dtype\.safetensors.*Q99|Q99.*bad-dtype/],
        ['truncated.onnx', vad.subarray(0, Math.floor(vad.length * 0.6)), /truncated\.onnx/],
        ['truncated.gguf', buildGguf([{ name: 'w', type: 'F32', shape: [64], data: randomWeights(64, 3) }]).subarray(0, 100), /truncated\.gguf/],
      ];
      for (const [name, bytes, re] of cases) {
        const p = join(src.dir, name);
        writeFileSync(p, bytes);
        await assert.rejects(store.import(p, { name: 'bad' }), re, name);
        assert.equal(JSON.stringify([await store.totals(), await store.list()]), before, `${name}: store unchanged`);
      }
      // A directory with one bad file among good ones: nothing of it is stored.
      mkdirSync(join(src.dir, 'dir'));
      writeFileSync(join(src.dir, 'dir/good.safetensors'), good);
      writeFileSync(join(src.dir, 'dir/bad.safetensors'), good.subarray(0, 20));
      await assert.rejects(store.import(join(src.dir, 'dir'), { name: 'bad' }), /bad\.safetensors/);
      assert.equal(JSON.stringify([await store.totals(), await store.list()]), before);
    } finally {
      src.cleanup();
      await cleanup();
    }
  });
}
