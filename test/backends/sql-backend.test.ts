import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';
import { Store } from '../../src/store/store.js';
import { caseTwin } from '../../src/store/names.js';
import { VAD_MODELS, deleteChunkRow, randomBytes, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';

/** Backend queries that read across models and files, on each database. */

const kinds = await testBackends();

/** Paths whose byte order differs from a locale's: upper case first, `_` between the cases, a non-ASCII name last. */
const PATHS = ['b.bin', 'é.bin', '_c.bin', 'B.bin', 'a/x.bin'];
const BYTE_ORDER = ['B.bin', '_c.bin', 'a/x.bin', 'b.bin', 'é.bin'];

/** A store at a fresh location holding `zeta` (one ONNX file) then `alpha` (a directory of PATHS), opened as a bare backend. */
async function withModels(kind: (typeof kinds)[number], fn: (b: Backend, location: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const loc = tempLocation(kind, dir);
  try {
    const multi = join(dir, 'multi');
    mkdirSync(join(multi, 'a'), { recursive: true });
    PATHS.forEach((p, i) => writeFileSync(join(multi, p), randomBytes(300_000 + i * 1000, i + 1)));
    const store = await Store.open(loc.location);
    try {
      await store.import(VAD_MODELS[0]!, { name: 'zeta' });
      await store.import(multi, { name: 'alpha' });
    } finally {
      await store.close();
    }
    const b = await openBackend(loc.location);
    try {
      await fn(b, loc.location);
    } finally {
      await b.close();
    }
  } finally {
    cleanup();
    await loc.drop();
  }
}

for (const kind of kinds) {
  test(`${kind}: listAllFiles gives every model's files at once, by model id, then path in byte order as listFiles does`, async () => {
    await withModels(kind, async (b) => {
      const models = (await b.listModels()).sort((x, y) => x.id - y.id);
      assert.deepEqual(models.map((m) => m.name), ['zeta', 'alpha']);
      const perModel: unknown[] = [];
      for (const m of models) perModel.push(...(await b.listFiles(m.id)));
      const all = await b.listAllFiles();
      assert.deepEqual(all, perModel);
      assert.deepEqual(all.filter((f) => f.modelId === models[1]!.id).map((f) => f.path), BYTE_ORDER);
    });
  });

  test(`${kind}: fileChunkSizes gives a file's chunk ids in order with their raw sizes, null where a chunk row is missing`, async () => {
    await withModels(kind, async (b, location) => {
      const files = await b.listAllFiles();
      for (const f of files) {
        const { ids, sizes } = await b.fileChunkSizes(f.id);
        assert.deepEqual(ids, await b.fileChunkIds(f.id), f.path);
        assert.deepEqual(sizes, (await b.chunkInfo(ids)).map((c) => c.rawSize), f.path);
        assert.equal(sizes.reduce<number>((n, s) => n + s!, 0), f.size, `${f.path}: the chunks cover the file`);
      }
      const f = files.find((x) => x.path === 'b.bin')!;
      const before = await b.fileChunkSizes(f.id);
      const lost = 1;
      await deleteChunkRow(location, before.ids[lost]!);
      const after = await b.fileChunkSizes(f.id);
      assert.deepEqual(after.ids, before.ids, 'the file still lists the chunk');
      assert.deepEqual(after.sizes, before.sizes.map((s, i) => (i === lost ? null : s)));
    });
  });
}

for (const kind of kinds) {
  test(`${kind}: caseVariants finds a name's stored case twins, legacy non-ASCII look-alikes among them, without listing every model`, async () => {
    const { dir, cleanup } = tempDir();
    const loc = tempLocation(kind, dir);
    const b = await openBackend(loc.location);
    try {
      // Stored as a store written before the name policy could hold them; 'K' is the Kelvin sign, which lower-cases to 'k'.
      const names = ['Llama', 'LLAMA', 'llama', 'llamas', 'other', '\u212Aeras', 'Ñame', 'org/Model'];
      await b.transaction(async () => {
        for (const name of names) {
          await b.insertModel({ name, version: 1, format: 'raw', baseModelId: null, createdAt: '2024-01-01T00:00:00Z', logicalBytes: 0,
            newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null });
        }
      });
      // The ASCII case twins, never the name itself nor other ASCII names; names of the same length
      // with a character past ASCII are handed over too, and the caller's comparison decides.
      assert.deepEqual(await b.caseVariants('llama'), ['LLAMA', 'Llama', '\u212Aeras']);
      assert.deepEqual((await b.caseVariants('ORG/model')).sort(), ['org/Model']);
      assert.deepEqual(await b.caseVariants('nothing'), []);
      assert.deepEqual(await b.caseVariants('kEras'), ['\u212Aeras']);
      assert.deepEqual(await b.caseVariants('name'), ['Ñame']);
      // listModels' order: names by their bytes.
      const listed = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      for (const name of ['llama', 'Llama', 'ORG/model', 'keras', 'name', 'nothing', 'llamas']) {
        assert.equal(caseTwin(name, await b.caseVariants(name)), caseTwin(name, listed), `${name}: the same twin as from the whole list`);
      }
      assert.equal(caseTwin('keras', await b.caseVariants('keras')), '\u212Aeras');
    } finally {
      await b.close();
      cleanup();
      await loc.drop();
    }
  });
}
