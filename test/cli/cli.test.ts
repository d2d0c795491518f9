import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, VAD_MODELS, sha256, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import { importLossyPair } from '../helpers/lossy-fixture.js';
import { Store } from '../../src/store/store.js';
import type { LossyInfo } from '../../src/wire/lossy.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

for (const kind of await testBackends()) {
  test(`${kind}: the tessera command: import, ls, show, stats, export, rm, gc`, async () => {
    const { dir, cleanup } = tempDir();
    const { location: store, drop } = tempLocation(kind, dir, 'cli.db');
    try {
      const imp = run(['import', VAD_MODELS[1]!, '--name', 'vad', '--store', store]);
      assert.equal(imp.code, 0, imp.stderr);
      assert.match(imp.stdout, /imported vad:1/);
      assert.match(imp.stdout, /logical .*new bytes stored .*deduplicated/);
      // TESSERA_STORE names the store too.
      const imp2 = run(['import', VAD_MODELS[2]!, '--name', 'vad'], { TESSERA_STORE: store });
      assert.equal(imp2.code, 0, imp2.stderr);
      assert.match(imp2.stdout, /imported vad:2/);

      const ls = JSON.parse(run(['ls', '--json', '--store', store]).stdout) as { name: string; version: number; lossy: unknown }[];
      assert.deepEqual(ls.map((m) => `${m.name}:${m.version}`), ['vad:1', 'vad:2']);
      assert.deepEqual(ls.map((m) => m.lossy), [null, null]);
      // No lossy version, no lossy column.
      assert.match(run(['ls', '--store', store]).stdout, /^model +format +files +size +new bytes stored +imported\n/);

      const show = JSON.parse(run(['show', 'vad:2', '--json', '--store', store]).stdout) as { tensors: unknown[]; files: unknown[]; sharedWith: { model: string }[] };
      assert.ok(show.tensors.length > 0);
      assert.equal(show.files.length, 1);
      const showText = run(['show', 'vad', '--store', store]);
      assert.equal(showText.code, 0);
      assert.match(showText.stdout, /shared with/);

      const stats = JSON.parse(run(['stats', '--json', '--store', store]).stdout) as Record<string, number>;
      for (const k of ['models', 'logicalBytes', 'storedBytes', 'chunks', 'dbBytes']) assert.equal(typeof stats[k], 'number', k);
      assert.equal(stats.models, 2);

      const out = join(dir, 'v1.onnx');
      const exp = run(['export', 'vad:1', '--out', out, '--store', store]);
      assert.equal(exp.code, 0, exp.stderr);
      assert.equal(sha256(out), sha256(VAD_MODELS[1]!));

      assert.equal(run(['rm', 'vad:1', '--store', store]).code, 0);
      const gc = JSON.parse(run(['gc', '--json', '--store', store]).stdout) as { chunks: number; storedBytes: number };
      assert.ok(gc.chunks >= 0 && gc.storedBytes >= 0);
      const stats2 = JSON.parse(run(['stats', '--json', '--store', store]).stdout) as Record<string, number>;
      assert.equal(stats2.models, 1);
      assert.equal(stats2.storedBytes, stats.storedBytes - gc.storedBytes);
    } finally {
      cleanup();
      await drop();
    }
  });

  test(`${kind}: a lossy version is marked by ls, show and export (text and --json); its lossless version is not, and is unchanged`, async () => {
    const { dir, cleanup } = tempDir();
    const { location: store, drop } = tempLocation(kind, dir, 'lossy.db');
    try {
      const opened = await Store.open(store);
      const pair = await importLossyPair(opened, dir).finally(() => opened.close());

      // ls: a lossy column beside the name, filled for the lossy version only.
      const ls = run(['ls', '--store', store]);
      assert.equal(ls.code, 0, ls.stderr);
      const lines = ls.stdout.split('\n');
      assert.match(lines[0]!, /^model\s+lossy\s+format\s/);
      assert.match(lines.find((l) => l.startsWith('mlp:2'))!, /^mlp:2 +LOSSY of mlp:1: held-out drop 0\.40 pt \(bound 1\.00 pt\) +onnx /);
      assert.match(lines.find((l) => l.startsWith('mlp:1'))!, /^mlp:1 +onnx /);
      const lsJson = JSON.parse(run(['ls', '--json', '--store', store]).stdout) as { name: string; version: number; lossy: LossyInfo | null }[];
      assert.deepEqual(lsJson.map((m) => [`${m.name}:${m.version}`, m.lossy]), [['mlp:1', null], ['mlp:2', pair.info]]);

      // show: a section with the metric before and after on both splits, the bound, the blocks and the bytes saved.
      const show = run(['show', 'mlp:2', '--store', store]);
      assert.equal(show.code, 0, show.stderr);
      for (const line of [
        '  LOSSY version of mlp:1: its bytes are not mlp:1\'s (see "lossy version" below)',
        'lossy version of mlp:1 (made by tessera approx; mlp:1 is kept unchanged)',
        '  bound: drop at most 1.00 pt on the held-out rows: kept',
        '  blocks replaced: 12 of 40 float blocks (30.0%; 15 had a candidate), blocks of 64.0 KiB',
        '  raw bytes replaced: 768 KiB',
        '  stored bytes saved: 512 KiB of the 2.00 MiB only mlp:1 needs (25.0%)',
        '  search: 25 evaluations in 12.3 s',
      ]) assert.ok(show.stdout.split('\n').includes(line), `show prints ${JSON.stringify(line)}:\n${show.stdout}`);
      assert.match(show.stdout, /\naccuracy +search rows +held-out rows\n/);
      assert.match(show.stdout, /\nbefore \(mlp:1\) +91\.20% +90\.80%\n/);
      assert.match(show.stdout, /\nafter \(this version\) +90\.90% +90\.40%\n/);
      assert.match(show.stdout, /\ndrop +0\.30 pt +0\.40 pt\n/);
      assert.match(show.stdout, /\nrows +500 +250\n/);
      const showLossless = run(['show', 'mlp:1', '--store', store]);
      assert.equal(showLossless.code, 0, showLossless.stderr);
      assert.doesNotMatch(showLossless.stdout, /lossy/i);
      assert.deepEqual((JSON.parse(run(['show', 'mlp:2', '--json', '--store', store]).stdout) as { lossy: unknown }).lossy, pair.info);
      assert.equal((JSON.parse(run(['show', 'mlp:1', '--json', '--store', store]).stdout) as { lossy: unknown }).lossy, null);
      const stats = JSON.parse(run(['stats', '--json', '--store', store]).stdout) as { perModel: { model: string; lossy: unknown }[] };
      assert.deepEqual(stats.perModel.map((m) => [m.model, m.lossy]), [['mlp:1', null], ['mlp:2', pair.info]]);

      // export: the lossy version's own bytes, checked against its own digest, with a warning saying so.
      const out = join(dir, 'lossy.onnx');
      const exp = run(['export', 'mlp:2', '--out', out, '--store', store]);
      assert.equal(exp.code, 0, exp.stderr);
      assert.equal(exp.stderr,
        'warning: exported a lossy version of mlp:1: accuracy 90.80% → 90.40% on held-out rows (drop 0.40 pt, bound 1.00 pt), 12 of 40 blocks replaced\n'
        + 'warning: these bytes are not the original model\'s (mlp:1); each file was checked against the SHA-256 recorded for this lossy version when it was stored, not against mlp:1\'s\n');
      assert.match(exp.stdout, /lossy\.onnx +\S+ \S+ +sha256 ok \(the lossy version's own\)\n/);
      assert.equal(sha256(out), sha256(pair.lossyFile));
      const expJson = run(['export', 'mlp:2', '--out', join(dir, 'lossy2.onnx'), '--json', '--store', store]);
      assert.deepEqual((JSON.parse(expJson.stdout) as { lossy: unknown }).lossy, pair.info);
      assert.match(expJson.stderr, /^warning: exported a lossy version of mlp:1/);
      // The lossless version: no warning, and its bytes are still the original's.
      const lossless = join(dir, 'lossless.onnx');
      const expLossless = run(['export', 'mlp:1', '--out', lossless, '--store', store]);
      assert.equal(expLossless.code, 0, expLossless.stderr);
      assert.equal(expLossless.stderr, '');
      assert.match(expLossless.stdout, /lossless\.onnx +\S+ \S+ +sha256 ok\n/);
      assert.equal(sha256(lossless), sha256(pair.losslessFile));
    } finally {
      cleanup();
      await drop();
    }
  });

  test(`${kind}: failures are one line on stderr naming the cause, with exit code != 0 and no stack trace`, async () => {
    const { dir, cleanup } = tempDir();
    const { location: store, drop } = tempLocation(kind, dir, 'err.db');
    try {
      const bad = join(dir, 'broken.safetensors');
      writeFileSync(bad, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x7b]));
      const cases: [string[], RegExp][] = [
        [['import', join(dir, 'missing.onnx'), '--name', 'x', '--store', store], /missing\.onnx/],
        [['import', bad, '--name', 'x', '--store', store], /broken\.safetensors/],
        [['export', 'nope', '--out', join(dir, 'o'), '--store', store], /no model named "nope"/],
        [['show', 'bad name!', '--store', store], /invalid model name/],
        [['import', bad, '--name', 'a/files/b', '--store', store], /invalid model name "a\/files\/b": its part "files" is a word the server's URLs use/],
        [['import', bad, '--name', 'a//b', '--store', store], /invalid model name "a\/\/b": it has an empty part/],
        [['rm', 'nope:3', '--store', store], /no model nope:3/],
      ];
      for (const [args, re] of cases) {
        const r = run(args);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, re);
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
      const dbg = run(['import', bad, '--name', 'x', '--store', store, '--debug']);
      assert.match(dbg.stderr, /\n\s+at /, '--debug prints the stack');
      const stats = JSON.parse(run(['stats', '--json', '--store', store]).stdout) as Record<string, number>;
      assert.equal(stats.models, 0);
      assert.equal(stats.chunks, 0);
    } finally {
      cleanup();
      await drop();
    }
  });
}
