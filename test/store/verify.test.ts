import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, randomWeights, tempDir } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');

/** A store with a model and a fine-tune of it (stored as deltas), closed again. */
async function makeStore(dir: string): Promise<string> {
  const path = join(dir, 'v.db');
  const store = await Store.open(path);
  const w = randomWeights(100_000, 7);
  const w2 = Buffer.from(w);
  const f = new Float32Array(w2.buffer, w2.byteOffset, w2.length / 4);
  for (let i = 0; i < f.length; i += 2) f[i] = f[i]! * 1.0001;
  writeFileSync(join(dir, 'a.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [100_000], data: w }]));
  writeFileSync(join(dir, 'b.safetensors'), buildSafetensors([{ name: 'w', dtype: 'F32', shape: [100_000], data: w2 }]));
  await store.import(join(dir, 'a.safetensors'), { name: 'base' });
  const r = await store.import(join(dir, 'b.safetensors'), { name: 'tuned' });
  assert.ok(r.deltaRawBytes > 0);
  await store.import(VAD_MODELS[0]!, { name: 'vad' });
  await store.close();
  return path;
}

function verify(path: string, deep: boolean): { code: number; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, 'verify', '--store', path, ...(deep ? ['--deep'] : [])], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout };
}

test('verify: clean store passes; a flipped payload bit, a missing base and a wrong depth are each found, with the models they affect', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = await makeStore(dir);
    assert.equal(verify(path, true).code, 0);

    // A bit flipped inside the base model's first tensor chunk: only --deep sees it; both models are affected.
    let db = new Database(path);
    const baseChunk = db.prepare(`SELECT fc.chunk_id AS id FROM file_chunks fc JOIN files f ON f.id = fc.file_id JOIN models m ON m.id = f.model_id
      WHERE m.name = 'base' AND fc.chunk_id IN (SELECT base_id FROM chunk_bases) LIMIT 1`).get() as { id: number };
    const data = db.prepare('SELECT data FROM chunks WHERE id = ?').pluck().get(baseChunk.id) as Buffer;
    const bad = Buffer.from(data);
    bad[bad.length - 1] ^= 0x10;
    db.prepare('UPDATE chunks SET data = ? WHERE id = ?').run(bad, baseChunk.id);
    db.close();
    assert.equal(verify(path, false).code, 0, 'structure alone is intact');
    const deep = verify(path, true);
    assert.notEqual(deep.code, 0);
    assert.match(deep.stdout, /chunk-hash|chunk-decode/);
    assert.match(deep.stdout, /base:1/);
    assert.match(deep.stdout, /tuned:1/);
    assert.doesNotMatch(deep.stdout.split('\n').filter((l) => /chunk-hash|chunk-decode/.test(l)).join('\n'), /vad:1/);
    db = new Database(path);
    db.prepare('UPDATE chunks SET data = ? WHERE id = ?').run(data, baseChunk.id);

    // A wrong recorded depth, then a missing base: found without --deep.
    db.prepare('UPDATE chunks SET depth = 7 WHERE id IN (SELECT chunk_id FROM chunk_bases LIMIT 1)').run();
    db.close();
    const depth = verify(path, false);
    assert.notEqual(depth.code, 0);
    assert.match(depth.stdout, /depth: chunk \d+ records depth 7/);
    db = new Database(path);
    db.prepare('UPDATE chunks SET depth = 1 WHERE depth = 7').run();
    db.pragma('foreign_keys = OFF');
    db.prepare('DELETE FROM chunks WHERE id = ?').run(baseChunk.id);
    db.close();
    const missing = verify(path, false);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout, /missing-chunk: base:1/);
    assert.match(missing.stdout, /missing-base: base chunk \d+ .*\[models: .*tuned:1/);
  } finally {
    cleanup();
  }
});
