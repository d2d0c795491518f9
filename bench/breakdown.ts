/**
 * Where a store's bytes went, by file format and by chunk codec (issue 20,
 * item 6): every chunk is counted once, for the first file (in import
 * order) that uses it. Per format: what its files hold, what they stored
 * first (raw and payload) and so what dedup and the codecs saved; per codec
 * (each a transform: byte planes, XOR delta, cast delta, integer delta):
 * the raw bytes it holds and what it keeps of them.
 */
import { openBackend } from '../src/backends/open.js';
import { table } from '../src/cli/format.js';
import { codecName } from '../src/codec/index.js';
import type { ModelRef } from '../src/store/model-ref.js';
import type { Store } from '../src/store/store.js';
import { int, mb, pct } from './units.js';

export interface FormatBytes { format: string; files: number; logicalBytes: number; firstRawBytes: number; storedBytes: number }
export interface CodecBytes { codec: string; chunks: number; rawBytes: number; storedBytes: number }
export interface Breakdown { formats: FormatBytes[]; codecs: CodecBytes[] }

export async function storeBreakdown(store: Store, refs: ModelRef[]): Promise<Breakdown> {
  const models = new Map((await store.list()).map((m) => [`${m.name}:${m.version}`, m]));
  const db = await openBackend(store.location);
  try {
    const formats = new Map<string, FormatBytes>();
    const codecs = new Map<string, CodecBytes>();
    const seen = new Set<number>();
    for (const r of refs) {
      const m = models.get(`${r.name}:${r.version}`);
      if (!m) continue;
      for (const f of await store.files(m)) {
        const row = formats.get(f.format) ?? { format: f.format, files: 0, logicalBytes: 0, firstRawBytes: 0, storedBytes: 0 };
        formats.set(f.format, row);
        row.files++;
        row.logicalBytes += f.size;
        const fresh = [...new Set(await db.fileChunkIds(f.id))].filter((id) => !seen.has(id));
        for (const id of fresh) seen.add(id);
        for (const c of await db.chunkInfo(fresh)) {
          row.firstRawBytes += c.rawSize;
          row.storedBytes += c.storedSize;
          const name = codecName(c.codec);
          const k = codecs.get(name) ?? { codec: name, chunks: 0, rawBytes: 0, storedBytes: 0 };
          codecs.set(name, k);
          k.chunks++;
          k.rawBytes += c.rawSize;
          k.storedBytes += c.storedSize;
        }
      }
    }
    const byBytes = <T extends { logicalBytes?: number; rawBytes?: number }>(a: T, b: T): number => (b.logicalBytes ?? b.rawBytes ?? 0) - (a.logicalBytes ?? a.rawBytes ?? 0);
    return { formats: [...formats.values()].sort(byBytes), codecs: [...codecs.values()].sort(byBytes) };
  } finally {
    await db.close();
  }
}

/** What each codec does, for the table. */
const CODEC_WHAT: Record<string, string> = {
  RAW: 'kept as is (incompressible)', ZSTD: 'zstd', PLANES: 'byte planes (floats split by byte, each plane zstd)',
  XOR_ZSTD: 'XOR against a base chunk, zstd', XOR_PLANES: 'XOR against a base chunk, byte planes',
  CAST_F16_ZSTD: 'XOR against the float16 cast of float32 chunks, zstd', CAST_F16_PLANES: 'XOR against the float16 cast, byte planes',
  CAST_BF16_ZSTD: 'XOR against the bfloat16 cast, zstd', CAST_BF16_PLANES: 'XOR against the bfloat16 cast, byte planes',
  DELTA_PLANES: 'integer difference from a base chunk, byte planes',
  PERMUTE: 'a stored tensor with its axes permuted, or a slice of a stored grid cell',
};

export function breakdownTables(b: Breakdown): string {
  const logical = b.formats.reduce((n, f) => n + f.logicalBytes, 0);
  const stored = b.formats.reduce((n, f) => n + f.storedBytes, 0);
  const raw = b.codecs.reduce((n, c) => n + c.rawBytes, 0);
  return [
    'per file format (each chunk counted for the first file that stored it, in import order; "dedup" = bytes of the',
    'format\'s files found stored already, "codecs" = what compression and deltas took off the rest):',
    table(['format', 'files', 'logical', 'first stored (raw)', 'dedup saved', 'stored', 'codecs saved', 'stored / logical'], [
      ...b.formats.map((f) => [
        f.format, int(f.files), mb(f.logicalBytes), mb(f.firstRawBytes), pct(f.logicalBytes - f.firstRawBytes, f.logicalBytes),
        mb(f.storedBytes), pct(f.firstRawBytes - f.storedBytes, f.firstRawBytes), pct(f.storedBytes, f.logicalBytes),
      ]),
      ['all', int(b.formats.reduce((n, f) => n + f.files, 0)), mb(logical), mb(raw), pct(logical - raw, logical), mb(stored), pct(raw - stored, raw), pct(stored, logical)],
    ]),
    '',
    'per codec (transform) of the distinct chunks:',
    table(['codec', 'chunks', 'raw', 'stored', 'stored / raw', 'saved', 'what'], b.codecs.map((c) => [
      c.codec, int(c.chunks), mb(c.rawBytes), mb(c.storedBytes), pct(c.storedBytes, c.rawBytes), mb(c.rawBytes - c.storedBytes), CODEC_WHAT[c.codec] ?? '',
    ])),
  ].join('\n');
}
