/**
 * `npm run bench -- --torch [--corpus DIR] [--repeat N]`: the same models as
 * safetensors and saved with torch.save, each set in a store of its own
 * (issue 20's PyTorch target: the .pt store ≤ 1.02× the safetensors store).
 * The .pt files are written in this run by real torch (bench/torch-save.py),
 * from every .safetensors below the corpus (default: the trained-digits
 * families in ../shared/corpus). Without a Python that imports torch the
 * bench says so and measures nothing.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { table } from '../src/cli/format.js';
import { corpusFromPaths, modelPathsBelow } from './corpus.js';
import { run } from './proc.js';
import { StoreSite, measureTessera, mergeTessera } from './tessera.js';
import type { TesseraResult } from './tessera.js';
import { breakdownTables } from './breakdown.js';
import { int, mb, pct, secs } from './units.js';

/** The target: the torch.save store at most this many times the safetensors store. */
export const TORCH_TARGET = 1.02;

export interface TorchReport {
  python?: string;
  torch?: string;
  skipped?: string;
  corpus: string;
  models: number;
  safetensors?: TesseraResult;
  pytorch?: TesseraResult;
  rawBytes?: { safetensors: number; pytorch: number };
}

/** A Python that imports torch: $TESSERA_PYTHON, Debian's /usr/bin/python3 (python3-torch), or python3 on PATH. */
async function torchPython(): Promise<{ python: string; version: string } | undefined> {
  const candidates = [process.env.TESSERA_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    try {
      const { stdout } = await run(python, ['-c', 'import torch; print(torch.__version__)']);
      return { python, version: stdout.trim() };
    } catch {
      // not this one
    }
  }
  return undefined;
}

export async function benchTorch(opts: {
  repoRoot: string; tmp: string; corpus?: string; rounds: number; log: (s: string) => void;
}): Promise<{ text: string; report: TorchReport }> {
  const root = resolve(opts.corpus ?? join(opts.repoRoot, '../shared/corpus/trained-digits'));
  const report: TorchReport = { corpus: root, models: 0 };
  const py = await torchPython();
  if (!py) {
    report.skipped = 'no Python with torch (apt-get install python3-torch, or set TESSERA_PYTHON): nothing measured';
    return { text: `PyTorch: ${report.skipped}`, report };
  }
  report.python = py.python;
  report.torch = py.version;
  let sources: string[];
  try {
    sources = modelPathsBelow(root).filter((p) => p.endsWith('.safetensors'));
  } catch (e) {
    report.skipped = `${root}: ${(e as Error).message}`;
    return { text: `PyTorch: ${report.skipped}`, report };
  }
  if (sources.length === 0) {
    report.skipped = `${root}: no .safetensors files`;
    return { text: `PyTorch: ${report.skipped}`, report };
  }
  const ptRoot = join(opts.tmp, 'torch-corpus');
  const pts = sources.map((s) => join(ptRoot, relative(root, s).replace(/\.safetensors$/, '.pt')));
  for (const p of pts) mkdirSync(dirname(p), { recursive: true });
  opts.log(`torch.save of ${sources.length} models with ${py.python} (torch ${py.version})…`);
  await run(py.python, [join(opts.repoRoot, 'bench/torch-save.py'), ...sources.flatMap((s, i) => [s, pts[i]!])]);
  report.models = sources.length;
  const st = corpusFromPaths(`${root} (.safetensors)`, root, sources);
  const pt = corpusFromPaths(`${ptRoot} (.pt)`, ptRoot, pts);
  report.rawBytes = { safetensors: st.bytes, pytorch: pt.bytes };
  const site = new StoreSite(undefined, opts.tmp);
  // Interleaved rounds, so that load on the machine falls on both alike.
  const runs: { st: TesseraResult[]; pt: TesseraResult[] } = { st: [], pt: [] };
  for (let i = 0; i < opts.rounds; i++) {
    opts.log(`round ${i + 1}/${opts.rounds}: safetensors`);
    runs.st.push(await measureTessera(site, st, opts.tmp, { reimport: false, repeat: 1, log: opts.log }));
    opts.log(`round ${i + 1}/${opts.rounds}: torch.save`);
    runs.pt.push(await measureTessera(site, pt, opts.tmp, { reimport: false, repeat: 1, log: opts.log }));
  }
  report.safetensors = mergeTessera(runs.st);
  report.pytorch = mergeTessera(runs.pt);
  return { text: torchText(report), report };
}

function torchText(r: TorchReport): string {
  const st = r.safetensors!;
  const pt = r.pytorch!;
  const raw = r.rawBytes!;
  const row = (label: string, res: TesseraResult, rawBytes: number): string[] => [
    label, int(res.models.length), mb(rawBytes), mb(res.totals.storedBytes), mb(res.totals.dbBytes), pct(res.totals.dbBytes, rawBytes),
    (res.totals.dbBytes / st.totals.dbBytes).toFixed(3) + '×', secs(res.import.median), mb(res.totals.deltaRawBytes),
  ];
  const ratio = pt.totals.dbBytes / st.totals.dbBytes;
  return [
    `PyTorch (issue 20): the same models as .safetensors and saved with torch.save (${r.torch}), each set in a store of its own`,
    `corpus: ${r.corpus}, ${r.models} models; import one model per file, ${st.import.runs.length === 1 ? '1 run' : `median of ${st.import.runs.length} runs`}`,
    '',
    table(['files', 'models', 'raw', 'payload', 'database', 'db/raw', 'vs .safetensors', 'import', 'delta-coded'], [
      row('.safetensors', st, raw.safetensors), row('.pt (torch.save)', pt, raw.pytorch),
    ]),
    '',
    `target: .pt database ≤ ${TORCH_TARGET}× the .safetensors database: ${ratio.toFixed(3)}× → ${ratio <= TORCH_TARGET ? 'MET' : 'NOT MET'}`,
    `import time .pt / .safetensors: ${(pt.import.median / st.import.median).toFixed(2)}× (the .pt files are ${(raw.pytorch / raw.safetensors).toFixed(3)}× the bytes)`,
    '',
    'the .pt store:',
    breakdownTables(pt.breakdown),
  ].join('\n');
}
