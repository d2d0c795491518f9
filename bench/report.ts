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

export function mainTable(corpus: Corpus, r: TesseraResult, sha: Timing, nodeSha: Timing): string {
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
  rows.push(['sha256sum (machine reference)', ...speed(corpus.bytes, sha)]);
  rows.push(['SHA-256 in node (OpenSSL, 1 thread)', ...speed(corpus.bytes, nodeSha)]);
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
function peerLabel(p: PeerResult): string {
  const known = p.version.includes(' ');
  const name = p.tool === p.version.split(' ')[0] ? p.version : known ? `${p.tool} (${p.version})` : p.tool;
  return p.runsNote ? `${name}, ${p.runsNote}` : name;
}

export function peersTable(corpus: Corpus, tessera: { tool: string; r: TesseraResult }, peers: PeerResult[]): string {
  const raw = corpus.bytes;
  const row = (tool: string, stored: number, imp: Timing, exp: Timing, identical: string): string[] => [
    tool, int(stored), pct(stored, raw), secs(imp.median), rate(mbps(raw, imp.median)), secs(exp.median), rate(mbps(raw, exp.median)), identical,
  ];
  const rows = [
    ['raw files', int(raw), '100.0%', '', '', '', '', ''],
    row(tessera.tool, tessera.r.totals.dbBytes, tessera.r.import, tessera.r.export, 'yes (export checks SHA-256)'),
    ...peers.map((p) => row(
      peerLabel(p), p.storedBytes, p.import, p.export,
      p.differing.length === 0 ? `yes (${p.filesChecked} files)` : `NO: ${p.differing.length} differ`)),
  ];
  return table(['tool', '>stored bytes', '>% of raw', '>import s', '>import MB/s', '>export s', '>export MB/s', 'restore byte-identical'], rows);
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
