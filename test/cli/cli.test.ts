import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, VAD_MODELS, sha256, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';

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

      const ls = JSON.parse(run(['ls', '--json', '--store', store]).stdout) as { name: string; version: number }[];
      assert.deepEqual(ls.map((m) => `${m.name}:${m.version}`), ['vad:1', 'vad:2']);

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
