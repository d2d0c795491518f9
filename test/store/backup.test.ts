/**
 * Online backup and restore (maintain/backup.ts), on both databases: backups
 * taken while another process imports a model after another verify clean,
 * hold only whole models, and restore (into SQLite, and into PostgreSQL)
 * byte-exact; refusals change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { tessera } from '../helpers/cli.js';
import { VAD_MODELS, randomWeights, sha256, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';

const kinds = await testBackends();

/** Small distinct models for the writer: a shared tensor (dedup) and one of each's own. */
function writerModels(dir: string, n: number): string[] {
  const shared = randomWeights(20_000, 99);
  return Array.from({ length: n }, (_, i) => {
    const path = join(dir, `w${i}.safetensors`);
    writeFileSync(path, buildSafetensors([{ name: 'shared', dtype: 'F32', shape: [20_000], data: shared },
      { name: 'own', dtype: 'F32', shape: [10_000], data: randomWeights(10_000, i + 1) }]));
    return path;
  });
}

/** What a store holds: model name:version → file path → SHA-256 (hex). */
async function contents(location: string): Promise<Map<string, Map<string, string>>> {
  const s = await Store.open(location);
  try {
    const out = new Map<string, Map<string, string>>();
    for (const m of await s.list()) {
      out.set(`${m.name}:${m.version}`, new Map((await s.files(m)).map((f) => [f.path, f.sha256.toString('hex')])));
    }
    return out;
  } finally {
    await s.close();
  }
}

for (const kind of kinds) {
  test(`${kind}: backups taken while another process imports verify clean, hold whole models, and restore byte-exact`, { timeout: 180_000 }, async () => {
    const { dir, cleanup } = tempDir();
    const src = tempLocation(kind, dir);
    const restoredPg = kind === 'postgres' ? tempLocation('postgres', dir) : undefined;
    try {
      assert.equal((await tessera(['import', VAD_MODELS[1]!, '--name', 'vad', '--store', src.location])).code, 0);
      const files = writerModels(dir, 200);
      // The writer: one import after another, each its own process, until told to stop.
      let stop = false;
      let imported = 0;
      const writer = (async () => {
        for (const f of files) {
          if (stop) break;
          const r = await tessera(['import', f, '--store', src.location]);
          assert.equal(r.code, 0, r.stderr);
          imported++;
        }
      })();
      const backups: string[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(700);
        const to = join(dir, `backup${i}.db`);
        const r = await tessera(['backup', '--to', to, '--store', src.location]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /verified the copy: \d+ chunks decoded and \d+ files rebuilt/);
        backups.push(to);
      }
      stop = true;
      await writer;
      const source = await contents(src.location);
      let seenWriter = 0;
      for (const b of backups) {
        const copy = await contents(b);
        // Whole models only, each exactly as in the source.
        for (const [model, paths] of copy) assert.deepEqual(paths, source.get(model), `${b}: ${model}`);
        seenWriter = Math.max(seenWriter, copy.size - 1);
      }
      assert.ok(seenWriter > 0 && imported > seenWriter - 1, `the backups saw the writer's models (${seenWriter} of ${imported})`);
      console.log(`${kind}: ${imported} imports ran beside 3 backups; the last backup held ${seenWriter} of them`);

      // Restore the last backup into a new SQLite file (and a new PostgreSQL schema), then export byte-exact.
      const last = backups.at(-1)!;
      const targets = [join(dir, 'restored.db'), ...(restoredPg ? [restoredPg.location] : [])];
      for (const target of targets) {
        const r = await tessera(['restore', '--from', last, '--store', target]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(await contents(target), await contents(last));
        assert.equal((await tessera(['verify', '--deep', '--store', target])).code, 0);
        const out = join(dir, `vad-${targets.indexOf(target)}.onnx`);
        assert.equal((await tessera(['export', 'vad', '--out', out, '--store', target])).code, 0);
        assert.equal(sha256(out), sha256(VAD_MODELS[1]!));
      }
    } finally {
      await src.drop();
      await restoredPg?.drop();
      cleanup();
    }
  });
}

test('backup and restore refuse what would lose data, and change nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 'store.db');
    const backup = join(dir, 'backup.db');
    assert.equal((await tessera(['import', VAD_MODELS[1]!, '--name', 'vad', '--store', store])).code, 0);
    writeFileSync(backup, 'not a store');
    let r = await tessera(['backup', '--to', backup, '--store', store]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /backup\.db exists; pass --force to replace it/);
    assert.equal(readFileSync(backup, 'utf8'), 'not a store');
    r = await tessera(['backup', '--to', backup, '--force', '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    // Into an existing store: refused, the store untouched.
    const before = statSync(store).mtimeMs;
    r = await tessera(['restore', '--from', backup, '--store', store]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /store\.db exists: restore makes a new store/);
    assert.equal(statSync(store).mtimeMs, before);
    // A damaged backup is refused before anything is written.
    const db = new Database(backup);
    db.prepare('UPDATE chunks SET data = zeroblob(length(data)) WHERE id = (SELECT MAX(id) FROM chunks)').run();
    db.close();
    r = await tessera(['restore', '--from', backup, '--store', join(dir, 'new.db')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the backup .*backup\.db failed verify --deep: \d+ problem\(s\)/);
    assert.ok(!existsSync(join(dir, 'new.db')));
    r = await tessera(['restore', '--from', join(dir, 'nope.db'), '--store', join(dir, 'new.db')]);
    assert.match(r.stderr, /nope\.db: no such backup/);
    r = await tessera(['backup', '--to', join(dir, 'no-such-dir', 'b.db'), '--store', store]);
    assert.match(r.stderr, /no such directory for the backup/);
  } finally {
    cleanup();
  }
});
