import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, FileRow } from '../../backends/backend.js';
import { encodeChunk } from '../../codec/index.js';
import { FileSource } from '../../io/file-source.js';
import { hashFileSync } from '../../io/hash-file-sync.js';
import type { StoreReaders } from '../read/file-reader.js';
import { plainBlocks } from '../../io/parallel-hash.js';
import { formatModelRef } from '../model-ref.js';
import { filePieces } from '../import/pieces.js';
import { chunkHash, segmentOfRow } from '../format.js';
import { chunkInfos, verifyStore } from './verify.js';
import type { Problem } from './verify.js';

export interface RepairReport {
  /** Chunks found missing or corrupt by the first deep check. */
  badChunks: number;
  /** Corrupt chunks rewritten from a supplied file. */
  rewritten: number;
  /** Missing chunks put back under their old ids from a supplied file. */
  restored: number;
  /** Rows of PostgreSQL's chunk_hashes removed (naming no chunk) or added (a chunk without one). */
  hashRowsFixed: number;
  /** Supplied files that matched a stored file's SHA-256 (and were used). */
  sourcesUsed: string[];
  /** Models marked unavailable: what is still wrong with them. */
  unavailable: { model: string; reason: string }[];
  /** Models that were marked unavailable and are whole again. */
  madeAvailable: string[];
  /** Problems left after the repair (the second deep check). */
  problems: Problem[];
}

/**
 * Repairs what `verify --deep` finds, as far as the supplied files allow:
 *
 * 1. A deep check lists the chunks at fault: missing rows, and payloads that
 *    do not decode to their hash (bit rot, a lost base).
 * 2. Each supplied file whose SHA-256 equals a stored file's is cut again
 *    along that file's stored segments, with the store's chunk size, which
 *    gives the same pieces in the same order as the import did. The piece at
 *    a bad chunk's position re-supplies it: a corrupt chunk is rewritten when
 *    the piece hashes to its id; a missing one is put back under its old id
 *    (the whole file's digest vouches for the piece). Re-supplied chunks are
 *    stored whole, not as deltas, so they depend on nothing that may be bad.
 * 3. Where the hash has a table of its own (PostgreSQL), its rows are made
 *    to agree with the chunks again.
 * 4. A second deep check decides: every model still affected is marked
 *    unavailable (the server answers 503 for it and export refuses it)
 *    rather than serving wrong bytes; a marked model found whole again is
 *    cleared.
 *
 * All writes happen in one transaction per step, so a crash leaves either
 * the old state or the repaired one.
 */
export async function repairStore(backend: Backend, readers: StoreReaders, chunkSize: number, sources: string[]): Promise<RepairReport> {
  const first = await verifyStore(backend, readers, true);
  const bad = new Set(first.problems.flatMap((p) => p.chunks));
  const report: RepairReport = { badChunks: bad.size, rewritten: 0, restored: 0, hashRowsFixed: 0, sourcesUsed: [], unavailable: [], madeAvailable: [], problems: [] };
  // The hash index is rebuilt from the chunks themselves: before the re-supply, which looks nothing up by hash.
  if (first.problems.some((p) => p.kind === 'hash-index')) {
    const fixed = await backend.fixHashIndex();
    report.hashRowsFixed = fixed.dangling + fixed.unnamed;
  }

  if (bad.size && sources.length) {
    const byDigest = await storedFilesByDigest(backend);
    for (const path of sourceFiles(sources)) {
      if (bad.size === 0) break;
      const stored = byDigest.get(hashFileSync(path).toString('hex'));
      if (!stored) continue;
      let used = false;
      for (const file of stored) {
        const n = await resupply(backend, file, path, chunkSize, bad);
        report.rewritten += n.rewritten;
        report.restored += n.restored;
        used ||= n.rewritten + n.restored > 0;
      }
      if (used) report.sourcesUsed.push(path);
    }
    // Cached decodes of bad chunks (or of chunks built on them) are wrong.
    readers.chunks.clear();
  }

  const after = report.rewritten + report.restored + report.hashRowsFixed === 0 ? first : await verifyStore(backend, readers, true);
  report.problems = after.problems;
  const reasons = new Map<string, string>();
  for (const p of after.problems) for (const m of p.models) if (!reasons.has(m)) reasons.set(m, `${p.kind}: ${p.message}`);
  await backend.transaction(async () => {
    for (const m of await backend.listModels()) {
      const ref = formatModelRef(m.name, m.version);
      const reason = reasons.get(ref) ?? null;
      if (reason !== null) report.unavailable.push({ model: ref, reason });
      if (reason === m.unavailable) continue;
      if (reason === null) report.madeAvailable.push(ref);
      await backend.setModelUnavailable(m.id, reason);
    }
  });
  return report;
}

/** Stored files by the hex SHA-256 of their bytes. */
async function storedFilesByDigest(backend: Backend): Promise<Map<string, FileRow[]>> {
  const out = new Map<string, FileRow[]>();
  for (const f of await backend.listAllFiles()) {
    const key = f.sha256.toString('hex');
    (out.get(key) ?? out.set(key, []).get(key)!).push(f);
  }
  return out;
}

/** Every regular file named, and every regular file below a named directory. */
function* sourceFiles(paths: string[]): Generator<string> {
  for (const p of paths) {
    if (!statSync(p).isDirectory()) {
      yield p;
      continue;
    }
    for (const e of readdirSync(p, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) yield join(e.parentPath, e.name);
    }
  }
}

/**
 * Re-supplies the bad chunks of `file` from `path` (same bytes, by digest).
 * Pieces are compared by hash before anything is written: a piece that does
 * not line up (a store cut with other parameters) re-supplies nothing.
 */
async function resupply(backend: Backend, file: FileRow, path: string, chunkSize: number, bad: Set<number>): Promise<{ rewritten: number; restored: number }> {
  const ids = await backend.fileChunkIds(file.id);
  const wanted = new Set(ids.filter((id) => bad.has(id)));
  const done = { rewritten: 0, restored: 0 };
  if (wanted.size === 0) return done;
  const present = await chunkInfos(backend, [...wanted]);
  const hashes = new Map((await backend.getChunks([...present.keys()])).map((c) => [c.id, c.hash]));
  const segments = (await backend.listSegments(file.id)).map(segmentOfRow);
  const src = new FileSource(path);
  try {
    await backend.transaction(async () => {
      let ordinal = 0;
      for (const batch of filePieces(src, segments, chunkSize, undefined, plainBlocks)) {
        for (const piece of batch) {
          const id = ids[ordinal++];
          if (id === undefined || !wanted.has(id)) continue;
          const hash = chunkHash(piece.data);
          const seg = segments[piece.segment]!;
          const enc = encodeChunk({ raw: piece.data, dtype: seg.kind === 'tensor' ? seg.dtype : undefined });
          const row = { codec: enc.codec, data: enc.payload, storedSize: enc.payload.length, depth: 0, bases: [] };
          const known = hashes.get(id);
          if (known) {
            if (!known.equals(hash)) continue;
            await backend.rewriteChunk(id, row);
            done.rewritten++;
          } else if (!present.has(id)) {
            await backend.restoreChunk(id, { ...row, hash, rawSize: piece.data.length });
            done.restored++;
          } else continue;
          wanted.delete(id);
          bad.delete(id);
        }
      }
    });
  } finally {
    src.close();
  }
  return done;
}
