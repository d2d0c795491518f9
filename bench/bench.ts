/**
 * Tessera's benchmark: sizes and speeds of import, re-import and export on a
 * corpus of models, optionally a chunk-size sweep and a comparison with
 * general-purpose tools. It prints tables and never asserts timings: the
 * numbers are for reading (and for the release notes), not for CI.
 *
 *   npm run bench -- [--versions DIR] [--corpus DIR] [--synthetic 1GiB] [--single 1GiB] [--scale 10,1000,10000]
 *                    [--chunk-sizes 16KiB,64KiB] [--peers] [--store PATH] [--repeat N] [--json]
 *   npm run bench -- --serve | --platform | --approx [--repeat N] [--json]
 *   npm run bench -- --layouts DIR[,DIR] [--json]
 *   npm run bench -- --torch [--corpus DIR] [--repeat N] [--json]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planesImplementation } from '../src/codec/native.js';
import { cliTakesManySources, measureCli, mergeCli } from './cli-runs.js';
import type { CliResult } from './cli-runs.js';
import { corpusFromDir, corpusFromVersions, demoCorpus } from './corpus.js';
import type { Corpus } from './corpus.js';
import { OptionsError, USAGE, parseOptions } from './options.js';
import type { BenchOptions } from './options.js';
import { measurePeers, mergePeers } from './peers.js';
import type { PeerResult, PeerRuns, PeerSkip } from './peers.js';
import { which } from './proc.js';
import { nodeSha256Timing, nodeStartTiming, referenceHashes, sha256sumTiming, sqliteInsertTiming, zstdTiming } from './reference.js';
import {
  TARGETS, comparisonTable, limitsNote, mainTable, modelSummary, modelTable, peerLabel, peerNotes, referenceTable, scaleTable, sweepTable,
} from './report.js';
import type { CompareRow, Target } from './report.js';
import { benchScale } from './scale.js';
import { benchScaleStore, scaleStoreReport } from './scale-store.js';
import { benchBackup } from './backup.js';
import type { ScaleStoreReport } from './scale-store.js';
import type { ScaleReport } from './scale.js';
import { generateFamily, generateSingle } from './synthetic.js';
import { StoreSite, measureTessera, mergeTessera } from './tessera.js';
import { benchServe } from './serve.js';
import { benchPlatform } from './serving-platform.js';
import { benchApprox } from './approx.js';
import { benchLayouts } from './layouts.js';
import { benchTorch } from './torch.js';
import { breakdownTables } from './breakdown.js';
import type { TesseraResult } from './tessera.js';
import type { Timing } from './timing.js';
import { binSize, int, mb, pct, secs } from './units.js';

/** The repository root: this file runs as dist/bench/bench.js. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI as a user runs it (--cli replaces it). */
let TESSERA_JS = join(REPO_ROOT, 'bin/tessera.js');

interface CorpusReport {
  label: string;
  root: string;
  files: number;
  models: number;
  bytes: number;
  /** In-process (Store.import per model, store open excluded). */
  tessera: TesseraResult;
  /** `tessera import` processes: all sources in one call, and one process per model. */
  cli: { oneCall: CliResult; perModel: CliResult };
  sha256sum: Timing;
  nodeSha256: Timing;
  /** zstd -3 -T1 over every file, undefined when zstd is not installed. */
  zstd?: Timing;
  /** For a synthetic family: what perfect tensor-level dedup would keep. */
  expectedDistinctBytes?: number;
  expectedDistinctWhat?: string;
  sweep?: TesseraResult[];
  peers?: { results: PeerResult[]; skipped: PeerSkip[] };
}

/** "median of 3 runs", or "1 run". */
const medianOf = (n: number): string => (n === 1 ? '1 run' : `median of ${n} runs`);

const out = (s = ''): void => void process.stdout.write(`${s}\n`);
/** Progress goes to stderr, so that stdout holds only the tables (and the JSON). */
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function machine(): { cpu: string; cores: number; node: string; os: string; loadAverage: number[] } {
  const c = cpus();
  // The load average tells the reader whether something else was running (other builds and tests share this machine).
  return {
    cpu: c[0]?.model.trim() ?? 'unknown CPU', cores: c.length, node: process.version, os: `${platform()} ${release()} ${arch()}`,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

function tesseraVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
}

interface Expected {
  bytes: number;
  what: string;
}

/** What a corpus is measured against besides the peers: a throughput target for the single-file run. */
interface Made {
  corpus: Corpus;
  expected?: Expected;
  single?: boolean;
}

/**
 * The corpora of this run, in order: --versions, --corpus, --synthetic,
 * --single; the demo models when none is asked for (and no --scale alone).
 */
function corpora(opts: BenchOptions, tmp: string): (() => Made)[] {
  const list: (() => Made)[] = [];
  if (opts.versions !== undefined) {
    const dir = opts.versions;
    list.push(() => ({ corpus: corpusFromVersions(dir) }));
  }
  const none = opts.versions === undefined && opts.synthetic === undefined && opts.single === undefined && opts.scale.length === 0 && opts.scaleStore.length === 0;
  if (opts.corpus !== undefined || none) {
    list.push(() => ({ corpus: opts.corpus !== undefined ? corpusFromDir(opts.corpus) : demoCorpus(REPO_ROOT) }));
  }
  if (opts.synthetic !== undefined) {
    const size = opts.synthetic;
    list.push(() => {
      const dir = join(tmp, 'synthetic');
      mkdirSync(dir, { recursive: true });
      log(`generating ${binSize(size)} of synthetic safetensors in ${dir} …`);
      const fam = generateFamily(dir, size);
      return { corpus: fam.corpus, expected: { bytes: fam.distinctTensorBytes, what: fam.distinctWhat } };
    });
  }
  if (opts.single !== undefined) {
    const size = opts.single;
    list.push(() => {
      const dir = join(tmp, 'synthetic');
      mkdirSync(dir, { recursive: true });
      log(`generating one ${binSize(size)} safetensors file in ${dir} …`);
      return { corpus: generateSingle(dir, size), single: true };
    });
  }
  return list;
}

async function benchCorpus(made: Made, opts: BenchOptions, tmp: string, manySources: boolean): Promise<CorpusReport> {
  const { corpus, expected } = made;
  const started = performance.now();
  const site = new StoreSite(opts.store, tmp);
  const what = corpus.kind === 'versions'
    ? `${corpus.files.length} files in ${corpus.models.length} version folders, each imported whole as the next version of its package's model`
    : `${corpus.files.length} files as ${corpus.models.length} models`;
  out(`corpus: ${corpus.label}: ${what}, ${mb(corpus.bytes)} (${corpus.root})`);
  out(`store: ${site.describe()}`);
  out();
  // Hashing every file first also puts them in the page cache, so that every tool (and the first run) reads from memory alike.
  log('hashing the corpus (reference digests; warms the page cache) …');
  const hashes = referenceHashes(corpus);

  // Rounds: each round runs every tool once, so that load from elsewhere on a shared machine falls on all of them alike
  // and the ratios of one run compare like with like; medians are over the rounds.
  const inProc: TesseraResult[] = [];
  const oneCalls: CliResult[] = [];
  const perModels: CliResult[] = [];
  const peerRounds: PeerRuns[] = [];
  for (let i = 0; i < opts.repeat; i++) {
    log(`round ${i + 1}/${opts.repeat}: tessera in-process (import, re-import, export), tessera import processes${opts.peers ? ', peers' : ''} …`);
    inProc.push(await measureTessera(site, corpus, tmp, { reimport: true, repeat: 1, log }));
    oneCalls.push(await measureCli('one-call', corpus, site, TESSERA_JS, tmp, { repeat: 1, manySources, log }));
    perModels.push(await measureCli('per-model', corpus, site, TESSERA_JS, tmp, { repeat: 1, manySources, log }));
    if (opts.peers) peerRounds.push(await measurePeers(corpus, hashes, tmp, 1, log, i));
  }
  const tessera = mergeTessera(inProc);
  const oneCall = mergeCli(oneCalls);
  const perModel = mergeCli(perModels);
  log('sha256sum, SHA-256 in node, zstd -3 -T1 …');
  const sha = await sha256sumTiming(corpus, hashes, opts.repeat);
  const nodeSha = await nodeSha256Timing(corpus, opts.repeat);
  const zstd = which('zstd') ? await zstdTiming(corpus, opts.repeat) : undefined;
  log('the store\'s SQLite inserts of as many bytes as the store keeps, node -e 0 …');
  const sqlite = { t: await sqliteInsertTiming(tessera.totals.dbBytes, tmp, opts.repeat), bytes: tessera.totals.dbBytes };
  const nodeStart = await nodeStartTiming(10);
  out(mainTable(tessera));
  if (expected !== undefined) {
    out(`(perfect tensor-level dedup, without compression or deltas, would keep ${mb(expected.bytes)}, ${pct(expected.bytes, corpus.bytes)} of logical: ${expected.what})`);
  }
  out();
  out(`per model, in import order (sizes as counted at the model's import: "dedup" = share already stored, "stored" = payload of the chunks it was`);
  out(`first to store; MB/s: ${medianOf(opts.repeat)})`);
  out(modelTable(tessera));
  out();
  out(`per group of models: sum of bytes / sum of times (${medianOf(opts.repeat)}); "read as deltas": share of the model's bytes in chunks that`);
  out(`decode against a base, whichever import stored them; "deduplicated": share its import found already stored`);
  out(modelSummary(tessera));
  out();
  out(breakdownTables(tessera.breakdown));
  out();
  const report: CorpusReport = {
    label: corpus.label, root: corpus.root, files: corpus.files.length, models: corpus.models.length, bytes: corpus.bytes,
    tessera, cli: { oneCall, perModel }, sha256sum: sha, nodeSha256: nodeSha, zstd,
    expectedDistinctBytes: expected?.bytes, expectedDistinctWhat: expected?.what,
  };

  if (opts.chunkSizes.length) {
    report.sweep = [];
    for (const chunkSize of opts.chunkSizes) {
      log(`chunk size ${binSize(chunkSize)}: ${opts.repeat} runs of import and export …`);
      report.sweep.push(await measureTessera(site, corpus, tmp, { chunkSize, reimport: false, repeat: opts.repeat, log }));
    }
    out(`chunk-size sweep (a fresh store per run; % of logical bytes; MB/s: ${medianOf(opts.repeat)})`);
    out(sweepTable(report.sweep));
    out();
  }

  if (opts.peers) report.peers = mergePeers(peerRounds);
  const borg = report.peers?.results.find((p) => p.tool === 'borg');
  const version = `tessera ${tesseraVersion()}`;
  const target = (t: Target): Target | undefined => (made.single ? { mbps: TARGETS.singleFileMBps } : t);
  const fallback = oneCall.note !== undefined;
  const rows: CompareRow[] = [
    {
      tool: `${version}: ${oneCall.calls === 1 ? 'one import call' : `${oneCall.calls} import calls`}${fallback ? ' (FALLBACK)' : ''}`,
      storedBytes: oneCall.storedBytes, import: oneCall.import, identical: '', target: target({ vsBorg: TARGETS.oneCallVsBorg }),
    },
    {
      tool: `${version}: a process per model (${perModel.calls})`, storedBytes: perModel.storedBytes, import: perModel.import, identical: '',
      target: made.single ? undefined : { vsBorg: TARGETS.perModelVsBorg },
    },
    {
      tool: `${version}: in-process (${tessera.backend}, ${binSize(tessera.chunkSize)} chunks)`, storedBytes: tessera.totals.dbBytes,
      import: tessera.import, export: tessera.export, identical: 'yes (export checks SHA-256)',
      target: made.single ? { mbps: TARGETS.singleFileMBps } : undefined,
    },
    ...(report.peers?.results ?? []).map((p) => ({
      tool: peerLabel(p), storedBytes: p.storedBytes, import: p.import, export: p.export,
      identical: p.differing.length === 0 ? `yes (${p.filesChecked} file${p.filesChecked === 1 ? '' : 's'})` : `NO: ${p.differing.length} differ`,
    })),
  ];
  out(`Tessera and general-purpose tools on the same ${corpus.files.length === 1 ? 'file' : `${corpus.files.length} files`} (stored bytes: the database file, a peer's repository or archive;`);
  out(`import: wall time of all its processes, ${medianOf(opts.repeat)}; "x borg": import time over borg's; targets from issue 15)`);
  out(comparisonTable(corpus, rows, borg?.import));
  out(`  tessera one call: ${oneCall.how}; process start and store open included`);
  if (oneCall.note) out(`  tessera one call: ${oneCall.note}`);
  out(`  tessera a process per model: ${perModel.how}`);
  out('  tessera in-process: Store.import per model in import order, store open excluded; export in-process, one model at a time');
  if (report.peers) {
    out(peerNotes(report.peers.results, report.peers.skipped));
    const bad = report.peers.results.filter((p) => p.differing.length > 0);
    out(bad.length === 0
      ? `Every restore was checked file by file against the originals' SHA-256: all byte-identical.`
      : `RESTORE MISMATCH: ${bad.map((p) => `${p.tool}: ${p.differing.slice(0, 5).join(', ')}`).join('; ')}`);
  } else {
    out('  (peers not run: add --peers for restic, borg, zpaq and tar|zstd, and the "x borg" column)');
  }
  out();
  const refs = [
    { label: 'sha256sum (coreutils)', t: sha, note: 'one process over every file' },
    { label: 'SHA-256 in node (OpenSSL, 1 thread)', t: nodeSha, note: 'how the store hashes' },
    ...(zstd ? [{ label: 'zstd -3 -T1 (one thread)', t: zstd, note: 'zstd -3 -T1 -c FILES > /dev/null' }] : []),
    { label: 'SQLite chunk inserts (the store\'s, 1 thread)', t: sqlite.t, bytes: sqlite.bytes, note: `${mb(sqlite.bytes)} (the store's size) in ~56 KB rows, one transaction` },
    { label: 'node -e 0 (process start)', t: nodeStart, bytes: null, note: 'median of 10; a process per model pays it each time' },
  ];
  out(referenceTable(corpus.bytes, refs));
  out(limitsNote({
    bytes: corpus.bytes, distinctRawBytes: tessera.totals.uniqueRawBytes, models: corpus.models.length,
    oneCall: { seconds: oneCall.import.median, calls: oneCall.calls, fallback },
    perModel: { seconds: perModel.import.median, calls: perModel.calls }, inProcess: tessera.import.median, nodeSha: nodeSha, zstd, sqlite, nodeStart,
  }));
  out(`(measuring this corpus took ${secs((performance.now() - started) / 1000)} s)`);
  out();
  return report;
}

function printScale(r: ScaleReport, repeat: number): void {
  out(`Import cost against store size: stores of N fine-tunes of one small architecture (${int(r.fillerBytes)} bytes each, imported`);
  out(`in-process with --no-delta to build them fast), then on a copy of each, the same model imported (${medianOf(repeat)}, each on a fresh copy):`);
  out(`"sibling" another fine-tune (${int(r.siblingBytes)} bytes; every stored model a candidate base by tensor name, shape and dtype),`);
  out(`"wider" the same tensor names 8 times wider (${int(r.widerBytes)} bytes); in-process = Store.import, CLI = a tessera import process.`);
  out('"filler w/ deltas": one more filler imported with base selection on, once: what building the store without --no-delta costs per model.');
  out(`Issue 15: importing into a store of 10,000 models should cost what it costs in an empty store ("x first" near 1).`);
  out(scaleTable(r));
  out();
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof OptionsError)) throw e;
    process.stderr.write(`bench: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    out(USAGE);
    return 0;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const cleanup = (): void => rmSync(tmp, { recursive: true, force: true });
  // Ctrl-C must not leave a GiB of generated models behind.
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const m = machine();
    out(`Tessera ${tesseraVersion()} bench: ${m.cpu}, ${m.cores} cores, node ${m.node}, ${m.os}, load average ${m.loadAverage.join(' ')};`);
    out(`byte planes: ${planesImplementation}`);
    out('MB = 1e6 bytes, MB/s = 1e6 bytes per second; files are in the page cache (hashed once before any timing);');
    out('import times exclude opening and closing the store; export writes every file (no fsync, like cp) and checks its SHA-256,');
    out('each model starting from an empty cache of decoded base chunks (as `tessera export` in a new process).');
    out();
    if (opts.serve) {
      const { text, report } = await benchServe({ repoRoot: REPO_ROOT, tmp, seconds: 3, repeat: Math.max(opts.repeat, 5), log });
      out(text);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), serve: report }, null, 2));
      return 0;
    }
    if (opts.backup !== undefined) {
      const location = opts.store ?? join(tmp, 'backup-source.db');
      log(`backup: a ${opts.backup} s import loop into ${location} …`);
      const { text, report } = await benchBackup({ location, tmp, seconds: opts.backup, cli: TESSERA_JS, log });
      out(text);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), backup: report }, null, 2));
      return 0;
    }
    if (opts.layouts) {
      const { text, report } = benchLayouts(opts.layouts, log);
      out(text);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), layouts: report }, null, 2));
      return 0;
    }
    if (opts.torch) {
      const { text, report } = await benchTorch({ repoRoot: REPO_ROOT, tmp, corpus: opts.corpus, rounds: opts.repeat, log });
      out(text);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), torch: report }, null, 2));
      return 0;
    }
    if (opts.approx) {
      const { text, report } = await benchApprox({ repoRoot: REPO_ROOT, tmp, rounds: opts.repeat, log });
      out(text);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), approx: report }, null, 2));
      return 0;
    }
    if (opts.platform) {
      const { text, report } = await benchPlatform({ repoRoot: REPO_ROOT, tmp, rounds: opts.repeat, log });
      out(text);
      out(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
      if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), platform: report }, null, 2));
      return 0;
    }
    if (opts.cli !== undefined) TESSERA_JS = resolve(opts.cli);
    out(`CLI: ${TESSERA_JS}`);
    const manySources = await cliTakesManySources(TESSERA_JS);
    if (!manySources) log('tessera import takes one source per call here: the one-call rows fall back to one process per model');
    const reports: CorpusReport[] = [];
    for (const make of corpora(opts, tmp)) {
      reports.push(await benchCorpus(make(), opts, tmp, manySources));
      rmSync(join(tmp, 'synthetic'), { recursive: true, force: true });
    }
    let scale: ScaleReport | undefined;
    if (opts.scale.length > 0) {
      log(`scale: stores of ${opts.scale.join(', ')} models …`);
      const started = performance.now();
      scale = await benchScale(opts.scale, tmp, TESSERA_JS, opts.repeat, log);
      printScale(scale, opts.repeat);
      out(`(the scale run took ${secs((performance.now() - started) / 1000)} s)`);
      out();
    }
    let scaleStore: ScaleStoreReport | undefined;
    if (opts.scaleStore.length > 0) {
      const location = opts.store ?? join(tmp, 'scale-store.db');
      log(`scale-store: ${opts.scaleStore.join(', ')} models into ${location} …`);
      const started = performance.now();
      scaleStore = await benchScaleStore(opts.scaleStore, location, tmp, TESSERA_JS, log);
      out(scaleStoreReport(scaleStore));
      out(`(the scale-store run took ${secs((performance.now() - started) / 1000)} s)`);
      out();
    }
    out(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    if (opts.json) {
      out(JSON.stringify({ machine: m, tessera: tesseraVersion(), unit: 'MB = 1e6 bytes; times in seconds', targets: TARGETS, corpora: reports, scale, scaleStore }, null, 2));
    }
    return 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
