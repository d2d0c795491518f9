import { parseArgs } from 'node:util';
import { parseSize } from '../src/cli/parse.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../src/store/format.js';

export interface BenchOptions {
  /** Directory (or file) of models; undefined means the demo models unless --synthetic replaces them. */
  corpus?: string;
  /** Directory of <package>/<version>/ folders: each package one model, its versions imported in semver order. */
  versions?: string;
  /** Bytes of generated safetensors to benchmark on. */
  synthetic?: number;
  /** Bytes of one generated F32 safetensors file: the single-file throughput run. */
  single?: number;
  /** Store sizes (models already held) for the scale run; empty when not asked for. */
  scale: number[];
  /** Sizes of the many-models run (bench/scale-store.ts); empty when not asked for. */
  scaleStore: number[];
  /** Chunk sizes for the sweep; empty when no sweep was asked for. */
  chunkSizes: number[];
  peers: boolean;
  /** The `tessera` CLI the process runs start (default: this checkout's bin/tessera.js). */
  cli?: string;
  /** Store location handed to Store.open as is (an SQLite path now, a PostgreSQL URL later). */
  store?: string;
  json: boolean;
  /** Timings per measurement; the median is reported. */
  repeat: number;
  help: boolean;
  /** The inference server's benchmark (bench/serve.ts) instead of the store's. */
  serve: boolean;
  /** The serving platform's benchmark (bench/serving-platform.ts): batching, ensembles, bursts. */
  platform: boolean;
  /** Approximate dedup's benchmark (bench/approx.ts): stored bytes against the accuracy drop. */
  approx: boolean;
  /** Folders to measure for the same values in another layout or precision (bench/layouts.ts). */
  layouts?: string[];
  /** The same models as safetensors and saved with torch.save, each in a store of its own (bench/torch.ts). */
  torch: boolean;
  /** Seconds of the online-backup run (bench/backup.ts); undefined when not asked for. */
  backup?: number;
}

export const USAGE = `usage: npm run bench -- [options]

Corpora (any of them, benchmarked one after the other in this order; none: the demo models):
  --versions DIR        DIR/<package>/<version>/ (npm run bench:corpus -- DIR builds one): each
                        package one model, each version folder imported whole (every file) as its
                        next version, in semver order
  --corpus DIR          import every model file under DIR (recursively), each as its own
                        model, in sorted order (default: the demo models of @ricky0123/vad-web)
  --synthetic SIZE      generate a safetensors family of about SIZE (e.g. 1GiB) in a temp dir
  --single SIZE         generate one F32 safetensors file of about SIZE (e.g. 1GiB): the
                        single-file throughput run
  --scale LIST          import one model into stores already holding N small models of the same
                        architecture, for each N in LIST (e.g. 10,1000,10000); SQLite only
  --scale-store LIST    fill one store with families of small models (100 a family) up to each
                        size in LIST (e.g. 100,1000,10000,100000): import time per model, and
                        ls/stats/sharing/show p50 and p99 at each size; at the largest, the
                        same over HTTP, as CLI processes, and the dashboard's first paint. On
                        --store (e.g. a PostgreSQL URL) when given, else a new SQLite file

Each corpus is imported, every time on an empty store, by one \`tessera import\` call (model
files: all of them; package versions: the package folders with --versions), by one process
per model, and in-process; --repeat rounds, each running every tool once.

Other options:
  --chunk-sizes LIST    chunk-size sweep, e.g. 16KiB,32KiB,64KiB,128KiB,256KiB,1MiB
  --peers               also store the same files with restic, borg, zpaq and tar|zstd
  --cli PATH            the tessera CLI the import processes run (default: bin/tessera.js of
                        this checkout), e.g. another worktree's, to compare builds
  --store PATH          store location for Tessera's runs (must be empty or absent; it is
                        emptied between runs and left empty)
  --repeat N            rounds, medians reported (default 3)
  --backup SECONDS      benchmark online backup instead: an import loop of SECONDS (e.g. 60) into
                        --store (default: a new SQLite file), a \`tessera backup\` every 10 s
                        beside it, the last one restored and every model compared byte for byte
  --serve               benchmark the inference server instead (latency vs onnxruntime-node,
                        cold start, chunk-cache loads); takes about a minute
  --platform            benchmark the serving platform instead, on the trained-digits MLP of
                        ../shared/corpus (skipped when absent): requests/s and latency with and
                        without dynamic batching at 1-64 clients (wrk when installed), an
                        ensemble against its steps, bursts past the queue (429s, memory);
                        --repeat rounds (at least 3); takes about 90 s
  --approx              benchmark approximate dedup instead, on the trained-digits families of
                        ../shared/corpus (skipped when absent): stored bytes against the
                        measured accuracy drop at bounds of 0.5, 1, 2 and 3.5%, beside
                        lossless Tessera; search time against import time
  --layouts DIR[,DIR]   measure instead how much float weight data in the model files below
                        the folders is the same values in another layout or precision (a
                        float16 copy, a transposed or axis-permuted kernel)
  --torch               measure instead the .safetensors files below --corpus DIR (default the
                        trained-digits families of ../shared/corpus) beside the same models
                        saved with torch.save in this run (needs a Python with torch, e.g.
                        Debian's python3-torch; skipped with a note without one), each set
                        in a store of its own
  --json                print the results as JSON after the tables
  --help                this text`;

export class OptionsError extends Error {}

function size(flag: string, v: string): number {
  try {
    return parseSize(v);
  } catch (e) {
    throw new OptionsError(`${flag}: ${(e as Error).message}`);
  }
}

/** "10,1000,10k" -> [10, 1000, 10000], sorted and without repeats. */
export function parseScale(v: string | undefined, flag = '--scale'): number[] {
  if (v === undefined) return [];
  const ns = v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\d+)(k?)$/i.exec(s);
    const n = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new OptionsError(`${flag}: expected store sizes from 0 to 100000 (e.g. 10,1000,10000), got "${s}"`);
    return n;
  });
  if (ns.length === 0) throw new OptionsError(`${flag}: no store sizes given`);
  return [...new Set(ns)].sort((a, b) => a - b);
}

export function parseOptions(argv: string[]): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        corpus: { type: 'string' },
        versions: { type: 'string' },
        synthetic: { type: 'string' },
        single: { type: 'string' },
        scale: { type: 'string' },
        'scale-store': { type: 'string' },
        'chunk-sizes': { type: 'string' },
        peers: { type: 'boolean', default: false },
        store: { type: 'string' },
        cli: { type: 'string' },
        json: { type: 'boolean', default: false },
        repeat: { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h', default: false },
        serve: { type: 'boolean', default: false },
        platform: { type: 'boolean', default: false },
        approx: { type: 'boolean', default: false },
        layouts: { type: 'string' },
        torch: { type: 'boolean', default: false },
        backup: { type: 'string' },
      },
    }));
  } catch (e) {
    throw new OptionsError((e as Error).message);
  }
  const chunkSizes = (values['chunk-sizes'] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => size('--chunk-sizes', s));
  for (const c of chunkSizes) {
    if (c < MIN_CHUNK_SIZE || c > MAX_CHUNK_SIZE) {
      throw new OptionsError(`--chunk-sizes: ${c} is outside the store's range (${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes)`);
    }
  }
  if (values['chunk-sizes'] !== undefined && chunkSizes.length === 0) throw new OptionsError('--chunk-sizes: no sizes given');
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100) throw new OptionsError(`--repeat: expected 1 to 100, got "${values.repeat}"`);
  const synthetic = values.synthetic === undefined ? undefined : size('--synthetic', values.synthetic);
  // Below a few MiB the generated "model" has too few tensors to mean anything.
  if (synthetic !== undefined && synthetic < 4 << 20) throw new OptionsError('--synthetic: use at least 4MiB');
  const single = values.single === undefined ? undefined : size('--single', values.single);
  if (single !== undefined && single < 1 << 20) throw new OptionsError('--single: use at least 1MiB');
  const scale = parseScale(values.scale);
  const scaleStore = values['scale-store'] === undefined ? [] : parseScale(values['scale-store'], '--scale-store');
  if (scale.length > 0 && values.store !== undefined) {
    throw new OptionsError('--scale builds SQLite stores of its own (it copies them between runs); it does not take --store');
  }
  return {
    corpus: values.corpus, versions: values.versions, synthetic, single, scale, scaleStore, chunkSizes, peers: values.peers ?? false, store: values.store, cli: values.cli,
    json: values.json ?? false, repeat, help: values.help ?? false, serve: values.serve ?? false,
    platform: values.platform ?? false, approx: values.approx ?? false,
    layouts: values.layouts === undefined ? undefined : values.layouts.split(',').map((d) => d.trim()).filter(Boolean),
    torch: values.torch ?? false,
    backup: backupSeconds(values.backup),
  };
}

function backupSeconds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10 || n > 3600) throw new OptionsError(`--backup: expected 10 to 3600 seconds, got "${v}"`);
  return n;
}
