/**
 * `tessera import SRC...`: several sources in one call, each a model of its
 * own (named after its file's stem or its directory) or, with --name, the next
 * version of one model. Every source is checked before any is imported; a
 * failure that only the import itself meets stops the batch with the models
 * before it kept. SQLite only: the batch is the CLI's, the backends' part is
 * store.import's, tested on both elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, randomWeights, sha256 } from '../helpers/store-fixtures.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { tessera } from '../helpers/cli.js';

interface Result { model: { name: string; version: number }; created: boolean; newChunks: number; newStoredBytes: number; logicalBytes: number }

/** A small safetensors model (two F32 tensors, ~33 KB) whose weights depend on `seed`. */
function model(path: string, seed: number): string {
  writeFileSync(path, buildSafetensors([
    { name: 'w', dtype: 'F32', shape: [64, 128], data: randomWeights(64 * 128, seed) },
    { name: 'b', dtype: 'F32', shape: [128], data: randomWeights(128, seed + 1000) },
  ]));
  return path;
}

async function ls(store: string): Promise<string[]> {
  const r = await tessera(['ls', '--json', '--store', store]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`).sort();
}

/** The one line a failure prints on stderr. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  return lines[0]!;
}

test('several files: one model each, named after its stem; a total line; --json is an array', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    const files = [model(join(dir, 'ckpt-100.safetensors'), 1), model(join(dir, 'ckpt-200.safetensors'), 2), model(join(dir, 'head.v2.safetensors'), 3)];
    const r = await tessera(['import', ...files, '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    for (const ref of ['ckpt-100:1', 'ckpt-200:1', 'head.v2:1']) assert.match(r.stdout, new RegExp(`imported ${ref.replace('.', '\\.')}: 1 file\\(s\\)`));
    assert.match(r.stdout, /^3 sources: 3 imported, 0 already stored; [\d.]+ KiB in [\d.]+ s \([\d.]+ [KMG]?i?B\/s\)$/m);
    assert.deepEqual(await ls(store), ['ckpt-100:1', 'ckpt-200:1', 'head.v2:1']);

    // One source: --json is an array too (a script's glob may match one file or many).
    const one = await tessera(['import', model(join(dir, 'solo.safetensors'), 4), '--json', '--store', store]);
    assert.equal(one.code, 0, one.stderr);
    const results = JSON.parse(one.stdout) as Result[];
    assert.equal(results.length, 1);
    assert.deepEqual(results[0]!.model.name, 'solo');
    assert.equal(results[0]!.created, true);
  } finally {
    cleanup();
  }
});

test('stems that collide: the path from the sources\' common folder names them, with the extension where that still collides', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    for (const d of ['conv', 'mlp']) mkdirSync(join(dir, 'c', d), { recursive: true });
    const files = [
      model(join(dir, 'c', 'conv', 'base.safetensors'), 1), model(join(dir, 'c', 'mlp', 'base.safetensors'), 2),
      model(join(dir, 'c', 'mlp', 'ft.safetensors'), 3), model(join(dir, 'c', 'mlp', 'ft.bin'), 4), model(join(dir, 'c', 'mlp', 'head.safetensors'), 5),
    ];
    const r = await tessera(['import', ...files, '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await ls(store), ['conv/base:1', 'head:1', 'mlp/base:1', 'mlp/ft.bin:1', 'mlp/ft.safetensors:1']);
  } finally {
    cleanup();
  }
});

test('--name: every source is the next version of the model, in the order given (directories as sources)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    const versions = ['1.0.0', '1.1.0', '2.0.0'].map((v, i) => {
      const d = join(dir, 'versions', v);
      mkdirSync(d, { recursive: true });
      model(join(d, 'model.safetensors'), 10 + i);
      return d;
    });
    // Not in name order: the order given is the version order.
    const order = [versions[1]!, versions[0]!, versions[2]!];
    const r = await tessera(['import', ...order, '--name', 'human-models', '--json', '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout) as Result[];
    assert.deepEqual(results.map((x) => `${x.model.name}:${x.model.version}`), ['human-models:1', 'human-models:2', 'human-models:3']);
    for (const [i, d] of order.entries()) {
      const out = join(dir, `out-${i}.safetensors`);
      const e = await tessera(['export', `human-models:${i + 1}`, '--out', out, '--store', store]);
      assert.equal(e.code, 0, e.stderr);
      assert.equal(sha256(out), sha256(join(d, 'model.safetensors')), `version ${i + 1} is ${d}`);
    }
    // Without --name, each directory is a model named after it.
    const s2 = join(dir, 's2.db');
    const r2 = await tessera(['import', ...versions, '--store', s2]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await ls(s2), ['1.0.0:1', '1.1.0:1', '2.0.0:1']);
  } finally {
    cleanup();
  }
});

test('dedup across the sources of one call: the second of two identical sources stores nothing new', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    const a = model(join(dir, 'a.safetensors'), 20);
    const copy = join(dir, 'a-copy.safetensors');
    copyFileSync(a, copy);
    const r = await tessera(['import', a, copy, '--json', '--store', store]);
    assert.equal(r.code, 0, r.stderr);
    const [first, second] = JSON.parse(r.stdout) as Result[];
    assert.ok(first!.newChunks > 0 && first!.newStoredBytes > 0);
    assert.equal(second!.created, true);
    assert.equal(second!.model.name, 'a-copy');
    assert.equal(second!.newChunks, 0);
    assert.equal(second!.newStoredBytes, 0);
  } finally {
    cleanup();
  }
});

test('a bad source among good ones: the error names it, and nothing is imported (every source is checked first)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good1 = model(join(dir, 'good1.safetensors'), 30);
    const good2 = model(join(dir, 'good2.safetensors'), 31);
    const broken = join(dir, 'broken.safetensors');
    writeFileSync(broken, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x7b]));
    const badName = model(join(dir, '_scratch.safetensors'), 32);
    mkdirSync(join(dir, 'x'));
    const twin = join(dir, 'x', 'good1.safetensors');
    copyFileSync(good1, twin);

    // A new store is not even created.
    const fresh = join(dir, 'fresh.db');
    for (const [args, code, re] of [
      [[good1, broken, good2], 2, /broken\.safetensors.*nothing imported: all 3 sources are checked before any is/],
      [[good1, join(dir, 'missing.safetensors'), good2], 3, /missing\.safetensors: no such file or directory/],
      [[good1, good2, badName], 2, /_scratch\.safetensors: a model named after it would be "_scratch", which is not a valid model name \(it must start with a letter or a digit\); give one with --name/],
      [[good1, good1], 2, /good1\.safetensors and .*good1\.safetensors would both be model "good1": import them with --name/],
    ] as [string[], number, RegExp][]) {
      const r = await tessera(['import', ...args, '--store', fresh]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), re);
      assert.equal(r.stdout, '');
      assert.equal(existsSync(fresh), false, 'the store was not created');
    }

    // An existing store keeps exactly what it had.
    const store = join(dir, 's.db');
    assert.equal((await tessera(['import', model(join(dir, 'kept.safetensors'), 33), '--store', store])).code, 0);
    const r = await tessera(['import', good1, broken, good2, '--store', store]);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /broken\.safetensors/);
    assert.deepEqual(await ls(store), ['kept:1']);
  } finally {
    cleanup();
  }
});

test('a source the import itself refuses stops the batch: the models before it stay, the error says which were and were not imported', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    assert.equal((await tessera(['import', model(join(dir, 'Alpha.safetensors'), 40), '--store', store])).code, 0);
    const b = model(join(dir, 'b.safetensors'), 41);
    // Checks pass (the name keeps the policy), but the store refuses a name differing from a stored one only in case.
    const alpha = model(join(dir, 'alpha.safetensors'), 42);
    const c = model(join(dir, 'c.safetensors'), 43);
    const r = await tessera(['import', b, alpha, c, '--store', store]);
    assert.equal(r.code, 4, r.stderr);
    const line = oneLine(r.stderr);
    assert.match(line, /alpha\.safetensors: model name "alpha" differs from the stored "Alpha" only in letter case/);
    assert.match(line, /stopped at source 2 of 3; imported before it: b:1; not imported: .*c\.safetensors/);
    assert.match(r.stdout, /imported b:1/, 'what was imported is reported as usual');
    assert.deepEqual(await ls(store), ['Alpha:1', 'b:1']);
  } finally {
    cleanup();
  }
});

test('--version with several sources is a usage error that says why; nothing is imported', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 's.db');
    const r = await tessera(['import', model(join(dir, 'a.safetensors'), 50), model(join(dir, 'b.safetensors'), 51), '--name', 'm', '--version', '3', '--store', store]);
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /--version names one version, and 2 sources were given/);
    assert.equal(existsSync(store), false);
  } finally {
    cleanup();
  }
});
