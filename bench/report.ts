import { table } from '../src/cli/format.js';
import type { Corpus } from './corpus.js';
import type { PeerResult, PeerSkip } from './peers.js';
import type { RunTimes, TesseraResult } from './tessera.js';
import { timing } from './timing.js';
import type { Timing } from './timing.js';
import { MB, binSize, int, mb, mbps, pct, rate, secs } from './units.js';

/** "123 MB/s  (0.66 s; runs 0.64-0.70 s)": the median rate, and the spread so that noise is visible. */
function speed(bytes: number, t: Timing): [string, string] {
  const spread = t.runs.length > 1 ? `median of ${t.runs.length}: ${secs(t.median)} s (${secs(t.min)}-${secs(t.max)} s)` : `1 run: ${secs(t.median)} s`;
  return [`${rate(mbps(bytes, t.median))} MB/s`, spread];
}

export function mainTable(r: TesseraResult): string {
  const t = r.totals;
  const logical = t.logicalBytes;
  const rows: string[][] = [
    ['logical bytes', mb(logical), `${t.files} files as ${t.models} models`],
    ['stored bytes (chunk payloads)', mb(t.storedBytes), `${pct(t.storedBytes, logical)} of logical`],
    ['distinct chunk bytes (raw)', mb(t.uniqueRawBytes), `${pct(t.uniqueRawBytes, logical)} of logical; ${int(t.chunks)} chunks of ${binSize(r.chunkSize)}`],
    ['database on disk', mb(t.dbBytes), `${pct(t.dbBytes, logical)} of logical`],
  ];
  if (t.deltaRawBytes > 0) {
    rows.splice(3, 0, ['  of which deltas (stored)', mb(t.deltaStoredBytes), `${mb(t.deltaRawBytes)} raw stored as deltas against a base (${pct(t.deltaStoredBytes, t.deltaRawBytes)})`]);
  }
  if (r.totalsAfterReimport) {
    const a = r.totalsAfterReimport;
    rows.push(['database after re-import', mb(a.dbBytes), `+${mb(a.dbBytes - t.dbBytes)} for a second copy of every model; ${r.reimportNewChunks} new chunks written`]);
  }
  rows.push(['import (empty store)', ...speed(logical, r.import)]);
  if (r.reimport) rows.push(['re-import (all chunks stored)', ...speed(logical, r.reimport)]);
  rows.push(['export (SHA-256 verified)', ...speed(logical, r.export)]);
  return table(['measurement', '>value', 'note'], rows);
}

export function sweepTable(results: TesseraResult[]): string {
  const rows = results.map((r) => {
    const t = r.totals;
    return [
      binSize(r.chunkSize), pct(t.storedBytes, t.logicalBytes), pct(t.uniqueRawBytes, t.logicalBytes), int(t.chunks), int(t.dbBytes),
      pct(t.dbBytes, t.logicalBytes), rate(mbps(t.logicalBytes, r.import.median)), rate(mbps(t.logicalBytes, r.export.median)),
    ];
  });
  return table(['>chunk size', '>stored %', '>distinct chunk %', '>chunks', '>db bytes', '>db %', '>import MB/s', '>export MB/s'], rows);
}

/** "restic 0.14.0", "tar | zstd -3 (zstd 1.5.4)", plus "1 run" for a peer timed once. */
export function peerLabel(p: PeerResult): string {
  const known = p.version.includes(' ');
  const name = p.tool === p.version.split(' ')[0] ? p.version : known ? `${p.tool} (${p.version})` : p.tool;
  return p.runsNote ? `${name}, ${p.runsNote}` : name;
}

export function peerNotes(peers: PeerResult[], skipped: PeerSkip[]): string {
  const lines = peers.map((p) => {
    const lo = Math.min(...p.storedRuns);
    const hi = Math.max(...p.storedRuns);
    // More than a few bytes of difference (archive timestamps) means the tool's chunking differs per repository.
    const varies = hi - lo > 1024 ? `; stored bytes varied over the runs, ${int(lo)} to ${int(hi)} (median shown)` : '';
    return `  ${p.tool}: ${p.commands}${varies}`;
  });
  for (const s of skipped) lines.push(`  ${s.tool}: not run, ${s.reason}`);
  return lines.join('\n');
}

/** Share of a model's bytes its export decodes as deltas from which on it counts as a delta-compressed model. */
export const DELTA_READ_SHARE = 0.5;
/** Share of a model's bytes its import found already stored below which it counts as new data. */
export const NEW_DATA_DEDUP_SHARE = 0.5;

/**
 * One row per model, in import order: what it added to the store (as counted
 * at its import), what it was delta-coded against, how much of it its export
 * decodes as deltas, and its own import and export speed.
 */
export function modelTable(r: TesseraResult): string {
  const rows = r.models.map((m) => [
    m.ref,
    (m.logicalBytes / MB).toFixed(2),
    pct(m.deduplicatedBytes, m.logicalBytes),
    (m.storedBytes / MB).toFixed(2),
    pct(m.storedBytes, m.logicalBytes),
    m.base ?? '-',
    m.deltaRawBytes > 0 ? `${(m.deltaRawBytes / MB).toFixed(2)} -> ${(m.deltaStoredBytes / MB).toFixed(2)}` : '-',
    pct(m.deltaReadBytes, m.logicalBytes),
    rate(mbps(m.logicalBytes, m.import.median)),
    rate(mbps(m.logicalBytes, m.export.median)),
  ]);
  return table(
    ['model', '>logical MB', '>dedup', '>stored MB', '>stored', 'delta base', '>new deltas MB (raw -> stored)', '>read as deltas', '>import MB/s', '>export MB/s'],
    rows);
}

/** Bytes and time of a group of models: per run the group's sum of times, then the median over the runs. */
function groupTiming(r: TesseraResult, idx: number[], times: (run: RunTimes) => number[]): Timing {
  return timing(r.runs.map((run) => idx.reduce((s, i) => s + times(run)[i]!, 0)));
}

/**
 * Import and export speed of groups of models, each as the sum of its bytes
 * over the sum of its times: the models mostly new to the store at their
 * import (the import speed of new data), the models whose import saved bytes
 * by deltas, the models whose export mostly decodes deltas (delta-compressed
 * models, whichever import stored their chunks), the others, and all.
 */
export function modelSummary(r: TesseraResult): string {
  const all = r.models.map((_, i) => i);
  const pc = (x: number) => `${(100 * x).toFixed(0)}%`;
  const share = pc(DELTA_READ_SHARE);
  const mostlyDeltas = (i: number) => r.models[i]!.deltaReadBytes >= DELTA_READ_SHARE * r.models[i]!.logicalBytes;
  const groups: [string, number[]][] = [
    [`mostly new data (< ${pc(NEW_DATA_DEDUP_SHARE)} deduplicated)`, all.filter((i) => r.models[i]!.deduplicatedBytes < NEW_DATA_DEDUP_SHARE * r.models[i]!.logicalBytes)],
    ['delta-coded at import (delta saved > 0)', all.filter((i) => r.models[i]!.deltaSavedBytes > 0)],
    [`delta-compressed (>= ${share} read as deltas)`, all.filter(mostlyDeltas)],
    [`the others (< ${share} read as deltas)`, all.filter((i) => !mostlyDeltas(i))],
    ['all models', all],
  ];
  const rows = groups.filter(([, idx]) => idx.length > 0).map(([label, idx]) => {
    const bytes = idx.reduce((s, i) => s + r.models[i]!.logicalBytes, 0);
    const imp = groupTiming(r, idx, (run) => run.modelImportS);
    const exp = groupTiming(r, idx, (run) => run.modelExportS);
    const spread = (t: Timing) => (t.runs.length > 1 ? `${secs(t.median)} s (${secs(t.min)}-${secs(t.max)})` : `${secs(t.median)} s`);
    return [label, String(idx.length), (bytes / MB).toFixed(2), rate(mbps(bytes, imp.median)), spread(imp), rate(mbps(bytes, exp.median)), spread(exp)];
  });
  return table(['models', '>count', '>logical MB', '>import MB/s', '>import time', '>export MB/s', '>export time'], rows);
}

/** The targets of issue 15 (bench, this machine, same run, medians). */
export const TARGETS = {
  /** All sources in one `tessera import` call: wall time at most this times borg's. */
  oneCallVsBorg: 0.67,
  /** One `tessera import` process per model: at most this times borg's. */
  perModelVsBorg: 1.5,
  /** A single safetensors file of 1 GiB: at least this many MB/s. */
  singleFileMBps: 600,
};

/** A target on a row: a wall-time ratio against borg's, or a speed. */
export type Target = { vsBorg: number } | { mbps: number };

/** One row of the comparison: a way of running Tessera, or a peer. */
export interface CompareRow {
  tool: string;
  storedBytes?: number;
  import: Timing;
  export?: Timing;
  identical: string;
  target?: Target;
}

/** "≤ 0.67× borg: met (0.52×)", "≥ 600 MB/s: MISSED (197)", or '' without a target. */
export function targetCell(t: Target | undefined, bytes: number, imp: Timing, borg: Timing | undefined): string {
  if (t === undefined) return '';
  if ('mbps' in t) {
    const got = mbps(bytes, imp.median);
    return `>= ${t.mbps} MB/s: ${got >= t.mbps ? 'met' : 'MISSED'}`;
  }
  if (borg === undefined) return `<= ${t.vsBorg}x borg: borg not run`;
  const ratio = imp.median / borg.median;
  return `<= ${t.vsBorg}x borg: ${ratio <= t.vsBorg ? 'met' : 'MISSED'}`;
}

/**
 * Tessera's ways of importing and the peers, on the same files: stored bytes,
 * import wall time and speed, its ratio to borg's (the "x borg" column), the
 * issue's target, export.
 */
export function comparisonTable(corpus: Corpus, rows: CompareRow[], borg: Timing | undefined): string {
  const raw = corpus.bytes;
  const body = rows.map((r) => [
    r.tool,
    r.storedBytes === undefined ? '' : int(r.storedBytes),
    r.storedBytes === undefined ? '' : pct(r.storedBytes, raw),
    secs(r.import.median),
    rate(mbps(raw, r.import.median)),
    borg === undefined ? '' : `${(r.import.median / borg.median).toFixed(2)}x`,
    targetCell(r.target, raw, r.import, borg),
    r.export ? secs(r.export.median) : '',
    r.export ? rate(mbps(raw, r.export.median)) : '',
    r.identical,
  ]);
  return table(
    ['tool', '>stored bytes', '>% of raw', '>import s', '>import MB/s', '>x borg', 'target (issue 15)', '>export s', '>export MB/s', 'restore byte-identical'],
    [['raw files', int(raw), '100.0%', '', '', '', '', '', '', ''], ...body]);
}

/** The machine's own speeds on the corpus: the references the closing note measures the import against. */
export function referenceTable(bytes: number, refs: { label: string; t: Timing; note: string; bytes?: number | null }[]): string {
  return table(['reference (same run)', '>MB/s', 'time', 'note'],
    refs.map((r) => {
      // A reference over other bytes than the corpus's says how many; one over none (a process start) has no rate.
      const n = r.bytes === undefined ? bytes : r.bytes;
      return [r.label, n === null ? '' : rate(mbps(n, r.t.median)), n === null ? `${(1000 * r.t.median).toFixed(0)} ms` : speed(n, r.t)[1], r.note];
    }));
}

/** Inputs of the closing note: one corpus's times and the machine's reference speeds, all from the same run. */
export interface LimitsInput {
  bytes: number;
  /** Raw bytes of the distinct chunks: what went through the codec (compression, delta search). */
  distinctRawBytes: number;
  models: number;
  oneCall?: { seconds: number; calls: number; fallback: boolean };
  perModel?: { seconds: number; calls: number };
  inProcess: number;
  nodeSha: Timing;
  zstd?: Timing;
  /** The store's SQLite chunk inserts writing `bytes` (the database's size) in one transaction. */
  sqlite?: { t: Timing; bytes: number };
  /** `node -e 0`: a process's start before any of its own code. */
  nodeStart?: Timing;
}

/**
 * What limits the import, in numbers of this run: the time SHA-256 (node,
 * one core) needs for every byte plus the time zstd -3 (one thread) needs
 * for the distinct bytes, against the import's wall time; and the cost of a
 * process per model.
 */
export function limitsNote(x: LimitsInput): string {
  // Both references ran over every byte of the corpus: scale zstd's time to the distinct bytes.
  const hashS = x.nodeSha.median;
  const zstdS = x.zstd ? x.zstd.median * (x.distinctRawBytes / x.bytes) : undefined;
  const work = hashS + (zstdS ?? 0);
  const lines: string[] = [];
  lines.push(`What limits the import (same run): SHA-256 of all ${mb(x.bytes)} takes ${secs(hashS)} s on one core (node, ${rate(mbps(x.bytes, x.nodeSha.median))} MB/s)`
    + (zstdS === undefined ? '; zstd not measured.' : `, and zstd -3 on one thread of the ${mb(x.distinctRawBytes)} of distinct chunks (${pct(x.distinctRawBytes, x.bytes)}), the bytes that reach the codec, ${secs(zstdS)} s (${rate(mbps(x.bytes, x.zstd!.median))} MB/s on this corpus).`));
  lines.push(`  Together ${secs(work)} s on one core, ${secs(work / 2)} s if both cores shared them perfectly.`);
  const imp = x.oneCall && !x.oneCall.fallback ? { label: 'one `tessera import` call', s: x.oneCall.seconds } : { label: 'the in-process import', s: x.inProcess };
  lines.push(`  ${imp.label[0]!.toUpperCase()}${imp.label.slice(1)} took ${secs(imp.s)} s: ${(imp.s / work).toFixed(1)}x the one-core hashing and compression time, ${(imp.s / (work / 2)).toFixed(1)}x the two-core bound;`
    + ` ${secs(Math.max(0, imp.s - work))} s of it is neither, even if they ran one after the other (parsing, chunking, delta search, database writes, per-model fixed cost).`);
  if (x.sqlite) {
    lines.push(`  Writing the ${mb(x.sqlite.bytes)} the store keeps through its own SQLite inserts takes ${secs(x.sqlite.t.median)} s (${rate(mbps(x.sqlite.bytes, x.sqlite.t.median))} MB/s) on the`
      + ` importing thread, which owns the connection: no worker thread shortens it (${pct(x.sqlite.t.median, imp.s)} of the ${imp.label}).`);
  }
  if (x.nodeStart && x.perModel) {
    lines.push(`  Node itself starts in ${(1000 * x.nodeStart.median).toFixed(0)} ms (node -e 0): ${x.perModel.calls} processes cannot take less than ${secs(x.nodeStart.median * x.perModel.calls)} s before any work.`);
  }
  if (x.perModel && x.oneCall && !x.oneCall.fallback && x.perModel.calls > x.oneCall.calls) {
    const per = (x.perModel.seconds - x.oneCall.seconds) / (x.perModel.calls - x.oneCall.calls);
    lines.push(per > 0
      ? `  A process per model costs ${(1000 * per).toFixed(0)} ms more per model than one call (node start, module loading, store open and close): ${secs(per * x.perModel.calls)} s over ${x.perModel.calls} models.`
      : `  A process per model measured ${(1000 * -per).toFixed(0)} ms less per model than one call: within this run's noise.`);
  } else if (x.perModel) {
    const per = (x.perModel.seconds - x.inProcess) / x.perModel.calls;
    lines.push(per > 0
      ? `  A process per model costs ${(1000 * per).toFixed(0)} ms more per model than the in-process import (node start, module loading, store open and close).`
      : `  A process per model measured ${(1000 * -per).toFixed(0)} ms less per model than the in-process import: within this run's noise.`);
  }
  return lines.join('\n');
}

export interface ScaleTableInput {
  rows: { models: number; dbBytes: number; buildS: number; sibling: { inProcess: Timing; cli: Timing; base: string | null }; wider: { inProcess: Timing; cli: Timing; base: string | null } }[];
  withDeltaS: { models: number; seconds: number }[];
}

/** Import time of the same two models into stores of N models, and the ratio to the smallest store's. */
export function scaleTable(r: ScaleTableInput): string {
  const first = r.rows[0];
  const ms = (t: Timing) => (1000 * t.median).toFixed(t.median < 1 ? 1 : 0);
  const x = (t: Timing, t0: Timing | undefined) => (t0 ? `${(t.median / t0.median).toFixed(2)}x` : '');
  const rows = r.rows.map((row) => [
    int(row.models), mb(row.dbBytes), secs(row.buildS),
    ms(row.sibling.inProcess), x(row.sibling.inProcess, first?.sibling.inProcess), ms(row.sibling.cli),
    ms(row.wider.inProcess), x(row.wider.inProcess, first?.wider.inProcess), ms(row.wider.cli),
    row.sibling.base ?? '-',
    (() => { const d = r.withDeltaS.find((w) => w.models === row.models); return d ? ms(timing([d.seconds])) : ''; })(),
  ]);
  return table(
    ['>models in store', '>store', '>built in s', '>sibling ms', '>x first', '>sibling CLI ms', '>wider ms', '>x first', '>wider CLI ms', 'sibling base', '>filler w/ deltas ms'],
    rows);
}
