/**
 * Whole-file deduplication (src/store/import/file-dedup.ts): a file a stored
 * model holds byte for byte takes that file's rows, on both databases. It is
 * seen by its chunk list: the first import cuts a literal file with small
 * FastCDC sizes, the next with the defaults, and the copy keeps the first
 * cut (cutting it again would store new chunks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomBytes, randomWeights, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { sameSegments } from '../../src/store/import/file-dedup.js';
import { segmentRowOf } from '../../src/store/format.js';
import type { Segment } from '../../src/formats/segment.js';

const SMALL_CDC = { minSize: 2048, avgSize: 4096, maxSize: 8192 };

async function chunkList(location: string, model: string, version: number, path: string): Promise<number[]> {
  const rows = await storeSql<{ chunk_id: number }>(location, `SELECT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id
      JOIN models m ON m.id = f.model_id WHERE m.name = '${model}' AND m.version = ${version} AND f.path = '${path}' ORDER BY fc.ordinal`);
  return rows.map((r) => Number(r.chunk_id));
}

for (const kind of await testBackends()) {
  test(`${kind}: a file some stored model holds byte for byte takes its rows: nothing cut or stored again, same bytes out`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      const weights = buildSafetensors([{ name: 'w', dtype: 'F32', shape: [60_000], data: randomWeights(60_000, 5) }, { name: 'b', dtype: 'F32', shape: [16], data: randomWeights(16, 6) }]);
      const notes = randomBytes(300_000, 9);
      const v1 = join(dir, 'v1');
      mkdirSync(v1);
      writeFileSync(join(v1, 'model.safetensors'), weights);
      writeFileSync(join(v1, 'notes.bin'), notes);
      await store.import(v1, { name: 'pkg', cdc: SMALL_CDC });
      const firstCut = await chunkList(location, 'pkg', 1, 'notes.bin');
      assert.ok(firstCut.length > 30, `small CDC sizes cut 300 KB into many chunks (${firstCut.length})`);

      // The next version: both files again (the weights under another path) and a new one.
      const v2 = join(dir, 'v2');
      mkdirSync(join(v2, 'weights'), { recursive: true });
      copyFileSync(join(v1, 'model.safetensors'), join(v2, 'weights', 'model.safetensors'));
      copyFileSync(join(v1, 'notes.bin'), join(v2, 'notes.bin'));
      writeFileSync(join(v2, 'config.json'), '{"v": 2}\n');
      const r = await store.import(v2, { name: 'pkg' });
      assert.equal(r.model.version, 2);
      assert.equal(r.newChunks, 1, 'only config.json is new');
      assert.deepEqual(await chunkList(location, 'pkg', 2, 'notes.bin'), firstCut, 'the stored cut, not a new one with the default sizes');
      assert.deepEqual(await chunkList(location, 'pkg', 2, 'weights/model.safetensors'), await chunkList(location, 'pkg', 1, 'model.safetensors'));
      assert.equal(r.chunks, firstCut.length + (await chunkList(location, 'pkg', 1, 'model.safetensors')).length + 1, 'copied chunks count as chunks seen');
      const files = await store.files(r.model);
      const segs = await store.segments(files.find((f) => f.path === 'weights/model.safetensors')!);
      assert.deepEqual(segs.filter((s) => s.tensorName !== null).map((s) => s.tensorName).sort(), ['b', 'w']);

      // The same folder again: every file is the latest version's, at its path: nothing imported.
      const same = await store.import(v2, { name: 'pkg' });
      assert.equal(same.created, false);
      assert.equal(same.model.version, 2);

      const out = join(dir, 'out');
      await store.export({ name: 'pkg', version: 2 }, out);
      assert.deepEqual(readFileSync(join(out, 'notes.bin')), notes);
      assert.deepEqual(readFileSync(join(out, 'weights', 'model.safetensors')), weights);
      assert.deepEqual((await store.verify(true)).problems, []);

      // Removing the first version leaves the second whole (its rows are its own).
      await store.remove({ name: 'pkg', version: 1 });
      await store.gc();
      const again = join(dir, 'again');
      await store.export({ name: 'pkg', version: 2 }, again);
      assert.deepEqual(readFileSync(join(again, 'notes.bin')), notes);
      assert.deepEqual((await store.verify(true)).problems, []);

      // A model marked unavailable (repair could not make it whole) lends no rows: the file is cut anew.
      await storeSql(location, `UPDATE models SET unavailable = 'test' WHERE name = 'pkg' AND version = 2 RETURNING id`);
      const v3 = join(dir, 'v3');
      mkdirSync(v3);
      copyFileSync(join(v1, 'notes.bin'), join(v3, 'notes.bin'));
      const r3 = await store.import(v3, { name: 'other' });
      assert.notDeepEqual(await chunkList(location, 'other', 1, 'notes.bin'), firstCut, 'cut with the default sizes');
      assert.ok(r3.newChunks > 0);
    } finally {
      await cleanup();
    }
  });
}

test('stored rows are taken only when they describe the file as its reader does now', () => {
  const segments: Segment[] = [
    { kind: 'literal', offset: 0, length: 100 },
    { kind: 'tensor', offset: 100, length: 400, name: 'w', dtype: 'F32', shape: [10, 10] },
  ];
  const rows = segments.map(segmentRowOf).map((r, i) => ({ ...r, firstChunk: i, chunkCount: 1 }));
  assert.equal(sameSegments(segments, rows), true, 'chunk positions do not matter');
  assert.equal(sameSegments(segments, rows.slice(0, 1)), false);
  assert.equal(sameSegments(segments, [rows[0]!, { ...rows[1]!, dtype: 'I32' }]), false);
  assert.equal(sameSegments(segments, [rows[0]!, { ...rows[1]!, shape: [100] }]), false);
  assert.equal(sameSegments(segments, [rows[0]!, { ...rows[1]!, tensorName: 'v' }]), false);
  // An older reader stored the file as bytes only.
  assert.equal(sameSegments(segments, [{ ...rows[0]!, length: 500 }]), false);
  assert.equal(sameSegments([{ kind: 'literal', offset: 0, length: 500 }], [{ ...rows[1]!, ordinal: 0, fileOffset: 0, length: 500 }]), false);
});
