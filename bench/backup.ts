/**
 * Online backup under load (issue 22's target): an import loop runs for
 * SECONDS (one `tessera import` process per model, as a user's script would),
 * a `tessera backup` is taken every BACKUP_EVERY seconds beside it, then the
 * last backup is restored into a new store and every model in it is exported
 * and compared byte for byte with the file it was imported from.
 *
 * Reports each backup's time and size (its own deep check included), how the
 * imports fared while backups ran (p50/p99 per import, inside and outside
 * the backups' windows), the restore's time, and the comparison.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../src/store/store.js';
import { table } from '../src/cli/format.js';
import { run } from './proc.js';
import { Rng, normalF32 } from './synth.js';
import { median, quantile } from './units.js';

const BACKUP_EVERY = 10;
/** Distinct small models the loop imports (it cycles through them under new names). */
const SOURCES = 64;

export interface BackupReport {
  location: string;
  seconds: number;
  imports: number;
  importMs: { p50: number; p99: number; p50During: number; p99During: number };
  backups: { startedAt: number; seconds: number; bytes: number; models: number }[];
  restore: { seconds: number; models: number; files: number; identical: number };
}

/** Small safetensors files sharing most of their bytes (a base tensor, and one of each's own). */
function sources(dir: string): string[] {
  const rng = new Rng(7);
  const base = normalF32(rng, 200_000, 0.02);
  return Array.from({ length: SOURCES }, (_, i) => {
    const own = normalF32(rng, 50_000, 0.02);
    const header = Buffer.from(JSON.stringify({
      base: { dtype: 'F32', shape: [200_000], data_offsets: [0, 800_000] },
      own: { dtype: 'F32', shape: [50_000], data_offsets: [800_000, 1_000_000] },
    }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const path = join(dir, `src${i}.safetensors`);
    writeFileSync(path, Buffer.concat([len, header, Buffer.from(base.buffer, base.byteOffset, base.byteLength), Buffer.from(own.buffer, own.byteOffset, own.byteLength)]));
    return path;
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function benchBackup(o: { location: string; tmp: string; seconds: number; cli: string; log: (l: string) => void }): Promise<{ text: string; report: BackupReport }> {
  const files = sources(o.tmp);
  const digest = new Map(files.map((f) => [f, sha(readFileSync(f))]));
  const t0 = performance.now();
  const importTimes: { start: number; ms: number }[] = [];
  /** Which source each imported model came from, by name. */
  const origin = new Map<string, string>();
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const f = files[i % files.length]!;
      const name = `m${i}`;
      const start = performance.now();
      await run(process.execPath, [o.cli, 'import', f, '--name', name, '--store', o.location]);
      importTimes.push({ start: start - t0, ms: performance.now() - start });
      origin.set(name, f);
    }
  })();
  const backups: BackupReport['backups'] = [];
  let last = '';
  while ((performance.now() - t0) / 1000 + BACKUP_EVERY <= o.seconds) {
    await sleep(BACKUP_EVERY * 1000);
    const to = join(o.tmp, `backup-${backups.length}.db`);
    const startedAt = (performance.now() - t0) / 1000;
    const r = await run(process.execPath, [o.cli, 'backup', '--to', to, '--store', o.location, '--json']);
    const j = JSON.parse(r.stdout) as { models: number; bytes: number; seconds: number };
    backups.push({ startedAt, seconds: j.seconds, bytes: j.bytes, models: j.models });
    o.log(`  backup ${backups.length}: ${j.models} models in ${j.seconds.toFixed(2)} s`);
    last = to;
  }
  const left = o.seconds * 1000 - (performance.now() - t0);
  if (left > 0) await sleep(left);
  stop = true;
  await loop;

  const restored = join(o.tmp, 'restored.db');
  const rs = performance.now();
  await run(process.execPath, [o.cli, 'restore', '--from', last, '--store', restored]);
  const restoreSeconds = (performance.now() - rs) / 1000;
  let identical = 0;
  let filesSeen = 0;
  const store = await Store.open(restored);
  let models = 0;
  try {
    for (const m of await store.list()) {
      models++;
      // One file a model (the loop imports one file each).
      filesSeen += (await store.files(m)).length;
      const out = join(o.tmp, 'export.bin');
      await store.export({ name: m.name, version: m.version }, out);
      const want = origin.get(m.name);
      if (want !== undefined && sha(readFileSync(out)) === digest.get(want)) identical++;
    }
  } finally {
    await store.close();
  }
  const within = (t: number): boolean => backups.some((b) => t >= b.startedAt * 1000 - 50 && t <= (b.startedAt + b.seconds) * 1000);
  const all = importTimes.map((x) => x.ms).sort((a, b) => a - b);
  const during = importTimes.filter((x) => within(x.start) || within(x.start + x.ms)).map((x) => x.ms).sort((a, b) => a - b);
  const report: BackupReport = {
    location: o.location, seconds: o.seconds, imports: importTimes.length,
    importMs: { p50: median(all), p99: quantile(all, 0.99), p50During: median(during), p99During: quantile(during, 0.99) },
    backups, restore: { seconds: restoreSeconds, models, files: filesSeen, identical },
  };
  const lines = [
    `Online backup (issue 22): a ${o.seconds} s import loop (one \`tessera import\` process per model) into ${o.location},`,
    `a \`tessera backup\` every ${BACKUP_EVERY} s beside it (its verify --deep of the copy included), then the last one restored and every model exported.`,
    table(['backup', 'started s', 'models', 'bytes', 'seconds'], backups.map((b, i) => [String(i + 1), b.startedAt.toFixed(1), String(b.models), String(b.bytes), b.seconds.toFixed(2)])),
    `imports: ${report.imports}; ms per import p50 ${report.importMs.p50.toFixed(0)}, p99 ${report.importMs.p99.toFixed(0)}; `
      + `those overlapping a backup (${during.length}): p50 ${report.importMs.p50During.toFixed(0)}, p99 ${report.importMs.p99During.toFixed(0)}`,
    `restore of the last backup: ${restoreSeconds.toFixed(2)} s (its verify --deep included), ${models} models, ${filesSeen} files; `
      + `byte-identical to their sources: ${identical} of ${filesSeen}: ${identical === filesSeen && filesSeen > 0 ? 'MET' : 'MISSED'}`,
    `(the restored store: ${statSync(restored).size} bytes)`,
  ];
  return { text: lines.join('\n'), report };
}
