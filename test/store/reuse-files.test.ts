/**
 * Store.import with `reuse`: stored files become files of the new version by
 * their rows alone (a Hub commit's unchanged files), on both databases. The
 * new version exports byte-identically, stores no new chunk for them, passes
 * a deep verify, and its reused files are never read from disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { createHash } from 'node:crypto';
import { randomWeights, tempStore, testBackends } from '../helpers/store-fixtures.js';

for (const kind of await testBackends()) {
  test(`${kind}: a new version reuses stored files by their rows: same bytes, no new chunks, the rest imported as usual`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const v1 = join(dir, 'v1');
      mkdirSync(join(v1, 'onnx'), { recursive: true });
      const weights = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [50_000], data: randomWeights(50_000, 3) }, { name: 'b', dtype: 'F32', shape: [10], data: randomWeights(10, 4) }]);
      writeFileSync(join(v1, 'model.safetensors'), weights);
      writeFileSync(join(v1, 'onnx', 'notes.txt'), 'first\n');
      writeFileSync(join(v1, 'config.json'), '{"a": 1}\n');
      await store.import(v1, { name: 'org/m' });
      const old = await store.files((await store.find({ name: 'org/m' }))!);
      const byPath = new Map(old.map((f) => [f.path, f]));

      // Version 2: the weights kept under a new path and the notes kept, by their rows; a new config from disk.
      const v2 = join(dir, 'v2');
      mkdirSync(v2);
      writeFileSync(join(v2, 'config.json'), '{"a": 2}\n');
      rmSync(v1, { recursive: true });
      const r = await store.import(v2, {
        name: 'org/m', relativeNames: true,
        reuse: [{ relPath: 'weights/model.safetensors', file: byPath.get('model.safetensors')! }, { relPath: 'onnx/notes.txt', file: byPath.get('onnx/notes.txt')! }],
      });
      assert.equal(r.model.version, 2);
      assert.equal(r.files, 3);
      assert.equal(r.logicalBytes, weights.length + '{"a": 2}\n'.length + 'first\n'.length);
      // Only the config's chunk is new.
      assert.equal(r.newChunks, 1);

      const out = join(dir, 'out');
      await store.export({ name: 'org/m', version: 2 }, out);
      assert.deepEqual(readFileSync(join(out, 'weights', 'model.safetensors')), weights);
      assert.equal(readFileSync(join(out, 'onnx', 'notes.txt'), 'utf8'), 'first\n');
      assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), '{"a": 2}\n');
      const files = await store.files(r.model);
      assert.deepEqual(files.find((f) => f.path === 'weights/model.safetensors')!.sha256, createHash('sha256').update(weights).digest());
      // The tensors are the stored file's: its segments came along.
      const segs = await store.segments(files.find((f) => f.path === 'weights/model.safetensors')!);
      assert.deepEqual(segs.filter((s) => s.tensorName !== null).map((s) => s.tensorName).sort(), ['b', 'w']);
      const report = await store.verify(true);
      assert.deepEqual(report.problems, []);
      assert.equal(report.filesHashed, 6);

      // A stored file and a file on disk at one path is refused, and nothing changes.
      writeFileSync(join(v2, 'onnx-x.txt'), 'x');
      await assert.rejects(store.import(v2, { name: 'org/m', relativeNames: true, reuse: [{ relPath: 'config.json', file: byPath.get('config.json')! }] }), /both a new file and a stored one/);
      assert.equal((await store.find({ name: 'org/m' }))!.version, 2);
    } finally {
      await cleanup();
    }
  });
}
