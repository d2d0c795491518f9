import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, deleteChunkRow, randomWeights, sha256, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';
import { openBackend } from '../../src/backends/open.js';
import { startServer } from '../../src/serve/server.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');
const kinds = await testBackends();

function tessera(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The ids of a model's chunks, in file order. */
async function modelChunks(store: Store, name: string): Promise<number[]> {
  const m = await store.resolve({ name });
  const out: number[] = [];
  for (const f of await store.files(m)) out.push(...(await store.fileLayout(f)).ids);
  return out;
}

for (const kind of kinds) {
  test(`${kind}: repair marks damaged models unavailable (server 503, export refused), then re-supplies corrupt and missing chunks from the original files`, async () => {
    const t = await tempStore(kind);
    try {
      const { store, dir, path: location } = t;
      // A base, a fine-tune stored as deltas against it, an unrelated model, and an ONNX model.
      const w = randomWeights(200_000, 11);
      const w2 = Buffer.from(w);
      const f = new Float32Array(w2.buffer, w2.byteOffset, w2.length / 4);
      for (let i = 0; i < f.length; i += 3) f[i] = f[i]! * 1.0002;
      const src = join(dir, 'originals');
      mkdirSync(src);
      const files = {
        base: join(src, 'base.safetensors'), tuned: join(src, 'tuned.safetensors'), other: join(src, 'other.safetensors'), vad: join(src, 'vad.onnx'),
      };
      writeFileSync(files.base, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [200_000], data: w }]));
      writeFileSync(files.tuned, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [200_000], data: w2 }]));
      writeFileSync(files.other, buildSafetensors([{ name: 'x', dtype: 'F32', shape: [50_000], data: randomWeights(50_000, 99) }]));
      copyFileSync(VAD_MODELS[1]!, files.vad);
      for (const [name, file] of Object.entries(files)) await store.import(file, { name });
      assert.ok((await store.resolve({ name: 'tuned' })).deltaRawBytes > 0, 'the fine-tune is stored as deltas');

      // Damage 1: a bit flipped in a base chunk that the fine-tune's deltas decode against.
      const tunedChunks = new Set(await modelChunks(store, 'tuned'));
      // (Through a connection of its own: damage comes from outside the store.)
      const db = await openBackend(location);
      try {
        const infos = await db.chunkInfo([...tunedChunks]);
        const baseOfDelta = infos.find((c) => c.bases.length > 0)!.bases[0]!;
        const [victim] = await db.getChunks([baseOfDelta]);
        const flipped = Buffer.from(victim!.data);
        flipped[flipped.length >> 1] ^= 0x04;
        const info = (await db.chunkInfo([baseOfDelta]))[0]!;
        await db.rewriteChunk(baseOfDelta, { codec: info.codec, data: flipped, storedSize: flipped.length, depth: info.depth, bases: info.bases });
      } finally {
        await db.close();
      }
      // Damage 2: a chunk row of the ONNX model gone.
      const vadChunks = await modelChunks(store, 'vad');
      const lost = vadChunks[Math.floor(vadChunks.length / 2)]!;
      await deleteChunkRow(location, lost);

      // Without the original files: the damaged models are marked, the intact one is not.
      const marked = tessera(['repair', '--store', location]);
      assert.equal(marked.code, 1, marked.stdout + marked.stderr);
      assert.match(marked.stdout, /unavailable: base:1/);
      assert.match(marked.stdout, /unavailable: tuned:1/);
      assert.match(marked.stdout, /unavailable: vad:1/);
      assert.doesNotMatch(marked.stdout, /unavailable: other:1/);
      assert.match(marked.stderr, /3 model\(s\) marked unavailable; pass --from/);
      assert.match(tessera(['ls', '--store', location]).stdout, /base:1 \(UNAVAILABLE/);
      const refused = tessera(['export', 'tuned', '--out', join(dir, 'tuned.out'), '--store', location]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /tuned:1 is marked unavailable .*tessera repair --from/);
      assert.equal(tessera(['export', 'other', '--out', join(dir, 'other.out'), '--store', location]).code, 0);
      assert.equal(sha256(join(dir, 'other.out')), sha256(files.other));

      // The server refuses the marked models' bytes with 503 and keeps serving the rest.
      const served = await Store.open(location);
      const logs: string[] = [];
      const server = await startServer(served, { port: 0, log: (l) => logs.push(l) });
      try {
        const dl = await fetch(`${server.url}/v2/models/base/files/base.safetensors`);
        assert.equal(dl.status, 503);
        assert.match(((await dl.json()) as { error: string }).error, /marked unavailable by tessera repair/);
        const infer = await fetch(`${server.url}/v2/models/vad/infer`, { method: 'POST', body: '{"inputs":[]}' });
        assert.equal(infer.status, 503);
        const ready = await fetch(`${server.url}/v2/models/vad/ready`);
        assert.equal(((await ready.json()) as { ready: boolean }).ready, false);
        const ok = await fetch(`${server.url}/v2/models/other/files/other.safetensors`);
        assert.equal(ok.status, 200);
        await ok.arrayBuffer();
        assert.ok(logs.some((l) => /refused base:1: marked unavailable/.test(l)), logs.join('\n'));
      } finally {
        await server.close();
        await served.close();
      }

      // The base file alone repairs base and tuned; vad stays marked.
      const partial = tessera(['repair', '--from', files.base, '--store', location]);
      assert.equal(partial.code, 1, partial.stdout + partial.stderr);
      assert.match(partial.stdout, /rewrote 1 and restored 0 from 1 file/);
      assert.match(partial.stdout, /available again: base:1/);
      assert.match(partial.stdout, /available again: tuned:1/);
      assert.match(partial.stdout, /unavailable: vad:1/);

      // The directory of originals repairs the rest.
      const full = tessera(['repair', '--from', src, '--store', location, '--json']);
      assert.equal(full.code, 0, full.stdout + full.stderr);
      const report = JSON.parse(full.stdout) as { restored: number; rewritten: number; madeAvailable: string[]; clean: boolean };
      assert.equal(report.restored, 1);
      assert.deepEqual(report.madeAvailable, ['vad:1']);
      assert.ok(report.clean);
      console.log(`${kind}: repair re-supplied 1 corrupt base chunk (2 models) and 1 missing chunk; store clean after`);

      assert.equal(tessera(['verify', '--deep', '--store', location]).code, 0);
      for (const [name, file] of Object.entries(files)) {
        const out = join(dir, `${name}.exported`);
        const r = tessera(['export', name, '--out', out, '--store', location]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sha256(out), sha256(file), `${name} exports byte-identically after repair`);
      }
    } finally {
      await t.cleanup();
    }
  });
}

test('repair: a supplied file that matches no stored file re-supplies nothing; a missing --from path is a clear error', async () => {
  const t = await tempStore('sqlite');
  try {
    const file = join(t.dir, 'a.safetensors');
    writeFileSync(file, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [10_000], data: randomWeights(10_000, 1) }]));
    await t.store.import(file, { name: 'a' });
    const unrelated = join(t.dir, 'b.bin');
    writeFileSync(unrelated, randomWeights(1000, 2));
    const clean = tessera(['repair', '--from', unrelated, '--store', t.path]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /found 0 bad chunk\(s\); rewrote 0 and restored 0 from 0 file/);
    const missing = tessera(['repair', '--from', join(t.dir, 'nope'), '--store', t.path]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope: no such file or directory/);
  } finally {
    await t.cleanup();
  }
});
