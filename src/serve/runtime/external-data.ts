/**
 * An ONNX model's external data files (tensors stored outside the protobuf,
 * `data_location = EXTERNAL`), found among the files stored with it: the
 * server hands their bytes to onnxruntime from memory, so such a model is
 * served straight from the store like any other (no file is written).
 */
import { posix } from 'node:path';
import { onnxReader } from '../../formats/index.js';
import { BufferSource } from '../../io/file-source.js';
import type { FileRow } from '../../store/store.js';
import type { CatalogVersion } from '../catalog.js';

/** The format the importer records for an ONNX model's external data file (src/store/import/inputs.ts). */
export const EXTERNAL_DATA_FORMAT = 'onnx-external-data';

/** Bytes the version's external data files hold (counted against the memory budget with the model file). */
export function externalDataBytes(v: CatalogVersion): number {
  return v.files.reduce((n, f) => n + (f.format === EXTERNAL_DATA_FORMAT ? f.size : 0), 0);
}

/**
 * The files `file` (the served ONNX file, whose bytes are `bytes`) names as
 * external data: each with the location as the model writes it (relative to
 * the model file, as onnxruntime looks it up) and the stored file. Read from
 * the model itself whatever the stored files' formats (a Hub commit that
 * replaces only the data file stores it as any file). A location onnxruntime
 * could not match from memory, or a file not stored, is refused here, before
 * onnxruntime is asked.
 */
export function externalDataFiles(v: CatalogVersion, file: FileRow, bytes: Buffer): { location: string; file: FileRow }[] {
  if (v.files.length === 1) return [];
  const out: { location: string; file: FileRow }[] = [];
  for (const c of onnxReader.read(new BufferSource(file.path, bytes)).companions ?? []) {
    // onnxruntime matches in-memory external data by the location string exactly (it strips a leading "./" from our
    // names, not from the model's): only a location already in plain form can be matched.
    const odd = (c.locations ?? []).find((l) => l !== c.relPath);
    if (odd !== undefined) {
      throw new Error(`${file.path} names its external data file "${odd}", not in plain form ("${c.relPath}"): onnxruntime cannot be given it from memory; export the model with the location "${c.relPath}"`);
    }
    const stored = posix.normalize(posix.join(posix.dirname(file.path), c.relPath)).normalize('NFC');
    const f = v.files.find((x) => x.path === stored);
    if (!f) throw new Error(`${file.path} names external data file "${stored}", which is not stored with the model`);
    out.push({ location: c.relPath, file: f });
  }
  return out;
}
