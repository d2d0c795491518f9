import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, prng, randomWeights, sha256, tempDir } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');
/** Kill points per run; CRASH_KILLS raises it for a longer run. */
const KILLS = Number(process.env.CRASH_KILLS ?? 50);

/** Runs the CLI and SIGKILLs it after `delayMs` (if still running). Resolves with whether it finished first. */
function runAndKill(args: string[], delayMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal === null && code === 0);
    });
  });
}

test(`crash safety: ${KILLS} SIGKILLs at random points of import, rm and gc leave a clean store; every import is wholly there (exporting exactly) or wholly absent`, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = join(dir, 'crash.db');
    // A family: a base and fine-tunes (deltas), ~4 MB each, so an import takes long enough to be killed inside.
    const base = randomWeights(1_000_000, 3);
    const files: string[] = [];
    for (let i = 0; i < 6; i++) {
      const w = Buffer.from(base);
      const f = new Float32Array(w.buffer, w.byteOffset, w.length / 4);
      const r = prng(100 + i);
      for (let j = i; j < f.length; j += 1 + (r() % 3)) f[j] = f[j]! + ((r() / 2 ** 32) - 0.5) * 1e-4;
      const path = join(dir, `m${i}.safetensors`);
      writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [1_000_000], data: w }, { name: 'b', dtype: 'F32', shape: [1000], data: randomWeights(1000, 200 + i) }]));
      files.push(path);
    }
    const digests = files.map((f) => sha256(f));
    const r = prng(7);
    let finished = 0;
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      const op = r() % 10;
      const name = `m${k}`;
      const file = r() % files.length;
      // Node starts in ~60-120 ms; the import itself runs ~100-300 ms after that.
      const delay = 40 + (r() % 400);
      let args: string[];
      if (op < 7) args = ['import', files[file]!, '--name', name, '--store', store];
      else if (op < 9) args = ['rm', `m${r() % Math.max(1, k)}`, '--store', store];
      else args = ['gc', '--store', store];
      const done = await runAndKill(args, delay);
      if (done) finished++;
      else killed++;

      const s = await Store.open(store);
      try {
        const report = await s.verify(true);
        assert.deepEqual(report.problems, [], `after kill point ${k} (${args[0]} after ${delay} ms)`);
        if (op < 7) {
          // The import is wholly there (and exports exactly) or wholly absent.
          const models = await s.list();
          const m = models.find((x) => x.name === name);
          if (m) {
            const out = join(dir, 'out.safetensors');
            await s.export({ name }, out);
            assert.equal(sha256(out), digests[file], `${name} exported byte-identically`);
          }
        }
      } finally {
        await s.close();
      }
    }
    console.log(`# crash: ${KILLS} kill points (import/rm/gc), ${killed} processes killed mid-run, ${finished} finished first; verify --deep clean after every one`);
    assert.ok(killed >= KILLS / 3, `enough kills landed mid-run (${killed})`);
  } finally {
    cleanup();
  }
});
