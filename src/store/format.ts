/**
 * The store format's constants, each defined once here and cited by name in
 * the specification, src/store/FORMAT.md (test/store/format.test.ts checks
 * that the two agree). Codec ids stay with the codecs (src/codec/ids.ts) and
 * are re-exported so that this module indexes the whole format.
 */
import { createHash } from 'node:crypto';
import { MIGRATIONS } from '../backends/sqlite/schema.js';
import type { Segment } from '../formats/segment.js';
import type { SegmentRow } from '../backends/backend.js';

export { Codec, type CodecId, type CodecName } from '../codec/ids.js';

/** `segments.kind` of bytes that are not a tensor's (headers, graphs, metadata): cut by FastCDC. */
export const SEG_LITERAL = 0;
/** `segments.kind` of a tensor's bytes: cut into fixed pieces from the tensor's first byte. */
export const SEG_TENSOR = 1;
export type SegmentKindCode = typeof SEG_LITERAL | typeof SEG_TENSOR;

/** The code stored in `segments.kind` for a reader's segment kind. */
export function segmentKindCode(kind: Segment['kind']): SegmentKindCode {
  return kind === 'tensor' ? SEG_TENSOR : SEG_LITERAL;
}

/** The reader's segment kind for a stored `segments.kind` (any code but SEG_TENSOR reads as literal). */
export function segmentKind(code: number): Segment['kind'] {
  return code === SEG_TENSOR ? 'tensor' : 'literal';
}

/** A stored segment row as the reader's segment it was made from (a TF.js shard's phase is not stored: cutting it again needs the file). */
export function segmentOfRow(s: SegmentRow): Segment {
  return segmentKind(s.kind) === 'tensor'
    ? { kind: 'tensor', offset: s.fileOffset, length: s.length, name: s.tensorName ?? '', dtype: s.dtype ?? 'UNKNOWN', shape: s.shape ?? [] }
    : { kind: 'literal', offset: s.fileOffset, length: s.length };
}

/** The row a reader's segment is stored as (its chunks not yet known: firstChunk and chunkCount 0). */
export function segmentRowOf(seg: Segment, ordinal: number): SegmentRow {
  const t = seg.kind === 'tensor' ? seg : undefined;
  return {
    ordinal, kind: segmentKindCode(seg.kind), tensorName: t?.name ?? null, dtype: t?.dtype ?? null, shape: t?.shape ?? null,
    fileOffset: seg.offset, length: seg.length, firstChunk: 0, chunkCount: 0,
  };
}

/**
 * Deltas never stack deeper than this: reading a chunk decodes at most this
 * many bases below it, so export stays fast however long a lineage grows.
 */
export const MAX_DELTA_DEPTH = 4;

/** `settings` key of the store's tensor chunk size (decimal bytes), fixed by the first import. */
export const SETTING_CHUNK_SIZE = 'chunk_size';

/** `settings` key present (`1`) once `model_sharing` holds every model's rows (src/store/inspect/sharing-index.ts). */
export const SETTING_SHARING_INDEX = 'sharing_index';

/**
 * Default tensor chunk size. Chosen by measurement on real models (see the
 * README's table): smaller pieces find little more sharing in practice and
 * cost more rows and hashing calls per byte.
 */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MIN_CHUNK_SIZE = 4 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

/** A chunk's identity (`chunks.hash`): this digest of its raw bytes. */
export const CHUNK_HASH_ALGORITHM = 'sha256';
/** Bytes of a chunk hash. */
export const CHUNK_HASH_BYTES = 32;

/** The chunk id of raw bytes. */
export function chunkHash(raw: Uint8Array): Buffer {
  return createHash(CHUNK_HASH_ALGORITHM).update(raw).digest();
}

/**
 * The schema version a store at this code's level records in
 * `schema_migrations`: the number of migrations (PostgreSQL's list has the
 * same count, test/backends/schema.test.ts).
 */
export const SCHEMA_VERSION = MIGRATIONS.length;
