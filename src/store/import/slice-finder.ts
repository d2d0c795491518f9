import type { Backend } from '../../backends/backend.js';
import { Codec, encodeChunk } from '../../codec/index.js';
import { encodePermutePayload } from '../../codec/permute.js';
import { phasedPieces } from '../../chunking/fixed.js';
import type { TensorSegment } from '../../formats/segment.js';
import { chunkHash, MAX_DELTA_DEPTH } from '../format.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import type { ChunkWriter } from './chunk-writer.js';
import type { ImportedFile } from './importer.js';

/**
 * TF.js weights cut by shard boundaries (issue 20, item 2). A weight split
 * over shards is chunked on the whole weight's grid (its parts carry a
 * phase), so every grid cell inside a part is the same chunk as in the
 * weight stored in one piece — except the cell a boundary cuts: its two
 * pieces are chunks of their own. After a model's chunks are stored, each
 * such cell is put together from its pieces and kept as a chunk (or found,
 * when the store has it: the same weight stored whole, or cut elsewhere), and
 * each new piece is rewritten as a slice of it (PERMUTE in the identity order
 * over [1, n]: a few dozen bytes). So the weight deduplicates fully against
 * the same weight in one piece or in other shard sizes, in either order of
 * import; the pieces' hashes and bytes are unchanged.
 */

export interface SliceReport {
  /** Boundary cells put together, and of them the ones the store already had. */
  cells: number;
  cellsFound: number;
  /** Pieces rewritten as slices of their cell. */
  pieces: number;
}

interface Part { file: ImportedFile; seg: TensorSegment; ordinal: number; phase: number }

/** The split weights of the model's files: parts chained by phase (the first at 0, each where the one before ends). */
function splitWeights(files: ImportedFile[]): Part[][] {
  const byName = new Map<string, Part[]>();
  for (const f of files) {
    const rel = f.input.relPath;
    f.input.segmentation.segments.forEach((s, ordinal) => {
      if (s.kind !== 'tensor') return;
      // Parts of one weight live in shards of one manifest, in one folder: two models in other folders may share names.
      const base = `${rel.slice(0, rel.lastIndexOf('/') + 1)}\u0000${s.name.replace(/#part\d+$/, '')}`;
      const list = byName.get(base) ?? [];
      list.push({ file: f, seg: s, ordinal, phase: s.phase ?? 0 });
      byName.set(base, list);
    });
  }
  const out: Part[][] = [];
  for (const parts of byName.values()) {
    if (!parts.some((p) => p.phase > 0)) continue;
    parts.sort((a, b) => a.phase - b.phase);
    // One chain from phase 0 (two weights of one name in one folder: the first chain only).
    const chain: Part[] = [];
    for (const p of parts) if (p.phase === (chain.length ? chain.at(-1)!.phase + chain.at(-1)!.seg.length : 0)) chain.push(p);
    if (chain.length > 1) out.push(chain);
  }
  return out;
}

export async function storeShardSlices(
  backend: Backend, reader: ChunkReader, chunkSize: number, writer: ChunkWriter, files: ImportedFile[],
): Promise<SliceReport> {
  const report: SliceReport = { cells: 0, cellsFound: 0, pieces: 0 };
  for (const chain of splitWeights(files)) {
    const total = chain.at(-1)!.phase + chain.at(-1)!.seg.length;
    // Every piece of the weight, with its chunk id, in weight order (the rows the import wrote for each part).
    const pieces: Array<{ from: number; to: number; id: number }> = [];
    for (const p of chain) {
      const first = p.file.segments[p.ordinal]!.firstChunk;
      phasedPieces(p.phase, p.seg.length, chunkSize).forEach(([from, to], j) => pieces.push({ from, to, id: p.file.chunkIds[first + j]! }));
    }
    for (let b = 1; b < chain.length; b++) {
      const cut = chain[b]!.phase;
      if (cut % chunkSize === 0) continue;
      const start = Math.floor(cut / chunkSize) * chunkSize;
      const end = Math.min(start + chunkSize, total);
      const inCell = pieces.filter((x) => x.from >= start && x.to <= end);
      if (inCell.reduce((n, x) => n + x.to - x.from, 0) !== end - start) continue;
      await sliceCell(backend, reader, writer, chain[0]!.seg, start, inCell, report);
    }
  }
  return report;
}

async function sliceCell(
  backend: Backend, reader: ChunkReader, writer: ChunkWriter, weight: TensorSegment, start: number,
  pieces: Array<{ from: number; to: number; id: number }>, report: SliceReport,
): Promise<void> {
  const fresh = pieces.filter((x) => writer.fresh.has(x.id));
  if (fresh.length === 0) return;
  if ((await backend.chunksWithDependents(fresh.map((x) => x.id))).size > 0) return;
  const cell = Buffer.concat(await reader.read(pieces.map((x) => x.id)));
  const hash = chunkHash(cell);
  let [cellId] = await backend.lookupChunks([hash]);
  let depth = 0;
  report.cells++;
  if (cellId !== undefined) {
    report.cellsFound++;
    depth = (await backend.chunkInfo([cellId]))[0]!.depth;
  } else {
    // Kept as the weight stored whole would keep it (byte planes when the parts are whole elements).
    const enc = encodeChunk({ raw: cell, dtype: weight.dtype === 'UNKNOWN' ? undefined : weight.dtype });
    [cellId] = await backend.insertChunks([{ hash, rawSize: cell.length, storedSize: enc.payload.length, codec: enc.codec, bases: [], depth: 0, data: enc.payload }]);
    // Another importer (PostgreSQL) may have stored the same cell in between, perhaps as a delta: its row is the one kept.
    const info = (await backend.chunkInfo([cellId!]))[0]!;
    depth = info.depth;
    if (info.depth === 0 && info.codec === enc.codec && info.storedSize === enc.payload.length) writer.added(cell.length, enc.payload.length);
    else report.cellsFound++;
  }
  if (depth + 1 > MAX_DELTA_DEPTH) return;
  for (const x of fresh) {
    if (x.id === cellId) continue;
    const payload = encodePermutePayload({ elementBytes: 1, dims: [1, cell.length], perm: [0, 1] }, x.from - start);
    await backend.rewriteChunk(x.id, { codec: Codec.PERMUTE, data: payload, storedSize: payload.length, depth: depth + 1, bases: [cellId!] });
    writer.rewrote(x.id, payload.length);
    report.pieces++;
  }
}
