/**
 * Tessera's benchmark: sizes and speeds of import, re-import and export on a
 * corpus of models, optionally a chunk-size sweep and a comparison with
 * general-purpose tools. It prints tables and never asserts timings: the
 * numbers are for reading (and for the release notes), not for CI.
 *
 *   npm run bench -- [--corpus DIR] [--synthetic 1GiB] [--chunk-sizes 16KiB,64KiB] [--peers] [--store PATH] [--json]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusFromDir, demoCorpus } from './corpus.js';
import type { Corpus } from './corpus.js';
import { OptionsError, USAGE, parseOptions } from './options.js';
import type { BenchOptions } from './options.js';
import { measurePeers } from './peers.js';
import type { PeerResult, PeerSkip } from './peers.js';
import { nodeSha256Timing, referenceHashes, sha256sumTiming } from './reference.js';
import { mainTable, modelSummary, modelTable, peerNotes, peersTable, sweepTable } from './report.js';
import { generateFamily } from './synthetic.js';
import { StoreSite, measureTessera } from './tessera.js';
import { benchServe } from './serve.js';
import type { TesseraResult } from './tessera.js';
import type { Timing } from './timing.js';
import { binSize, mb, pct } from './units.js';

/** The repository root: this file runs as dist/bench/bench.js. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface CorpusReport {
  label: string;
  root: string;
  files: number;
  models: number;
  bytes: number;
  tessera: TesseraResult;
  sha256sum: Timing;
  nodeSha256: Timing;
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

/** The corpora of this run, in order: --corpus (or the demo models), then --synthetic; only the synthetic one when it alone is asked for. */
interface Expected {
  bytes: number;
  what: string;
}

function corpora(opts: BenchOptions, tmp: string): (() => { corpus: Corpus; expected?: Expected })[] {
  const list: (() => { corpus: Corpus; expected?: Expected })[] = [];
  if (opts.corpus !== undefined || opts.synthetic === undefined) {
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
  return list;
}

async function benchCorpus(corpus: Corpus, expected: Expected | undefined, opts: BenchOptions, tmp: string): Promise<CorpusReport> {
  const site = new StoreSite(opts.store, tmp);
  out(`corpus: ${corpus.label}: ${corpus.files.length} files as ${corpus.models.length} models, ${mb(corpus.bytes)} (${corpus.root})`);
  out(`store: ${site.describe()}`);
  out();
  // Hashing every file first also puts them in the page cache, so that every tool (and the first run) reads from memory alike.
  log('hashing the corpus (reference digests; warms the page cache) …');
  const hashes = referenceHashes(corpus);

  log(`tessera: ${opts.repeat} runs of import, re-import and export …`);
  const tessera = await measureTessera(site, corpus, tmp, { reimport: true, repeat: opts.repeat, log });
  log('sha256sum …');
  const sha = await sha256sumTiming(corpus, hashes, opts.repeat);
  const nodeSha = await nodeSha256Timing(corpus, opts.repeat);
  out(mainTable(corpus, tessera, sha, nodeSha));
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
  const report: CorpusReport = {
    label: corpus.label, root: corpus.root, files: corpus.files.length, models: corpus.models.length, bytes: corpus.bytes,
    tessera, sha256sum: sha, nodeSha256: nodeSha, expectedDistinctBytes: expected?.bytes, expectedDistinctWhat: expected?.what,
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

  if (opts.peers) {
    log('peers …');
    report.peers = await measurePeers(corpus, hashes, tmp, opts.repeat, log);
    const tool = `tessera ${tesseraVersion()} (${tessera.backend}, ${binSize(tessera.chunkSize)} chunks)`;
    out(`Tessera and general-purpose tools on the same ${corpus.files.length} files (stored bytes: Tessera's database file, a peer's repository or archive; times: ${medianOf(opts.repeat)})`);
    out(peersTable(corpus, { tool, r: tessera }, report.peers.results));
    out(peerNotes(report.peers.results, report.peers.skipped));
    const bad = report.peers.results.filter((p) => p.differing.length > 0);
    out(bad.length === 0
      ? `Every restore was checked file by file against the originals' SHA-256: all byte-identical.`
      : `RESTORE MISMATCH: ${bad.map((p) => `${p.tool}: ${p.differing.slice(0, 5).join(', ')}`).join('; ')}`);
    out();
  }
  return report;
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
    out(`Tessera ${tesseraVersion()} bench: ${m.cpu}, ${m.cores} cores, node ${m.node}, ${m.os}, load average ${m.loadAverage.join(' ')}`);
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
    const reports: CorpusReport[] = [];
    for (const make of corpora(opts, tmp)) {
      const { corpus, expected } = make();
      reports.push(await benchCorpus(corpus, expected, opts, tmp));
      rmSync(join(tmp, 'synthetic'), { recursive: true, force: true });
    }
    if (opts.json) out(JSON.stringify({ machine: m, tessera: tesseraVersion(), unit: 'MB = 1e6 bytes; times in seconds', corpora: reports }, null, 2));
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
