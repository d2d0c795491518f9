import type { FileRow, ModelRow, SegmentRow, TensorRow } from './backend.js';
import { SEG_LITERAL, SEG_TENSOR } from '../store/format.js';

/**
 * Rows as both SQL backends return them (the same schema, column for column)
 * and their mapping onto the Backend interface's types.
 */

export interface ModelDbRow {
  id: number; name: string; version: number; format: string; base_model_id: number | null;
  created_at: string; logical_bytes: number; new_raw_bytes: number; new_stored_bytes: number;
  delta_raw_bytes: number; delta_stored_bytes: number; metadata_json: string | null; unavailable: string | null;
}
export interface FileDbRow { id: number; model_id: number; path: string; size: number; sha256: Buffer; format: string }
export interface SegmentDbRow {
  ordinal: number; kind: number; tensor_name: string | null; dtype: string | null; shape_json: string | null;
  file_offset: number; length: number; first_chunk: number; chunk_count: number;
}
export interface TensorDbRow {
  model_id: number; file_id: number; tensor_name: string; dtype: string; shape_json: string; length: number;
  first_chunk: number; chunk_count: number;
}

/**
 * The columns each row type reads, named rather than `*`: PostgreSQL keeps
 * statements prepared per connection, and a prepared `SELECT *` fails once
 * another process's migration has added a column to its table.
 */
export const MODEL_COLUMNS = `id, name, version, format, base_model_id, created_at, logical_bytes, new_raw_bytes, new_stored_bytes,
  delta_raw_bytes, delta_stored_bytes, metadata_json, unavailable`;
export const FILE_COLUMNS = 'id, model_id, path, size, sha256, format';
export const SEGMENT_COLUMNS = 'ordinal, kind, tensor_name, dtype, shape_json, file_offset, length, first_chunk, chunk_count';

export function tensorFromDb(r: TensorDbRow): TensorRow {
  return {
    modelId: r.model_id, fileId: r.file_id, name: r.tensor_name, dtype: r.dtype, shape: JSON.parse(r.shape_json) as number[],
    length: r.length, firstChunk: r.first_chunk, chunkCount: r.chunk_count,
  };
}

export const TENSOR_COLUMNS = `f.model_id, s.file_id, s.tensor_name, s.dtype, s.shape_json, s.length, s.first_chunk, s.chunk_count`;

export function modelFromDb(r: ModelDbRow): ModelRow {
  return {
    id: r.id, name: r.name, version: r.version, format: r.format, baseModelId: r.base_model_id,
    createdAt: r.created_at, logicalBytes: r.logical_bytes, newRawBytes: r.new_raw_bytes,
    newStoredBytes: r.new_stored_bytes, deltaRawBytes: r.delta_raw_bytes,
    deltaStoredBytes: r.delta_stored_bytes, metadataJson: r.metadata_json, unavailable: r.unavailable,
  };
}

export function fileFromDb(r: FileDbRow): FileRow {
  return { id: r.id, modelId: r.model_id, path: r.path, size: r.size, sha256: r.sha256, format: r.format };
}

export function segmentFromDb(r: SegmentDbRow): SegmentRow {
  return {
    ordinal: r.ordinal, kind: r.kind === SEG_TENSOR ? SEG_TENSOR : SEG_LITERAL, tensorName: r.tensor_name, dtype: r.dtype,
    shape: r.shape_json ? (JSON.parse(r.shape_json) as number[]) : null,
    fileOffset: r.file_offset, length: r.length, firstChunk: r.first_chunk, chunkCount: r.chunk_count,
  };
}

/** Consecutive slices of at most `size` items. */
export function* batches<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
