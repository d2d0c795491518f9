/**
 * `tessera approx` as a user runs it: one process per call, on an SQLite
 * store (the engine's tests, test/approx/approximate.test.ts, cover both
 * databases). A base MLP and a fine-tune of it are imported, the fine-tune
 * approximated; what the command prints, what ls/show/export then say, the
 * three kinds of evaluation data, and bad input (exit code, one line naming
 * the file or field, nothing changed) are checked.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LossyInfo } from '../../src/wire/lossy.js';
import { family, npyBytes, sha, SIZES } from '../helpers/approx-family.js';
import type { Family } from '../helpers/approx-family.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { buildZip } from '../helpers/build-zip.js';
import { tessera } from '../helpers/cli.js';
import type { Run } from '../helpers/cli.js';
import { randomWeights, sha256, tempDir } from '../helpers/store-fixtures.js';

const ROWS = 300;

interface Setup {
  dir: string;
  store: string;
  f: Family;
  /** `tessera ARGS --store STORE`. */
  run: (...args: string[]) => Promise<Run>;
}

/**
 * One store for the file's tests (they run one after another, in order):
 * base:1, imported with 4 KiB chunks so that the small model has blocks to
 * replace, and tuned:1, its fine-tune.
 */
const { dir: DIR, cleanup } = tempDir('tessera-approx-cli-');
after(cleanup);
let shared: Promise<Setup> | undefined;
function setup(): Promise<Setup> {
  shared ??= (async () => {
    const store = join(DIR, 'store.db');
    const f = await family(DIR, ROWS);
    const run = (...args: string[]): Promise<Run> => tessera([...args, '--store', store]);
    ok(await run('import', f.basePath, '--name', 'base', '--chunk-size', '4KiB'), 'import base');
    ok(await run('import', f.tunedPath, '--name', 'tuned'), 'import tuned');
    return { dir: DIR, store, f, run };
  })();
  return shared;
}

let lossyRun: Promise<Run> | undefined;
/** `approx tuned --max-drop 2%`, run once: it stores tuned:2. */
function lossy(s: Setup): Promise<Run> {
  lossyRun ??= s.run('approx', 'tuned', '--eval', s.f.xPath, '--labels', s.f.labelsPath, '--max-drop', '2%');
  return lossyRun;
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

interface LsEntry { name: string; version: number; lossy: LossyInfo | null }

async function lsJson(s: Setup): Promise<LsEntry[]> {
  return JSON.parse(ok(await s.run('ls', '--json'), 'ls --json').stdout) as LsEntry[];
}

const refs = (ls: LsEntry[]): string[] => ls.map((m) => `${m.name}:${m.version}`);

/** fn over items, at most `width` at a time (processes that only read the store). */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

test('evaluation data as .npy, as .npz (an array named after the input) and as an OIP request .json give the same figures; a dry run stores nothing', async () => {
  const s = await setup();
  const xBytes = new Uint8Array(s.f.x.buffer, s.f.x.byteOffset, s.f.x.byteLength);
  const npz = join(s.dir, 'x.npz');
  writeFileSync(npz, buildZip([{ name: 'x.npy', data: npyBytes('<f4', [ROWS, SIZES[0]!], xBytes) }]).file);
  const json = join(s.dir, 'x.json');
  writeFileSync(json, JSON.stringify({ inputs: [{ name: 'x', shape: [ROWS, SIZES[0]!], datatype: 'FP32', data: Array.from(s.f.x) }] }));
  const before = await lsJson(s);
  const figures: string[] = [];
  for (const data of [s.f.xPath, npz, json]) {
    const r = ok(await s.run('approx', 'tuned:1', '--eval', data, '--labels', s.f.labelsPath, '--max-drop', '2%', '--dry-run', '--quiet'), `approx --eval ${data}`);
    assert.equal(r.stderr, '', 'no progress with --quiet');
    const out = lines(r.stdout);
    assert.equal(out.length, 3, r.stdout);
    assert.match(out[0]!, /^accuracy: search rows 100\.00% -> /);
    assert.match(out[1]!, /^[1-9]\d* of \d+ blocks replaced/);
    assert.equal(out[2], 'dry run: nothing stored');
    // Everything but the time: the same rows give the same search.
    figures.push(`${out[0]}\n${out[1]!.replace(/ in \d+\.\d\d s /, ' ')}`);
  }
  assert.equal(figures[1], figures[0], '.npz');
  assert.equal(figures[2], figures[0], '.json');
  assert.deepEqual(await lsJson(s), before);
});

test('approx stores a lossy version and says so; ls marks it, export warns and gives its bytes, the original exports unchanged; --json; the same run again stores nothing', async () => {
  const s = await setup();
  const r = ok(await lossy(s), 'approx');
  const out = lines(r.stdout);
  assert.equal(out.length, 3, r.stdout);
  const pct = String.raw`\d{1,3}\.\d\d%`;
  const pt = String.raw`-?\d+\.\d\d pt`;
  assert.match(out[0]!, new RegExp(`^accuracy: search rows 100\\.00% -> ${pct} \\(drop ${pt}\\), held-out rows 100\\.00% -> ${pct} \\(drop ${pt}\\); bound 2\\.00 pt$`));
  const size = String.raw`\d+(?:\.\d+)? (?:B|KiB)`;
  const blocks = new RegExp(`^(\\d+) of (\\d+) blocks replaced \\((\\d+) had a near-identical stored block\\), ${size} of weights; `
    + `frees ${size} of the ${size} only tuned:1 needs; (\\d+) evaluations in \\d+\\.\\d\\d s \\(([^)]+)\\)$`).exec(out[1]!);
  assert.ok(blocks, out[1]);
  const [replaced, total, candidates, evaluations] = blocks.slice(1, 5).map(Number) as [number, number, number, number];
  assert.ok(replaced > 0 && replaced <= candidates && candidates <= total, out[1]);
  assert.ok(evaluations >= 1, out[1]);
  assert.match(out[2]!, new RegExp(`^stored tuned:2: lossy version of tuned:1: accuracy 100\\.00% → ${pct} on held-out rows \\(drop ${pt}, bound 2\\.00 pt\\), `
    + `${replaced} of ${total} blocks replaced; tuned:1 is unchanged$`));
  // Progress goes to stderr, starting with the original's score on both splits.
  assert.match(r.stderr, new RegExp(`^tuned:1: accuracy 1\\.0000 on ${ROWS / 2} search rows, 1\\.0000 on ${ROWS / 2} held-out rows\\n`));

  // ls: the LOSSY mark on tuned:2 only.
  const ls = lines(ok(await s.run('ls'), 'ls').stdout);
  assert.match(ls[0]!, /^model\s+lossy\s+format\s/);
  assert.match(ls.find((l) => l.startsWith('tuned:2 '))!, /^tuned:2 +LOSSY of tuned:1: held-out drop \d+\.\d\d pt \(bound 2\.00 pt\) +onnx /);
  for (const m of ['base:1', 'tuned:1']) assert.match(ls.find((l) => l.startsWith(`${m} `))!, new RegExp(`^${m} +onnx `));

  // export tuned:2: a warning on stderr, and the lossy bytes, whose SHA-256 is the one its file was stored with.
  const show = JSON.parse(ok(await s.run('show', 'tuned:2', '--json'), 'show').stdout) as { files: { path: string; sha256: string }[] };
  assert.equal(show.files.length, 1);
  const lossyOut = join(s.dir, 'lossy.onnx');
  const exp = ok(await s.run('export', 'tuned:2', '--out', lossyOut), 'export tuned:2');
  assert.match(exp.stderr, /^warning: exported a lossy version of tuned:1: accuracy 100\.00% → /);
  assert.match(exp.stdout, /sha256 ok \(the lossy version's own\)/);
  assert.equal(sha256(lossyOut), show.files[0]!.sha256);
  assert.notEqual(sha256(lossyOut), sha(s.f.tuned));
  // export tuned:1: the original bytes, no warning.
  const origOut = join(s.dir, 'orig.onnx');
  const expOrig = ok(await s.run('export', 'tuned:1', '--out', origOut), 'export tuned:1');
  assert.equal(expOrig.stderr, '');
  assert.equal(sha256(origOut), sha(s.f.tuned));

  // --json, on the lossless version (the bare name now means tuned:2, which is lossy: refused, see below).
  // The outputs may move by 1% at most, in two evaluations: every candidate at once (over the bound), then the first
  // batch only, so other bytes than tuned:2's, stored as tuned:3. No progress on stderr.
  const jsonArgs = ['approx', 'tuned:1', '--eval', s.f.xPath, '--metric', 'relative-error', '--max-drop', '1%', '--max-evaluations', '2', '--json'];
  const j = ok(await s.run(...jsonArgs), 'approx --json');
  assert.equal(j.stderr, '');
  const res = JSON.parse(j.stdout) as { stored: string | null; created: boolean; ended: string; lossy: LossyInfo };
  assert.deepEqual([res.stored, res.created, res.ended], ['tuned:3', true, 'evaluation budget']);
  assert.equal(res.lossy.from, 'tuned:1');
  assert.equal(res.lossy.metric, 'relative-error');
  assert.equal(res.lossy.maxDrop, 0.01);
  assert.equal(res.lossy.rows.search + res.lossy.rows.heldOut, ROWS);
  assert.ok(res.lossy.blocks.replaced > 0 && res.lossy.blocks.replaced < replaced, JSON.stringify(res.lossy.blocks));
  assert.ok(res.lossy.drop.heldOut <= 0.01 && res.lossy.drop.search <= 0.01 && res.lossy.before.heldOut === 0, JSON.stringify(res.lossy));
  const listed = await lsJson(s);
  assert.deepEqual(refs(listed), ['base:1', 'tuned:1', 'tuned:2', 'tuned:3']);
  assert.deepEqual(listed.map((m) => m.lossy?.from ?? null), [null, null, 'tuned:1', 'tuned:1']);
  assert.deepEqual(listed[3]!.lossy, res.lossy);

  // The same run again: tuned:3 holds these bytes already; the command says nothing was stored (in JSON and in text).
  const again = JSON.parse(ok(await s.run(...jsonArgs), 'approx again').stdout) as { stored: string | null; created: boolean };
  assert.deepEqual([again.stored, again.created], ['tuned:3', false]);
  const text = ok(await s.run(...jsonArgs.slice(0, -1), '--quiet'), 'approx again, text');
  assert.equal(text.stderr, '');
  assert.equal(lines(text.stdout)[2], 'tuned:3 already holds these bytes: nothing stored');
  assert.deepEqual(await lsJson(s), listed);
});

test('bad input exits 2 (3 when something is missing) with one line naming the file or field, and changes nothing; bad data does not even open the store', async () => {
  const s = await setup();
  const { dir, f } = s;
  const cols = SIZES[0]!;
  const file = (name: string, data: Uint8Array | string): string => (writeFileSync(join(dir, name), data), join(dir, name));
  const wide = file('wide.npy', npyBytes('<f4', [ROWS, cols + 1], new Uint8Array(ROWS * (cols + 1) * 4)));
  const int8 = file('int8.npy', npyBytes('|i1', [ROWS, cols], new Uint8Array(ROWS * cols)));
  const notNpy = file('garbage.npy', 'this is not a .npy file');
  const labels = [...f.labels];
  const short = file('short.json', JSON.stringify(labels.slice(1)));
  const floats = file('floats.json', JSON.stringify(labels.map((l) => l + 0.5)));
  const floatNpy = file('floats.npy', npyBytes('<f4', [ROWS], new Uint8Array(new Float32Array(labels).buffer)));
  const seven = file('seven.json', JSON.stringify(labels.map(() => 7)));
  const missing = join(dir, 'missing.npy');
  const st = file('w.safetensors', buildSafetensors([{ name: 'w', dtype: 'F32', shape: [4096], data: randomWeights(4096, 1) }]));
  ok(await s.run('import', st, '--name', 'st'), 'import st');
  ok(await lossy(s), 'approx');

  const good = ['--eval', f.xPath, '--labels', f.labelsPath];
  // Found wrong in the files themselves (or the arguments), before the store is opened.
  const early: [string[], number, RegExp][] = [
    [['approx', 'tuned:1', '--eval', notNpy, '--max-drop', '2%'], 2, /garbage\.npy/],
    [['approx', 'tuned:1', '--eval', missing, '--max-drop', '2%'], 3, /missing\.npy: no such file/],
    [['approx', 'tuned:1', '--eval', f.xPath, '--labels', short, '--max-drop', '2%'], 2, new RegExp(`short\\.json: ${ROWS - 1} labels, the evaluation data has ${ROWS} rows`)],
    [['approx', 'tuned:1', '--eval', f.xPath, '--labels', floats, '--max-drop', '2%'], 2, /floats\.json: label 0 \(\d\.5\) is not an integer/],
    [['approx', 'tuned:1', '--eval', f.xPath, '--labels', floatNpy, '--max-drop', '2%'], 2, /floats\.npy: labels must be integers, the array is float32/],
    // Refused by the argument parser: "1" could mean 1% as well as 100%.
    [['approx', 'tuned:1', ...good, '--max-drop', '1'], 2, /--max-drop.*'1' is invalid/],
    [['approx', 'tuned:1', ...good, '--max-drop', '150%'], 2, /--max-drop.*'150%' is invalid/],
    [['approx', 'tuned:1', ...good, '--max-drop', 'abc'], 2, /--max-drop.*'abc' is invalid/],
  ];
  // Found wrong against the model.
  const late: [string[], number, RegExp][] = [
    [['approx', 'tuned:1', '--eval', wide, '--max-drop', '2%'], 2, new RegExp(`wide\\.npy: shape \\(${ROWS}, ${cols + 1}\\) does not fit the model's input "x" .*dimension 1 is ${cols + 1}, the model needs ${cols}`)],
    [['approx', 'tuned:1', '--eval', int8, '--max-drop', '2%'], 2, /int8\.npy: dtype int8, but the model's input "x" takes float32/],
    [['approx', 'tuned:1', '--eval', f.xPath, '--labels', seven, '--max-drop', '2%'], 2, /labels: row 0 has label 7, not a class of output "y" \(0 to 3\)/],
    [['approx', 'st', '--eval', f.xPath, '--max-drop', '2%'], 2, /st:1 is not an ONNX model/],
    [['approx', 'nope', ...good, '--max-drop', '2%'], 3, /no model named "nope"/],
    [['approx', 'tuned:2', ...good, '--max-drop', '2%'], 2, /tuned:2 is itself a lossy version \(of tuned:1\)/],
  ];

  const snapshot = async (): Promise<unknown> => ({
    stats: JSON.parse(ok(await s.run('stats', '--json'), 'stats').stdout) as unknown,
    ls: await lsJson(s),
    files: readdirSync(dir).filter((n) => n.startsWith('store.db')).sort(),
    bytes: sha(readFileSync(s.store)),
  });
  const before = await snapshot();
  // None of them writes: they may run side by side.
  await inParallel([...early, ...late], 4, async ([args, code, message]) => {
    const r = await s.run(...args);
    const what = args.join(' ');
    assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.equal(lines(r.stderr).length, 1, `${what}: one line:\n${r.stderr}`);
    assert.equal(r.stdout, '', what);
  });
  assert.deepEqual(await snapshot(), before);

  // With data found wrong before the store opens, a store that does not exist is not created.
  const absent = join(dir, 'absent.db');
  await inParallel(early.slice(0, 4), 4, async ([args, code, message]) => {
    const r = await tessera([...args, '--store', absent]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  });
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('absent')), []);
});

test('approx --help lists its options', async () => {
  const r = ok(await tessera(['approx', '--help']), 'approx --help');
  assert.match(r.stdout, /^Usage: tessera approx \[options\] <model>/);
  for (const o of ['--eval <file>', '--labels <file>', '--max-drop <bound>', '--metric <metric>', '--output <name>', '--held-out <fraction>',
    '--seed <n>', '--max-block-error <fraction>', '--max-evaluations <n>', '--dry-run', '--quiet', '--json']) {
    assert.ok(r.stdout.includes(o), `--help lists ${o}:\n${r.stdout}`);
  }
  assert.match(r.stdout, /"accuracy",\s+"agreement",\s+"relative-error"/);
});
