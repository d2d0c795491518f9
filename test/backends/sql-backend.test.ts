import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';
import { Store } from '../../src/store/store.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
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
  test(`${kind}: tensorsLike finds the newest few tensors of one name, shape and dtype; modelNamesFolded finds names regardless of case`, async () => {
    const { dir, cleanup } = tempDir();
    const loc = tempLocation(kind, dir);
    try {
      const store = await Store.open(loc.location);
      try {
        const t = (seed: number, dtype = 'F32', shape = [8, 8]) => ({ name: 'w', dtype, shape, data: randomBytes(shape[0]! * shape[1]! * (dtype === 'F32' ? 4 : 2), seed) });
        const files: [string, ReturnType<typeof t>][] = [['a', t(1)], ['b', t(2)], ['c', t(3, 'F16')], ['d', t(4, 'F32', [4, 16])], ['Mixed', t(5)]];
        for (const [name, tensor] of files) {
          const p = join(dir, `${name}.safetensors`);
          writeFileSync(p, buildSafetensors([tensor]));
          await store.import(p, { name });
        }
      } finally {
        await store.close();
      }
      const b = await openBackend(loc.location);
      try {
        const ids = new Map((await b.listModels()).map((m) => [m.id, m.name]));
        const names = async (dtype: string, shape: number[], limit: number) => (await b.tensorsLike('w', shape, dtype, limit)).map((r) => ids.get(r.modelId));
        assert.deepEqual(await names('F32', [8, 8], 10), ['Mixed', 'b', 'a'], 'same name, shape and dtype, newest first');
        assert.deepEqual(await names('F32', [8, 8], 2), ['Mixed', 'b']);
        assert.deepEqual(await names('F16', [8, 8], 10), ['c']);
        assert.deepEqual(await names('F32', [4, 16], 10), ['d']);
        assert.deepEqual(await names('F32', [64], 10), []);
        assert.deepEqual(await b.modelNamesFolded('mIXED'), ['Mixed']);
        assert.deepEqual(await b.modelNamesFolded('e'), []);
      } finally {
        await b.close();
      }
    } finally {
      await loc.drop();
      cleanup();
    }
  });

  test(`${kind}: insertChunks gives new chunks new ids and a chunk already stored its stored id, with its bases left as they were`, async () => {
    const { dir, cleanup } = tempDir();
    const loc = tempLocation(kind, dir);
    try {
      const b = await openBackend(loc.location);
      try {
        const chunk = (seed: number, bases: number[] = []) => {
          const data = randomBytes(1000 + seed, seed);
          return { hash: Buffer.alloc(32, seed), rawSize: data.length, storedSize: data.length, codec: 0, bases, depth: bases.length ? 1 : 0, data };
        };
        const [first] = await b.transaction(() => b.insertChunks([chunk(1)]));
        const [second] = await b.transaction(() => b.insertChunks([chunk(2, [first!])]));
        assert.ok(first! > 0 && second! > first!);
        // One row already stored (alone: the one-row path; then among new ones), with other bases given.
        assert.deepEqual(await b.transaction(() => b.insertChunks([chunk(2)])), [second]);
        const mixed = await b.transaction(() => b.insertChunks([chunk(3), chunk(1, [second!]), chunk(4)]));
        assert.equal(mixed[1], first);
        assert.equal(new Set([...mixed, first, second]).size, 4, 'the two new chunks get ids of their own');
        const info = await b.chunkInfo([first!, second!]);
        assert.deepEqual(info.map((c) => c.bases), [[], [first]], 'a stored chunk keeps its own bases');
      } finally {
        await b.close();
      }
    } finally {
      await loc.drop();
      cleanup();
    }
  });
}

for (const kind of kinds) {
  test(`${kind}: commitGroup commits a run of transactions together (SQLite) and says when they are durable; a failed one leaves the rest`, async () => {
    const { dir, cleanup } = tempDir();
    const loc = tempLocation(kind, dir);
    const b = await openBackend(loc.location);
    const other = await openBackend(loc.location);
    const model = (name: string) => b.transaction(() => b.insertModel({
      name, version: 1, format: 'raw', baseModelId: null, createdAt: new Date().toISOString(), logicalBytes: 0,
      newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null,
    }));
    const seen = async () => (await other.listModels()).map((m) => m.name).sort();
    try {
      // A long window: SQLite commits once, when the group ends; PostgreSQL commits each.
      const log: string[][] = [];
      await b.commitGroup({ windowMs: 1e9, committed: () => log.push(['committed']) }, async () => {
        await model('a');
        await model('b');
        log.push(await seen());
      });
      if (kind === 'sqlite') assert.deepEqual(log, [[], ['committed']], 'nothing visible, one commit at the end');
      else assert.deepEqual(log, [['committed'], ['committed'], ['a', 'b'], ['committed']], 'each commits, and the end says so again');
      assert.deepEqual(await seen(), ['a', 'b']);

      // A transaction that fails: what went before is committed at once, its own writes are gone, the group goes on.
      let afterFailure: string[] = [];
      await b.commitGroup({ windowMs: 1e9, committed: () => {} }, async () => {
        await model('c');
        await assert.rejects(b.transaction(async () => {
          await b.insertModel({
            name: 'd', version: 1, format: 'raw', baseModelId: null, createdAt: new Date().toISOString(), logicalBytes: 0,
            newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null,
          });
          throw new Error('refused');
        }), /refused/);
        afterFailure = await seen();
        await model('e');
      });
      assert.deepEqual(afterFailure, ['a', 'b', 'c'], 'c durable and visible once d failed, d rolled back');
      assert.deepEqual(await seen(), ['a', 'b', 'c', 'e']);

      // A window of zero commits after every transaction.
      let commits = 0;
      await b.commitGroup({ windowMs: 0, committed: () => commits++ }, async () => {
        await model('f');
        assert.equal(commits, 1);
        assert.ok((await seen()).includes('f'));
        await model('g');
      });
      assert.equal(commits, 3, 'after f, after g, and as the group ends');
    } finally {
      await other.close();
      await b.close();
      cleanup();
      await loc.drop();
    }
  });
}
