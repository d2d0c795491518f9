import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VAD_MODELS, randomBytes, sha256, storeSql, tempDir, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { tessera } from '../helpers/cli.js';

for (const kind of await testBackends()) {
  test(`${kind}: Silero VAD ONNX models round-trip byte-identically and re-import stores nothing`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      for (const [i, f] of VAD_MODELS.entries()) {
        const r = await store.import(f, { name: `vad-${i}` });
        assert.equal(r.created, true);
        assert.ok(r.tensors > 0, `${f}: found tensors`);
        assert.equal(r.logicalBytes, readFileSync(f).length);
      }
      const before = await store.totals();
      assert.equal(before.models, 3);
      assert.ok(before.storedBytes <= before.logicalBytes);
      // Re-import: nothing new, no new version.
      const again = await store.import(VAD_MODELS[2]!, { name: 'vad-2' });
      assert.equal(again.created, false);
      assert.equal(again.model.version, 1);
      // The same file under another name: every chunk deduplicated.
      const copy = await store.import(VAD_MODELS[2]!, { name: 'vad-copy' });
      assert.equal(copy.created, true);
      assert.equal(copy.newRawBytes, 0);
      assert.equal(copy.newChunks, 0);
      const after = await store.totals();
      assert.equal(after.storedBytes, before.storedBytes);
      assert.equal(after.chunks, before.chunks);
      assert.equal(after.logicalBytes, before.logicalBytes + copy.logicalBytes);

      for (const [i, f] of VAD_MODELS.entries()) {
        const out = join(dir, `out-${i}.onnx`);
        const r = await store.export({ name: `vad-${i}` }, out);
        assert.equal(r.bytes, readFileSync(f).length);
        assert.equal(sha256(out), sha256(f));
      }
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: explicit versions: same files are a no-op, different files are refused`, async () => {
    const { store, cleanup } = await tempStore(kind);
    try {
      await store.import(VAD_MODELS[0]!, { name: 'm', version: 7 });
      const same = await store.import(VAD_MODELS[0]!, { name: 'm', version: 7 });
      assert.equal(same.created, false);
      await assert.rejects(store.import(VAD_MODELS[1]!, { name: 'm', version: 7 }), /already exists with different files/);
      const next = await store.import(VAD_MODELS[1]!, { name: 'm' });
      assert.equal(next.model.version, 8);
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: a directory imports as one model with its relative paths and exports as a directory`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      mkdirSync(join(src.dir, 'model/sub'), { recursive: true });
      copyFileSync(VAD_MODELS[0]!, join(src.dir, 'model/vad.onnx'));
      writeFileSync(join(src.dir, 'model/sub/config.json'), JSON.stringify({ hello: 'world' }));
      writeFileSync(join(src.dir, 'model/sub/blob.bin'), randomBytes(300_000, 3));
      writeFileSync(join(src.dir, 'model/empty.txt'), '');
      const r = await store.import(join(src.dir, 'model'), { name: 'dir-model' });
      assert.equal(r.files, 4);
      const files = await store.files(r.model);
      assert.deepEqual(files.map((f) => f.path), ['empty.txt', 'sub/blob.bin', 'sub/config.json', 'vad.onnx']);
      const out = join(src.dir, 'out');
      await store.export({ name: 'dir-model' }, out);
      for (const p of ['vad.onnx', 'sub/config.json', 'sub/blob.bin', 'empty.txt']) {
        assert.equal(sha256(join(out, p)), sha256(join(src.dir, 'model', p)), p);
      }
    } finally {
      src.cleanup();
      await cleanup();
    }
  });

  test(`${kind}: unknown files go through FastCDC: an insertion in the middle keeps most chunks`, async () => {
    const { store, cleanup } = await tempStore(kind);
    const src = tempDir();
    try {
      const a = randomBytes(4 << 20, 11);
      const b = Buffer.concat([a.subarray(0, 2 << 20), Buffer.from('inserted bytes'), a.subarray(2 << 20)]);
      writeFileSync(join(src.dir, 'a.bin'), a);
      writeFileSync(join(src.dir, 'b.bin'), b);
      const ra = await store.import(join(src.dir, 'a.bin'), { name: 'blob' });
      const rb = await store.import(join(src.dir, 'b.bin'), { name: 'blob' });
      assert.equal(rb.model.version, 2);
      assert.ok(ra.chunks > 20, `enough chunks (${ra.chunks})`);
      assert.ok(rb.newChunks <= 3, `an insertion touches at most a few chunks (${rb.newChunks} new)`);
      await store.export({ name: 'blob', version: 2 }, join(src.dir, 'b.out'));
      assert.equal(sha256(join(src.dir, 'b.out')), sha256(join(src.dir, 'b.bin')));
    } finally {
      src.cleanup();
      await cleanup();
    }
  });

  test(`${kind}: rm then gc frees only the chunks no other model uses`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      await store.import(VAD_MODELS[1]!, { name: 'a' });
      await store.import(VAD_MODELS[1]!, { name: 'b' });
      await store.import(VAD_MODELS[0]!, { name: 'c' });
      const full = await store.totals();
      await store.remove({ name: 'a' });
      const g1 = await store.gc();
      assert.equal(g1.chunks, 0, 'b still references every chunk of a');
      await store.remove({ name: 'c' });
      const g2 = await store.gc();
      assert.ok(g2.chunks > 0);
      const left = await store.totals();
      assert.equal(left.storedBytes, full.storedBytes - g2.storedBytes);
      assert.equal(left.models, 1);
      const out = join(dir, 'b.onnx');
      await store.export({ name: 'b' }, out);
      assert.equal(sha256(out), sha256(VAD_MODELS[1]!));
      await assert.rejects(store.export({ name: 'c' }, join(dir, 'c.onnx')), /no model named "c"/);
    } finally {
      await cleanup();
    }
  });

  for (const workerThreads of [false, true]) {
    test(`${kind}: repeated tensors and deltas, with worker threads ${workerThreads ? 'on' : 'off'}: stored once, exported exactly`, async () => {
      const { store, dir, cleanup } = await tempStore(kind);
      try {
        const { buildSafetensors } = await import('../helpers/build-safetensors.js');
        const { randomWeights } = await import('../helpers/store-fixtures.js');
        const a = randomWeights(300_000, 21);
        const b = randomWeights(70_000, 22);
        // a appears twice in one file: within one batch and across batches.
        const file1 = join(dir, 'one.safetensors');
        writeFileSync(file1, buildSafetensors([{ name: 'a', dtype: 'F32', shape: [300_000], data: a }, { name: 'a2', dtype: 'F32', shape: [300_000], data: a },
          { name: 'b', dtype: 'F32', shape: [70_000], data: b }]));
        const r1 = await store.import(file1, { name: 'one', workerThreads });
        assert.equal(r1.newRawBytes < a.length + b.length + 4096, true, `a stored once (${r1.newRawBytes} new raw bytes)`);
        // A fine-tune: a nudged slightly, stored as a delta against "one".
        const a3 = Buffer.from(a);
        const f = new Float32Array(a3.buffer, a3.byteOffset, a3.length / 4);
        for (let i = 0; i < f.length; i += 3) f[i] = f[i]! * 1.0001;
        const file2 = join(dir, 'two.safetensors');
        writeFileSync(file2, buildSafetensors([{ name: 'a', dtype: 'F32', shape: [300_000], data: a3 }, { name: 'b', dtype: 'F32', shape: [70_000], data: b }]));
        const r2 = await store.import(file2, { name: 'two', workerThreads });
        assert.equal(r2.base?.name, 'one');
        assert.ok(r2.deltaRawBytes >= a3.length - 65536, `a is delta-coded (${r2.deltaRawBytes})`);
        assert.ok(r2.deltaStoredBytes < 0.6 * r2.deltaRawBytes, `the delta is small (${r2.deltaStoredBytes} of ${r2.deltaRawBytes})`);
        for (const [name, f0] of [['one', file1], ['two', file2]] as const) {
          const out = join(dir, `${name}.out`);
          await store.export({ name }, out);
          assert.equal(sha256(out), sha256(f0), name);
        }
      } finally {
        await cleanup();
      }
    });
  }

  test(`${kind}: the chunk size is fixed per store: another size is refused with a clear message`, async () => {
    const { store, cleanup } = await tempStore(kind);
    try {
      await store.import(VAD_MODELS[0]!, { name: 'a', chunkSize: 32 * 1024 });
      await assert.rejects(store.import(VAD_MODELS[1]!, { name: 'b', chunkSize: 64 * 1024 }), /32768-byte chunks/);
      const r = await store.import(VAD_MODELS[1]!, { name: 'b' });
      assert.equal(await store.chunkSize(), 32 * 1024);
      assert.equal(r.created, true);
      await assert.rejects(store.import(VAD_MODELS[1]!, { name: 'c', chunkSize: 1000 }), /out of range/);
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: the first import fixes the chunk size inside its transaction: a failed one fixes nothing, and of two at once with other sizes one is refused`, async () => {
    const t = await tempStore(kind);
    try {
      // A malformed first import (its header runs past the end) is refused and leaves no chunk size behind.
      const bad = join(t.dir, 'bad.safetensors');
      const header = Buffer.alloc(8);
      header.writeBigUInt64LE(1000n);
      writeFileSync(bad, Buffer.concat([header, Buffer.from('{"w": {')]));
      await assert.rejects(t.store.import(bad, { name: 'bad', chunkSize: 32 * 1024 }), /bad\.safetensors/);
      assert.deepEqual(await storeSql(t.path, `SELECT key FROM settings WHERE key = 'chunk_size'`), []);
      // Two first imports at once, in two processes: one size wins, the other import is refused (exit code 4, conflict).
      const runs = await Promise.all([
        tessera(['import', VAD_MODELS[0]!, '--name', 'a', '--chunk-size', '32KiB', '--store', t.path]),
        tessera(['import', VAD_MODELS[1]!, '--name', 'b', '--chunk-size', '64KiB', '--store', t.path]),
      ]);
      assert.deepEqual(runs.map((r) => r.code).sort(), [0, 4], runs.map((r) => r.stderr).join(''));
      const refused = runs.find((r) => r.code === 4)!;
      assert.match(refused.stderr, /this store cuts tensors into (32768|65536)-byte chunks/);
      assert.equal(await t.store.chunkSize(), runs[0]!.code === 0 ? 32 * 1024 : 64 * 1024);
      assert.equal((await t.store.list()).length, 1);
    } finally {
      await t.cleanup();
    }
  });
}
