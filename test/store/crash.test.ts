import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { CrashCli, KillClock } from '../helpers/crash-cli.js';
import type { Outcome } from '../helpers/crash-cli.js';
import { assertExports, withCheckedStore } from '../helpers/crash-checks.js';
import type { ModelView } from '../helpers/crash-checks.js';
import { prng, randomWeights, sha256, tempDir, tempLocation, testBackends } from '../helpers/store-fixtures.js';
import type { BackendKind } from '../helpers/store-fixtures.js';
import { Store } from '../../src/store/store.js';

/**
 * Crash safety, on each backend: CLI processes (import, rm, gc, migrate)
 * SIGKILLed at random points, and after every kill the store checked as the
 * next process finds it.
 */

/** Kill points per backend; CRASH_KILLS raises it for a longer run. */
const KILLS = Number(process.env.CRASH_KILLS ?? 50);
const kinds = await testBackends();

/** Where migrate copies to: the other backend where there is PostgreSQL, so both directions are killed. */
const destinationOf = (kind: BackendKind): BackendKind => (kind === 'postgres' ? 'sqlite' : kinds.includes('postgres') ? 'postgres' : 'sqlite');

/** Floats per model: PostgreSQL stores and reads ~3x slower, so its models are smaller and its run takes about as long as SQLite's. */
const FLOATS: Record<BackendKind, number> = { sqlite: 600_000, postgres: 300_000 };

type Op = 'import' | 'rm' | 'gc' | 'migrate';
const OPS: Op[] = ['import', 'rm', 'gc', 'migrate'];

/** The mix, out of 100: imports most, and enough removals to keep the store (and so each check and migration) small. */
function pickOp(x: number): Op {
  return x < 45 ? 'import' : x < 62 ? 'rm' : x < 72 ? 'gc' : 'migrate';
}

/** A family: fine-tunes (deltas) of one base, written as safetensors files, and their digests. */
function family(dir: string, floats: number): { files: string[]; digests: string[] } {
  const base = randomWeights(floats, 3);
  const files: string[] = [];
  for (let i = 0; i < 6; i++) {
    const w = Buffer.from(base);
    const f = new Float32Array(w.buffer, w.byteOffset, w.length / 4);
    const r = prng(100 + i);
    for (let j = i; j < f.length; j += 1 + (r() % 3)) f[j] = f[j]! + ((r() / 2 ** 32) - 0.5) * 1e-4;
    const path = join(dir, `m${i}.safetensors`);
    writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [floats], data: w }, { name: 'b', dtype: 'F32', shape: [1000], data: randomWeights(1000, 200 + i) }]));
    files.push(path);
  }
  return { files, digests: files.map((f) => sha256(f)) };
}

/** The figures of one run, printed at its end. */
class Tally {
  readonly ops = new Map<Op, { killed: number; finished: number }>(OPS.map((op) => [op, { killed: 0, finished: 0 }]));
  verifies = 0;
  completions = 0;

  add(op: Op, o: Outcome): void {
    const t = this.ops.get(op)!;
    if (o.finished) t.finished++;
    else t.killed++;
  }

  line(kind: BackendKind, dest: BackendKind, seconds: number): string {
    const all = [...this.ops.values()];
    const killed = all.reduce((n, t) => n + t.killed, 0);
    const finished = all.reduce((n, t) => n + t.finished, 0);
    const per = OPS.map((op) => {
      const t = this.ops.get(op)!;
      return `${op === 'migrate' ? `migrate to ${dest}` : op} ${t.killed + t.finished} (${t.killed} killed)`;
    });
    return `crash ${kind}: ${killed + finished} kill points in ${seconds.toFixed(1)} s, ${killed} killed mid-run, ${finished} finished first; ${per.join(', ')}; `
      + `${this.completions} migrations re-run to completion, the destination equal to the source each time; verify --deep clean in all ${this.verifies} runs`;
  }
}

async function campaign(kind: BackendKind, dir: string): Promise<Tally> {
  const destKind = destinationOf(kind);
  const main = tempLocation(kind, dir, 'main.db');
  const dest = tempLocation(destKind, dir, 'dest.db');
  const { files, digests } = family(dir, FLOATS[kind]);
  const out = join(dir, 'out.safetensors');
  const cli = new CrashCli();
  const r = prng(kind === 'sqlite' ? 7 : 8);
  const clock = new KillClock(() => r() / 2 ** 32);
  const tally = new Tally();
  /** Model name → index of its file, for every model the main store must hold (all version 1: names are not reused). */
  const inMain = new Map<string, number>();
  /** The models the destination held at the last look. */
  let inDest = new Set<string>();
  let migrateKills = 0;
  const migrateArgs = ['migrate', '--from', main.location, '--to', dest.location];

  /** Checks the main store after `settle` has told from it what the interrupted command did; exports the model `pick` names then. */
  const checkMain = (label: string, settle: (models: Map<string, ModelView>) => void, pick: () => string | undefined) =>
    withCheckedStore(main.location, label, async (store, models) => {
      tally.verifies++;
      settle(models);
      const exportName = pick();
      assert.deepEqual([...models.keys()], [...inMain.keys()].map((n) => `${n}:1`).sort(), `${label}: the models are those imported, less those removed`);
      for (const [name, f] of inMain) assert.equal(models.get(`${name}:1`)!.files[0]!.sha256, digests[f], `${label}: ${name} holds the file it imported`);
      if (exportName !== undefined) await assertExports(store, exportName, out, digests[inMain.get(exportName)!]!, label);
      return models;
    });

  /** The destination: clean, and every model in it wholly copied (its files those of the source's model); `equal`: it is the source's copy. */
  const checkDest = (label: string, source: Map<string, ModelView>, equal: boolean) =>
    withCheckedStore(dest.location, `${label} (destination)`, async (store, models) => {
      tally.verifies++;
      if (equal) assert.deepEqual(models, source, `${label}: the destination holds the source's models, lineage and digests`);
      for (const [ref, view] of models) assert.deepEqual(view.files, source.get(ref)?.files, `${label}: ${ref} is wholly in the destination`);
      // Rebuilding is proven by verify for all; export for real what this run copied.
      const copied = [...models.keys()].find((ref) => !inDest.has(ref));
      if (copied !== undefined) {
        const name = copied.split(':')[0]!;
        await assertExports(store, name, out, digests[inMain.get(name)!]!, `${label} (destination)`);
      }
      inDest = new Set(models.keys());
    });

  const t0 = performance.now();
  try {
    // The store exists before the first command (migrate refuses a source that does not).
    await (await Store.open(main.location)).close();
    for (let k = 0; k < KILLS; k++) {
      const names = [...inMain.keys()];
      let op = pickOp(r() % 100);
      if (op === 'rm' && names.length === 0) op = 'import';
      const file = r() % files.length;
      const target = op === 'import' ? `m${k}` : op === 'rm' ? names[r() % names.length]! : '';
      const args = op === 'import' ? ['import', files[file]!, '--name', target, '--store', main.location]
        : op === 'rm' ? ['rm', target, '--store', main.location]
          : op === 'gc' ? ['gc', '--store', main.location] : migrateArgs;
      const delay = clock.delay(op);
      const o = await cli.run(args, delay);
      clock.record(op, o);
      tally.add(op, o);
      const label = `kill point ${k} (${op}${target ? ` ${target}` : ''}, ${o.finished ? `finished in ${o.ms.toFixed(0)} ms` : `killed after ${o.ms.toFixed(0)} ms`})`;
      assert.ok(!o.finished || o.code === 0, `${label}: exit code ${o.code}: ${o.stderr}`);

      // The interrupted import or removal took effect wholly or not at all; every other model is untouched.
      const source = await checkMain(label, (models) => {
        if (op === 'import' && models.has(`${target}:1`)) inMain.set(target, file);
        if (op === 'rm' && !models.has(`${target}:1`)) inMain.delete(target);
      }, () => {
        // The import just finished, else one of the others in turn: over the run, every model is exported for real.
        const held = [...inMain.keys()];
        return op === 'import' && inMain.has(target) ? target : held[k % Math.max(1, held.length)];
      });

      if (op === 'migrate') {
        await checkDest(label, source, false);
        // Resumable: every third killed migration is run again to the end (and the last one, after the loop).
        if (!o.finished && migrateKills++ % 3 === 0) {
          const again = await cli.run(migrateArgs);
          assert.equal(again.code, 0, `${label}: migrate re-run: ${again.stderr}`);
          tally.completions++;
          await checkDest(`${label}, migrate re-run`, source, true);
        }
      }
      if (op === 'rm' && !inMain.has(target) && inDest.has(`${target}:1`)) {
        // migrate copies, it does not delete: the removal is mirrored so the destination can be compared to the source whole.
        const d = await Store.open(dest.location);
        try {
          await d.remove({ name: target });
        } finally {
          await d.close();
        }
        inDest.delete(`${target}:1`);
      }
    }
    const last = await cli.run(migrateArgs);
    assert.equal(last.code, 0, `final migrate: ${last.stderr}`);
    tally.completions++;
    await checkDest('after the last kill point, migrate run to the end', await checkMain('after the last kill point', () => {}, () => undefined), true);
    console.log(tally.line(kind, destKind, (performance.now() - t0) / 1000));
    return tally;
  } finally {
    cli.close();
    await main.drop();
    await dest.drop();
  }
}

// The backends' runs go side by side: each mostly waits on its own processes and database.
describe('crash safety', { concurrency: true }, () => {
  for (const kind of kinds) {
    it(`${kind}: ${KILLS} SIGKILLs at random points of import, rm, gc and migrate (to ${destinationOf(kind)}); after each the stores verify --deep clean, every imported model exports exactly, the interrupted one is wholly there or wholly absent, and an interrupted migration resumes to an equal copy`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const tally = await campaign(kind, dir);
        const killed = [...tally.ops.values()].reduce((n, t) => n + t.killed, 0);
        assert.ok(killed >= KILLS / 2, `most kills landed mid-run (${killed} of ${KILLS})`);
        assert.ok(tally.ops.get('migrate')!.killed > 0 && tally.completions > 1, 'migrations were killed and resumed');
      } finally {
        cleanup();
      }
    });
  }
});
