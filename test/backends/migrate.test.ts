import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, randomBytes, randomWeights, sha256, tempDir, tempLocation, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { BackendKind } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';
import { f32ToBF16Bits } from '../../src/codec/index.js';

const kinds = await testBackends();
/** The store in the middle of the round trip: PostgreSQL when there is one. */
const middle: BackendKind = kinds.includes('postgres') ? 'postgres' : 'sqlite';

function bf16(w: Buffer): Buffer {
  const u = new Uint32Array(w.buffer, w.byteOffset, w.length / 4);
  const out = Buffer.alloc(u.length * 2);
  for (let i = 0; i < u.length; i++) out.writeUInt16LE(f32ToBF16Bits(u[i]!), 2 * i);
  return out;
}

/** A store with a bit of everything: ONNX, a directory model, CDC blobs, delta chains, a cast copy rebased on a later source. */
async function fill(store: Store, dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const put = async (name: string, path: string, base?: string) => {
    const r = await store.import(path, { name, ...(base ? { base: { name: base } } : {}) });
    files.set(`${r.model.name}:${r.model.version}`, path);
  };
  await put('vad', VAD_MODELS[1]!);
  await put('vad', VAD_MODELS[2]!);
  const w = randomWeights(150_000, 3);
  const p = (n: string) => join(dir, n);
  writeFileSync(p('copy.safetensors'), buildSafetensors([{ name: 'w', dtype: 'BF16', shape: [150_000], data: bf16(w) }]));
  await put('copy', p('copy.safetensors'));
  let cur = w;
  for (let g = 0; g < 3; g++) {
    cur = Buffer.from(cur);
    const f = new Float32Array(cur.buffer, cur.byteOffset, cur.length / 4);
    for (let i = g; i < f.length; i += 3) f[i] = f[i]! * 1.001;
    writeFileSync(p(`gen${g}.safetensors`), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [150_000], data: g === 2 ? w : cur }]));
    await put(`gen${g}`, p(`gen${g}.safetensors`), g ? `gen${g - 1}` : undefined);
  }
  mkdirSync(p('dirmodel/sub'), { recursive: true });
  copyFileSync(VAD_MODELS[0]!, p('dirmodel/a.onnx'));
  writeFileSync(p('dirmodel/sub/blob.bin'), randomBytes(700_000, 9));
  await put('dir', p('dirmodel'));
  return files;
}

/** What must survive a migration: models with their accounting and lineage, and the store's totals. */
async function describe(store: Store): Promise<unknown> {
  const s = await store.stats();
  return {
    models: s.perModel, chunks: s.chunks, storedBytes: s.storedBytes, uniqueRawBytes: s.uniqueRawBytes,
    deltaRawBytes: s.deltaRawBytes, logicalBytes: s.logicalBytes, chunkSize: await store.chunkSize(),
  };
}

test(`migrate: sqlite -> ${middle} -> sqlite keeps every model, its accounting and lineage, and every byte`, async () => {
  const a = await tempStore('sqlite');
  const b = await tempStore(middle);
  const c = await tempStore('sqlite');
  try {
    const files = await fill(a.store, a.dir);
    assert.ok((await a.store.stats()).perModel.find((m) => m.model === 'copy:1')?.base === 'gen2:1', 'the copy was rebased on its later source');
    const r1 = await Store.migrate(a.store, b.store);
    assert.equal(r1.modelsCopied, files.size);
    assert.equal(r1.chunksCopied, (await a.store.totals()).chunks);
    assert.equal(r1.filesVerified, files.size + 1);
    const r2 = await Store.migrate(b.store, c.store);
    assert.equal(r2.chunksCopied, r1.chunksCopied);
    const want = await describe(a.store);
    assert.deepEqual(await describe(b.store), want);
    assert.deepEqual(await describe(c.store), want);
    for (const [ref, path] of files) {
      const [name, version] = ref.split(':');
      const out = join(c.dir, 'out', ref.replace(':', '-'));
      await c.store.export({ name: name!, version: Number(version) }, out);
      if (name === 'dir') {
        assert.equal(sha256(join(out, 'sub/blob.bin')), sha256(join(path, 'sub/blob.bin')));
        assert.equal(sha256(join(out, 'a.onnx')), sha256(join(path, 'a.onnx')));
      } else {
        assert.equal(sha256(out), sha256(path), ref);
      }
    }
  } finally {
    await a.cleanup();
    await b.cleanup();
    await c.cleanup();
  }
});

test(`migrate: an interrupted run resumes where it stopped; a target with other files under a name is refused`, async () => {
  const a = await tempStore('sqlite');
  const b = await tempStore(middle);
  try {
    const files = await fill(a.store, a.dir);
    let copied = 0;
    await assert.rejects(Store.migrate(a.store, b.store, {
      onProgress: (p) => {
        if (p.event === 'copied' && ++copied === 3) throw new Error('interrupted');
      },
    }), /interrupted/);
    assert.equal((await b.store.list()).length, 3);
    const r = await Store.migrate(a.store, b.store);
    assert.equal(r.modelsPresent, 3);
    assert.equal(r.modelsCopied, files.size - 3);
    assert.deepEqual(await describe(b.store), await describe(a.store));
    const again = await Store.migrate(a.store, b.store);
    assert.equal(again.modelsCopied + again.chunksCopied, 0, 'a finished migration has nothing left to copy');
    assert.equal(again.filesVerified, files.size + 1, 'and still checks every file');

    await b.store.remove({ name: 'vad', version: 1 });
    await b.store.import(VAD_MODELS[0]!, { name: 'vad', version: 1 });
    await assert.rejects(Store.migrate(a.store, b.store), /vad:1 exists in .* with other files/);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test(`migrate: the tessera migrate command (sqlite -> ${middle})`, async () => {
  const { dir, cleanup } = tempDir();
  const to = tempLocation(middle, dir, 'to.db');
  try {
    const from = join(dir, 'from.db');
    const bin = join(REPO_ROOT, 'bin/tessera.js');
    const tessera = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.equal(tessera('import', VAD_MODELS[2]!, '--name', 'v6', '--store', from).status, 0);
    const r = tessera('migrate', '--from', from, '--to', to.location);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /copied v6:1: \d+ chunks written/);
    assert.match(r.stdout, /verified 1 file\(s\)/);
    const j = JSON.parse(tessera('migrate', '--from', from, '--to', to.location, '--json').stdout) as { modelsPresent: number };
    assert.equal(j.modelsPresent, 1);
    const out = join(dir, 'v6.onnx');
    assert.equal(tessera('export', 'v6', '--out', out, '--store', to.location).status, 0);
    assert.equal(sha256(out), sha256(VAD_MODELS[2]!));
    const missing = tessera('migrate', '--from', join(dir, 'nope.db'), '--to', to.location);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /nope\.db: no such store/);
  } finally {
    cleanup();
    await to.drop();
  }
});

test(`migrate: a target holding some chunks already, deeper in its own delta chains, gets each delta's depth from its own bases (sqlite -> ${middle})`, async () => {
  const a = await tempStore('sqlite');
  const b = await tempStore(middle);
  try {
    // A lineage t0 → t5, each a slight change of the one before.
    const files: string[] = [];
    let cur = randomWeights(100_000, 11);
    for (let g = 0; g < 6; g++) {
      cur = Buffer.from(cur);
      const f = new Float32Array(cur.buffer, cur.byteOffset, cur.length / 4);
      for (let i = g % 3; i < f.length; i += 3) f[i] = f[i]! * 1.001;
      files.push(join(a.dir, `t${g}.safetensors`));
      writeFileSync(files[g]!, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [100_000], data: cur }]));
    }
    // The target holds t0..t4 as a chain: t2's chunks at depth 2, t4's at the bound (4).
    for (let g = 0; g <= 4; g++) await b.store.import(files[g]!, { name: `t${g}`, ...(g ? { base: { name: `t${g - 1}` } } : {}) });
    // The source holds t2 and t4 self-contained (depth 0), t3 and t5 as deltas on them (depth 1).
    await a.store.import(files[2]!, { name: 't2', base: null });
    await a.store.import(files[3]!, { name: 'u3', base: { name: 't2' } });
    await a.store.import(files[4]!, { name: 't4', base: null });
    await a.store.import(files[5]!, { name: 't5', base: { name: 't4' } });
    const r = await Store.migrate(a.store, b.store);
    assert.ok(r.chunksPresent > 0, 't2 and t4 were found in the target by hash');
    // u3 lands on t2's chunks at depth 2 (so depth 3); t5 would land on t4's at 4, past the bound, so its chunks are stored self-contained.
    assert.deepEqual((await b.store.verify(true)).problems, []);
    for (const [name, g] of [['u3', 3], ['t5', 5]] as const) {
      const out = join(b.dir, `${name}.out`);
      await b.store.export({ name }, out);
      assert.equal(sha256(out), sha256(files[g]!), name);
    }
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});
