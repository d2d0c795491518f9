import type { Backend, SegmentRow } from '../../backends/backend.js';
import { contentKey } from '../../backends/backend.js';
import type { Segment } from '../../formats/segment.js';
import { segmentRowOf } from '../format.js';
import type { InputFile } from './inputs.js';
import type { ChunkWork } from './chunk-work.js';
import { sameShape } from './encoder.js';

/**
 * Whole-file deduplication: a file that a stored model already holds byte for
 * byte (same size and SHA-256, found through the files_content index) and
 * that its reader segments as the stored rows say becomes a file of the new
 * model by those rows. Nothing of it is cut, hashed per chunk, looked up or
 * encoded. A package version repeats most files of the one before: in the
 * npm corpus of 25 versions, 2,362 of 3,563 files (596 of 991 MB).
 */

/**
 * Files up to this size are hashed before they are cut, when a stored file
 * has their size. Hashing first puts a pass over the file ahead of the
 * pipeline (~25 ms at this size); a bigger file of a stored size is most often
 * a fine-tune (same shapes, other values), which would pay it for nothing.
 */
export const PREHASH_MAX = 32 << 20;

/** A stored file with the input's bytes: the rows the new file takes. */
export interface StoredCopy {
  fileId: number;
  sha256: Buffer;
  segments: SegmentRow[];
  chunkIds: number[];
}

/** Whether the stored rows describe the file as its reader does now (a newer reader may see tensors an older one stored as bytes). */
export function sameSegments(segments: readonly Segment[], rows: readonly SegmentRow[]): boolean {
  if (segments.length !== rows.length) return false;
  return segments.every((seg, i) => {
    const want = segmentRowOf(seg, i);
    const r = rows[i]!;
    return r.ordinal === i && r.kind === want.kind && r.fileOffset === want.fileOffset && r.length === want.length
      && r.tensorName === want.tensorName && r.dtype === want.dtype
      && (r.shape === null || want.shape === null ? r.shape === want.shape : sameShape(r.shape, want.shape));
  });
}

/**
 * The inputs some stored file already holds, each with that file's rows.
 * Queries: one each for the sizes, the contents, the segments and the chunk
 * lists of the files found (more only past a few hundred files).
 */
export async function storedCopies(backend: Backend, inputs: readonly InputFile[], work: ChunkWork): Promise<Map<InputFile, StoredCopy>> {
  const out = new Map<InputFile, StoredCopy>();
  const candidates = inputs.filter((f) => f.stored === undefined && f.size > 0 && f.size <= PREHASH_MAX);
  if (candidates.length === 0) return out;
  const sizes = await backend.storedFileSizes(candidates.map((f) => f.size));
  const toHash = candidates.filter((f) => sizes.has(f.size));
  if (toHash.length === 0) return out;
  const digests = await work.hashFiles(toHash.map((f) => ({ path: f.absPath, size: f.size })));
  const hashed = toHash.map((input, i) => ({ input, size: input.size, sha256: digests[i]! }));
  const found = await backend.filesWithContent(hashed);
  const withCopy = hashed.flatMap((h) => {
    const fileId = found.get(contentKey(h.size, h.sha256));
    return fileId === undefined ? [] : [{ ...h, fileId }];
  });
  if (withCopy.length === 0) return out;
  const segmentsOf = await backend.listSegmentsOf(withCopy.map((h) => h.fileId));
  const matches = withCopy.filter((h) => sameSegments(h.input.segmentation.segments, segmentsOf.get(h.fileId)!))
    .map((h) => ({ ...h, segments: segmentsOf.get(h.fileId)! }));
  const chunkIds = await backend.fileChunkIdsOf(matches.map((m) => m.fileId));
  for (const m of matches) out.set(m.input, { fileId: m.fileId, sha256: m.sha256, segments: m.segments, chunkIds: chunkIds.get(m.fileId) ?? [] });
  return out;
}
