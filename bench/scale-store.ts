/**
 * A store of many small models (issue 21, item 4): families of variants that
 * share most of their bytes (each family: FAMILY_TENSORS tensors every
 * variant holds, and a head of each variant's own; the same tensor names and
 * shapes everywhere, so every model's header is one chunk all of them hold),
 * imported in batches as `tessera import a b c …` does (commits grouped).
 *
 * At each size asked for it reports the import time per model (the median
 * of the last WINDOW imports before the size is reached: it must stay flat),
 * the database's bytes per model, and what reads cost in-process (p50/p99):
 * the first page of `ls`, `stats`, `sharing --top 20`, one model's `show`.
 * At the largest size also: a server on the store, the same over HTTP plus a
 * file download; each CLI command as a process; the dashboard's first paint
 * in headless Chromium (when installed).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/store/store.js';
import { startServer } from '../src/serve/server.js';
import { Rng } from './synth.js';
import { header } from './synthetic.js';
import { run } from './proc.js';
import { int, median, quantile } from './units.js';
import { table } from '../src/cli/format.js';

/** Models per family and tensors every member holds (each 4 KiB: one chunk). */
export const PER_FAMILY = 100;
const FAMILY_TENSORS = 5;
const ELEMENTS = 1024;
/** Imports whose median gives the per-model time at a size. */
const WINDOW = 100;
/** Imports per batch, the store vacuumed and analyzed between batches (on PostgreSQL; autovacuum's default acts after 10% of a table changed). */
const ANALYZE_EVERY = 2000;
/** Timed runs per read (p50/p99). */
const READS = 40;
const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';

export interface ReadTiming { what: string; p50: number; p99: number; runs: number }

export interface ScaleStep {
  models: number;
  /** Median ms per model of the last WINDOW imports before this size. */
  importMs: number;
  dbBytes: number;
  reads: ReadTiming[];
}

export interface ScaleStoreReport {
  backend: string;
  location: string;
  modelBytes: number;
  steps: ScaleStep[];
  /** At the largest size. */
  http: ReadTiming[];
  cli: ReadTiming[];
  /** Server start to listening (its catalog read), ms. */
  serverStartMs: number;
  firstPaint: ReadTiming | string;
}

/** Every model's tensors: the same names and shapes, so one header (one chunk) all of them hold. */
const HEADER = header(Array.from({ length: FAMILY_TENSORS + 1 }, (_, i) => ({ name: `layer${i}.weight`, shape: [32, ELEMENTS / 32], mean: 0 })), 'F32');

function safetensors(tensors: Buffer[]): Buffer {
  return Buffer.concat([HEADER, ...tensors]);
}

const tensor = (seed: number): Buffer => new Rng(seed).bytes(ELEMENTS * 4);
const nameOf = (i: number): string => `fam${Math.floor(i / PER_FAMILY)}/v${i % PER_FAMILY}`;

async function timeRuns(what: string, runs: number, fn: (k: number) => Promise<unknown>): Promise<ReadTiming> {
  await fn(-1);
  const ms: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await fn(k);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { what, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), runs };
}

async function fetchOk(url: string): Promise<void> {
  const r = await fetch(url);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
}

async function firstPaint(url: string, runs: number): Promise<ReadTiming | string> {
  if (!existsSync(CHROMIUM)) return `skipped: no Chromium at ${CHROMIUM}`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    return await timeRuns('dashboard: load to painted (body.dataset.loaded)', runs, async () => {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      try {
        await page.goto(url);
        await page.waitForFunction('Number(document.body.dataset.loaded ?? 0) > 0', undefined, { timeout: 60_000 });
      } finally {
        await page.close();
      }
    });
  } finally {
    await browser.close();
  }
}

/**
 * Fills a store at `location` (created empty) up to each size in `sizes`,
 * measuring as it goes. `tesseraJs` runs the CLI measurements.
 */
export async function benchScaleStore(sizes: number[], location: string, tmp: string, tesseraJs: string, log: (s: string) => void): Promise<ScaleStoreReport> {
  const dir = join(tmp, 'scale-store');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  const store = await Store.open(location);
  let open = true;
  const steps: ScaleStep[] = [];
  let count = 0;
  let family: Buffer[] = [];
  const times: number[] = [];
  const rng = new Rng(7);
  try {
    for (const size of sizes) {
      // Batches of ANALYZE_EVERY imports, the store vacuumed and analyzed between them, as autovacuum would
      // (this machine's PostgreSQL runs with it off): without statistics the planner takes each model for
      // 50 files and scans file_chunks whole (27 ms an import at 10,000 models), and dead rows pile up.
      while (count < size) {
        const end = Math.min(size, count + ANALYZE_EVERY - (count % ANALYZE_EVERY));
        await store.importBatch(() => {}, async () => {
          while (count < end) {
            if (count % PER_FAMILY === 0) family = Array.from({ length: FAMILY_TENSORS }, (_, k) => tensor(count * 31 + k + 1));
            writeFileSync(file, safetensors([...family, tensor(1_000_000 + count)]));
            const t0 = performance.now();
            await store.import(file, { name: nameOf(count), base: null });
            times.push(performance.now() - t0);
            count++;
            if (count % 10_000 === 0) log(`  scale-store: ${count} models (${median(times.slice(-WINDOW)).toFixed(2)} ms a model lately)`);
          }
        });
        await store.analyze();
      }
      const pick = (): string => nameOf(rng.int(count));
      const reads = [
        await timeRuns('ls: first page (100)', READS, () => store.listPage({ limit: 100 })),
        await timeRuns('stats', READS, () => store.stats()),
        await timeRuns('sharing --top 20', READS, () => store.sharedPairs(20)),
        await timeRuns('show (a random model)', READS, () => store.show({ name: pick() })),
      ];
      const stats = await store.stats();
      steps.push({ models: count, importMs: median(times.slice(-WINDOW)), dbBytes: stats.dbBytes, reads });
      log(`  scale-store: measured at ${count} models`);
    }
    const t0 = performance.now();
    const server = await startServer(store, { port: 0, log: () => {} });
    const serverStartMs = performance.now() - t0;
    const pick = (): string => encodeURIComponent(nameOf(rng.int(count)));
    let http: ReadTiming[];
    let paint: ReadTiming | string;
    try {
      http = [
        await timeRuns('GET /api/store/models?limit=100', READS, () => fetchOk(`${server.url}/api/store/models?limit=100`)),
        await timeRuns('GET /api/stats', READS, () => fetchOk(`${server.url}/api/stats`)),
        await timeRuns('GET /api/store/models/{name}/versions/1 (show)', READS, () => fetchOk(`${server.url}/api/store/models/${pick()}/versions/1`)),
        await timeRuns('GET /v2/models/{name}/versions/1/files (file list)', READS, () => fetchOk(`${server.url}/v2/models/${pick()}/versions/1/files`)),
        await timeRuns('GET …/files/model.safetensors (download)', READS, () => fetchOk(`${server.url}/v2/models/${pick()}/versions/1/files/model.safetensors`)),
        await timeRuns('GET /api/sharing (the heatmap)', 10, () => fetchOk(`${server.url}/api/sharing`)),
      ];
      paint = await firstPaint(`${server.url}/`, 5);
    } finally {
      await server.close();
    }
    await store.close();
    open = false;
    const cliRun = (args: string[]) => run(process.execPath, [tesseraJs, '--store', location, ...args]);
    const cli = [
      await timeRuns('tessera ls', 5, () => cliRun(['ls'])),
      await timeRuns('tessera stats', 5, () => cliRun(['stats'])),
      await timeRuns('tessera sharing --top 20', 5, () => cliRun(['sharing', '--top', '20'])),
      await timeRuns('tessera show NAME', 5, () => cliRun(['show', nameOf(rng.int(count))])),
    ];
    return {
      backend: location.startsWith('postgres') ? 'postgres' : 'sqlite', location, modelBytes: safetensors([...family, tensor(0)]).length,
      steps, http, cli, serverStartMs, firstPaint: paint,
    };
  } finally {
    if (open) await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report's tables, with issue 21's targets beside the figures. */
export function scaleStoreReport(r: ScaleStoreReport): string {
  const ms = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
  const first = r.steps[0];
  const last = r.steps[r.steps.length - 1];
  const lines: string[] = [];
  lines.push(`A store of many small models (${r.backend}): families of ${PER_FAMILY} variants (${int(r.modelBytes)} bytes each, all but one tensor shared`);
  lines.push('within a family, one header chunk shared by all), imported in batches (commits grouped, as `tessera import a b c …`).');
  lines.push('Import ms per model: the median of the last 100 imports before the size. Reads in-process, p50 / p99 ms.');
  lines.push(table(['>models', '>import ms/model', '>x first', '>db bytes/model', ...(last?.reads ?? []).map((t) => `>${t.what}`)],
    r.steps.map((s) => [int(s.models), ms(s.importMs), first ? `${(s.importMs / first.importMs).toFixed(2)}x` : '', int(Math.round(s.dbBytes / s.models)),
      ...s.reads.map((t) => `${ms(t.p50)} / ${ms(t.p99)}`)])));
  if (first && last) {
    const x = last.importMs / first.importMs;
    lines.push(`issue 21: import per model at ${int(last.models)} <= 1.2x at ${int(first.models)}: ${x.toFixed(2)}x ${x <= 1.2 ? 'MET' : 'MISSED'}`);
    for (const [what, bound] of [['ls: first page (100)', 50], ['stats', 50], ['show (a random model)', 50], ['sharing --top 20', 200]] as const) {
      const t = last.reads.find((x2) => x2.what === what);
      if (t) lines.push(`issue 21: ${what} p50 <= ${bound} ms at ${int(last.models)}: ${ms(t.p50)} ms ${t.p50 <= bound ? 'MET' : 'MISSED'}`);
    }
  }
  lines.push('');
  lines.push(`At ${int(last?.models ?? 0)} models, a server on the store (started and listening in ${ms(r.serverStartMs)} ms), over HTTP, p50 / p99 ms:`);
  lines.push(table(['request', '>p50 ms', '>p99 ms', '>runs'], r.http.map((t) => [t.what, ms(t.p50), ms(t.p99), t.runs])));
  if (typeof r.firstPaint === 'string') lines.push(`dashboard first paint: ${r.firstPaint}`);
  else lines.push(`dashboard first paint (navigation to every panel drawn): p50 ${ms(r.firstPaint.p50)} ms, max of ${r.firstPaint.runs} ${ms(r.firstPaint.p99)} ms; issue 21 target <= 2000 ms: ${r.firstPaint.p50 <= 2000 ? 'MET' : 'MISSED'}`);
  lines.push('');
  lines.push('The same as one CLI process each (node start-up included), median of 5:');
  lines.push(table(['command', '>p50 ms'], r.cli.map((t) => [t.what, ms(t.p50)])));
  return lines.join('\n');
}
