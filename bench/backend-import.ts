/**
 * The import pipeline on each backend, in one process (Store.open, no CLI):
 * what a model costs at the least (a few-KB safetensors file imported many
 * times, each a new version, and each a new model name), and throughput on
 * the trained-digits corpus (each file a model) and a synthetic safetensors
 * family. On PostgreSQL it also counts, per import, the statements sent and
 * the round trips waited for (issue 15, item 4: per-model fixed cost ≤ 15 ms,
 * throughput ≥ 60% of SQLite's on the same corpus).
 *
 *   node dist/bench/backend-import.js [--runs 3] [--tiny 60] [--synthetic 256MiB]
 *       [--only sqlite|postgres] [--cases tiny,names,digits,synthetic] [--pg URL] [--digits DIR]
 *       [--synthetic-dir DIR] [--json]
 *
 * --pg names a database the bench may create schemas in (default: the local
 * test server's `tessera_bench`, created when missing); every run gets a
 * fresh schema (or SQLite file), dropped afterwards.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Store } from '../src/store/store.js';
import { parseSize } from '../src/cli/parse.js';
import { countWire } from './pg-wire.js';
import { Rng, normalF32 } from './synth.js';
import { generateFamily } from './synthetic.js';
import { median, mbps, rate } from './units.js';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    tiny: { type: 'string', default: '60' },
    synthetic: { type: 'string', default: '256MiB' },
    // A family generated before (generateFamily's five files), to skip generating it again.
    'synthetic-dir': { type: 'string' },
    only: { type: 'string' },
    cases: { type: 'string', default: 'tiny,names,digits,synthetic' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/tessera_bench' },
    // ../shared beside the repository, as the tests find it (this file runs from dist/bench/).
    digits: { type: 'string', default: fileURLToPath(new URL('../../../shared/corpus/trained-digits', import.meta.url)) },
    json: { type: 'boolean', default: false },
  },
});
const RUNS = Number(opt.runs);
const TINY = Number(opt.tiny);
const CASES = new Set(opt.cases!.split(','));
const BACKENDS = (opt.only ? [opt.only] : ['sqlite', 'postgres']) as ('sqlite' | 'postgres')[];

// Statements and round trips, counted on pg's client (see pg-wire.ts).
const wire = countWire();

// ---------------------------------------------------------------- CPU time

/** CPU seconds of this process (all threads) and of every PostgreSQL server process alive now. */
function cpuSeconds(): { node: number; pg: number } {
  const u = process.cpuUsage();
  let pgTicks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      pgTicks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return { node: (u.user + u.system) / 1e6, pg: pgTicks / 100 };
}

// ---------------------------------------------------------------- stores

async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>, db = 'postgres'): Promise<T> {
  const u = new URL(opt.pg!);
  u.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function ensurePgDatabase(): Promise<void> {
  const name = new URL(opt.pg!).pathname.slice(1);
  await pgAdmin(async (c) => {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE "${name}"`);
  });
}

interface Location { location: string; drop: () => Promise<void> }

let seq = 0;
function freshLocation(kind: 'sqlite' | 'postgres'): Location {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
    return { location: join(dir, 'store.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `tessera_bench_${process.pid}_${seq++}`;
  const u = new URL(opt.pg!);
  u.searchParams.set('options', `-csearch_path=${schema}`);
  const db = u.pathname.slice(1);
  return { location: u.toString(), drop: () => pgAdmin(async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)), db) };
}

// ---------------------------------------------------------------- inputs

/** A small safetensors file: four F32 tensors of `n` values drawn from `seed` (every file other bytes). */
function writeTiny(path: string, seed: number, n = 256): void {
  const rng = new Rng(seed);
  const names = ['layer.0.weight', 'layer.0.bias', 'layer.1.weight', 'layer.1.bias'];
  const header: Record<string, unknown> = {};
  names.forEach((name, i) => (header[name] = { dtype: 'F32', shape: [n], data_offsets: [4 * n * i, 4 * n * (i + 1)] }));
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...names.map(() => normalF32(rng, n, 0.02))]));
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (/\.(safetensors|onnx)$/.test(e.name)) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------- measurements

interface PerModel { ms: number; statements: number; roundTrips: number }

/** Imports `files` into a fresh store, each as `name(i)`; per-import wall time and wire counts. */
async function importAll(kind: 'sqlite' | 'postgres', files: string[], name: (i: number) => string): Promise<{ per: PerModel[]; seconds: number; cpu: { node: number; pg: number } }> {
  const loc = freshLocation(kind);
  const store = await Store.open(loc.location);
  const per: PerModel[] = [];
  const c0 = cpuSeconds();
  const t0 = performance.now();
  try {
    for (let i = 0; i < files.length; i++) {
      const w0 = { ...wire };
      const t = performance.now();
      await store.import(files[i]!, { name: name(i) });
      per.push({ ms: performance.now() - t, statements: wire.statements - w0.statements, roundTrips: wire.roundTrips - w0.roundTrips });
    }
    const seconds = (performance.now() - t0) / 1000;
    const c1 = cpuSeconds();
    return { per, seconds, cpu: { node: c1.node - c0.node, pg: c1.pg - c0.pg } };
  } finally {
    await store.close();
    await loc.drop();
  }
}

interface Row {
  backend: string; case: string; runs: number[]; value: number; unit: string; statements?: number; roundTrips?: number;
  /** Median CPU seconds per run: this process (all threads) and the PostgreSQL server. */
  cpu?: { node: number; pg: number };
}
const rows: Row[] = [];

function report(r: Row): void {
  rows.push(r);
  const wireNote = (r.statements !== undefined ? `  statements/model ${r.statements}, round trips/model ${r.roundTrips}` : '')
    + (r.cpu ? `  cpu s: node ${r.cpu.node.toFixed(2)}${r.backend === 'postgres' ? `, server ${r.cpu.pg.toFixed(2)}` : ''}` : '');
  console.log(`${r.backend.padEnd(9)} ${r.case.padEnd(32)} ${rate(r.value).padStart(7)} ${r.unit}   runs ${r.runs.map((x) => rate(x)).join(' ')}${wireNote}`);
}

async function main(): Promise<void> {
  if (BACKENDS.includes('postgres')) await ensurePgDatabase();
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-in-'));
  try {
    const tiny: string[] = [];
    if (CASES.has('tiny') || CASES.has('names')) {
      for (let i = 0; i < TINY; i++) {
        const p = join(scratch, `tiny-${i}.safetensors`);
        writeTiny(p, i + 1);
        tiny.push(p);
      }
    }
    const digits = CASES.has('digits') && existsSync(opt.digits!) ? ['conv', 'mlp'].flatMap((d) => walk(join(opt.digits!, d))) : [];
    const digitsBytes = digits.reduce((n, f) => n + statSync(f).size, 0);
    let synth: string[] = [];
    if (CASES.has('synthetic') && opt['synthetic-dir']) {
      synth = ['base', 'ft-head', 'ft-full', 'base-bf16', 'unrelated'].map((m) => join(opt['synthetic-dir']!, `${m}.safetensors`));
    } else if (CASES.has('synthetic')) {
      const dir = join(scratch, 'synthetic');
      mkdirSync(dir);
      synth = generateFamily(dir, parseSize(opt.synthetic!)).corpus.models.map((m) => m.abs);
    }
    const synthBytes = synth.reduce((n, f) => n + statSync(f).size, 0);
    console.log(`runs ${RUNS}; tiny: ${TINY} files of ${tiny.length ? statSync(tiny[0]!).size : 0} B; trained-digits: ${digits.length} files, ${(digitsBytes / 1e6).toFixed(1)} MB; synthetic: ${synth.length} files, ${(synthBytes / 1e6).toFixed(1)} MB`);

    interface Case { id: string; label: string; files: string[]; name: (i: number) => string; bytes?: number }
    const cases = ([
      { id: 'tiny', label: 'fixed cost: tiny, new versions (ms p50)', files: tiny, name: () => 'tiny' },
      { id: 'names', label: 'fixed cost: tiny, new names (ms p50)', files: tiny, name: (i) => `tiny-${i}` },
      { id: 'digits', label: 'trained-digits (MB/s)', files: digits, name: (i) => `m${i}`, bytes: digitsBytes },
      { id: 'synthetic', label: `synthetic ${opt.synthetic} (MB/s)`, files: synth, name: (i) => `m${i}`, bytes: synthBytes },
    ] as Case[]).filter((c) => CASES.has(c.id) && c.files.length > 0);
    for (const c of cases) {
      // Runs alternate between the backends, so that what else the machine is doing weighs on both alike;
      // the ratio is taken run by run, then its median.
      const results = new Map(BACKENDS.map((k) => [k, { values: [] as number[], per: [] as PerModel[], cpu: [] as { node: number; pg: number }[] }]));
      for (let r = 0; r < RUNS; r++) {
        for (const kind of BACKENDS) {
          const out = results.get(kind)!;
          const { per, seconds, cpu } = await importAll(kind, c.files, c.name);
          if (c.bytes === undefined) {
            // The first import of a store claims its settings: the fixed cost is the steady state.
            out.values.push(median(per.slice(1).map((p) => p.ms)));
            out.per.push(...per.slice(1));
          } else {
            out.values.push(mbps(c.bytes, seconds));
            out.per.push(...per);
          }
          out.cpu.push(cpu);
        }
      }
      for (const kind of BACKENDS) {
        const out = results.get(kind)!;
        report({
          backend: kind, case: c.label, runs: out.values, value: median(out.values), unit: c.bytes === undefined ? 'ms' : 'MB/s',
          ...(kind === 'postgres' ? { statements: median(out.per.map((p) => p.statements)), roundTrips: median(out.per.map((p) => p.roundTrips)) } : {}),
          ...(c.bytes === undefined ? {} : { cpu: { node: median(out.cpu.map((x) => x.node)), pg: median(out.cpu.map((x) => x.pg)) } }),
        });
      }
      if (BACKENDS.length === 2) {
        const s = results.get('sqlite')!.values;
        const p = results.get('postgres')!.values;
        // As a speed ratio: above 1, PostgreSQL is the faster.
        const ratios = s.map((v, i) => (c.bytes === undefined ? v / p[i]! : p[i]! / v));
        const ratio = median(ratios);
        rows.push({ backend: 'postgres/sqlite', case: c.label, runs: ratios, value: ratio, unit: 'ratio' });
        console.log(`${'pg/sqlite'.padEnd(9)} ${c.label.padEnd(32)} ${ratio.toFixed(2).padStart(7)} speed ratio   runs ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
      }
    }
    if (opt.json) console.log(JSON.stringify(rows));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
