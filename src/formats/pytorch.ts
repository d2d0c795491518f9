import { extname } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { ByteSource } from '../io/file-source.js';
import { elementCount, layoutSegments } from './coverage.js';
import { DTYPE_BITS } from './dtypes.js';
import { FormatError } from './errors.js';
import { readPickle } from './pickle.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';
import { torchTensors, type TorchTensorRef } from './torch-pickle.js';
import { readZipDirectory, type ZipEntry } from './zip.js';

/** Storage entries of a torch.save zip: `<archive>/data/<n>` (one top-level directory, a decimal key). */
const STORAGE_ENTRY = /^([^/]+)\/data\/(\d+)$/;
const PICKLE_ENTRY = /^([^/]+)\/data\.pkl$/;

const EXTENSIONS: ReadonlySet<string> = new Set(['.pt', '.pth']);

/** data.pkl is read whole: a state dict of 100,000 tensors pickles to about 20 MB. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/**
 * PyTorch zip checkpoints (torch.save since 1.6). The archive is read by its
 * central directory (zip.ts); data.pkl is read by a symbolic pickle machine
 * that runs nothing (pickle.ts) and the tensors found in it (torch-pickle.ts)
 * give every storage entry its dtype, and each contiguous tensor over it its
 * own segment with its state-dict name and shape, so that `.pt` weights get
 * byte planes, deltas and cast-aware deltas as safetensors weights do, and
 * chunk exactly as the same tensors in a safetensors file. See pytorch.md.
 */
export const pytorchReader: FormatReader = {
  format: 'pytorch',

  sniff(head: Buffer, path: string): boolean {
    if (!EXTENSIONS.has(extname(path).toLowerCase())) return false;
    return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  },

  read(src: ByteSource): Segmentation {
    const dir = readZipDirectory(src, 'pytorch');
    const pickles = dir.entries.filter((e) => PICKLE_ENTRY.test(e.name));
    if (pickles.length !== 1) throw new FormatError(src.name, pickles.length === 0 ? 'no <archive>/data.pkl entry: not a torch.save archive' : 'more than one data.pkl entry');
    const pkl = pickles[0]!;
    const prefix = PICKLE_ENTRY.exec(pkl.name)![1]!;
    const refs = torchTensors(readPickle(entryBytes(src, pkl), src.name, 'data.pkl'), src.name);
    const bigEndian = isBigEndian(src, dir.entries.find((x) => x.name === `${prefix}/byteorder`));
    const byKey = new Map<string, TorchTensorRef[]>();
    for (const r of refs) {
      const list = byKey.get(r.storage.key);
      if (list) list.push(r);
      else byKey.set(r.storage.key, [r]);
    }
    const tensors: TensorSegment[] = [];
    for (const e of dir.entries) {
      const m = STORAGE_ENTRY.exec(e.name);
      if (e.method !== 0 || !m || m[1] !== prefix) continue;
      tensors.push(...storageSegments(src.name, e, byKey.get(m[2]!) ?? [], bigEndian));
    }
    return { format: 'pytorch', segments: layoutSegments(src.name, src.size, tensors) };
  },
};

/** An entry's uncompressed bytes (data.pkl is stored by torch.save; a deflated one is inflated, bounded). */
function entryBytes(src: ByteSource, e: ZipEntry): Buffer {
  if (e.uncompressedSize > MAX_PICKLE_BYTES || e.compressedSize > MAX_PICKLE_BYTES) {
    throw new FormatError(src.name, `${e.name} is ${Math.max(e.uncompressedSize, e.compressedSize)} bytes (at most ${MAX_PICKLE_BYTES})`);
  }
  const raw = src.read(e.dataOffset, e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method !== 8) throw new FormatError(src.name, `${e.name}: compression method ${e.method} is not supported (stored or deflate)`);
  try {
    const out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) });
    if (out.length !== e.uncompressedSize) throw new Error(`${out.length} bytes, not ${e.uncompressedSize}`);
    return out;
  } catch (err) {
    throw new FormatError(src.name, `${e.name}: deflate data is corrupt (${(err as Error).message})`);
  }
}

/** torch.save writes `<archive>/byteorder` ("little" or "big") since 1.12; older archives are little-endian. */
function isBigEndian(src: ByteSource, e: ZipEntry | undefined): boolean {
  if (!e || e.method !== 0 || e.compressedSize > 16) return false;
  return src.read(e.dataOffset, e.compressedSize).toString('latin1').trim() === 'big';
}

/** Row-major strides, ignoring dimensions of size 1 (whose stride torch leaves free). */
function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/**
 * The tensor segments of one storage entry: each contiguous tensor over it
 * that does not overlap an earlier-starting (or, at the same start, larger)
 * one gets its own segment; the bytes between them are 1-D segments of the
 * storage's dtype. A storage no tensor names is one 1-D segment.
 */
function storageSegments(file: string, e: ZipEntry, refs: TorchTensorRef[], bigEndian: boolean): TensorSegment[] {
  const length = e.compressedSize;
  if (length === 0) return [];
  const whole = (offset: number, len: number, name: string): TensorSegment => ({ kind: 'tensor', offset: e.dataOffset + offset, length: len, name, dtype: 'UNKNOWN', shape: [len] });
  if (refs.length === 0 || bigEndian) return [whole(0, length, refs[0]?.names[0] ?? e.name)];
  const { dtype, numel } = refs[0]!.storage;
  const bytes = DTYPE_BITS.get(dtype)! / 8;
  for (const r of refs) {
    if (r.storage.dtype !== dtype || r.storage.numel !== numel) {
      throw new FormatError(file, `data.pkl: tensors '${refs[0]!.names[0]}' and '${r.names[0]}' describe storage ${e.name} differently`);
    }
  }
  if (numel * bytes !== length) {
    throw new FormatError(file, `data.pkl: storage ${e.name} holds ${numel} ${dtype} elements (${numel * bytes} bytes) but the entry has ${length} bytes`);
  }
  const views: Array<{ start: number; elements: number; ref: TorchTensorRef }> = [];
  for (const r of refs) {
    const elements = elementCount(r.shape);
    if (elements === undefined) throw new FormatError(file, `data.pkl: tensor '${r.names[0]}' has too many elements`);
    if (elements === 0) continue;
    let last = r.offset;
    for (let i = 0; i < r.shape.length; i++) last += (r.shape[i]! - 1) * r.stride[i]!;
    if (!Number.isSafeInteger(last) || last >= numel) {
      throw new FormatError(file, `data.pkl: tensor '${r.names[0]}' reaches element ${last} of storage ${e.name}, which has ${numel}`);
    }
    if (isContiguous(r.shape, r.stride)) views.push({ start: r.offset, elements, ref: r });
  }
  views.sort((a, b) => a.start - b.start || b.elements - a.elements);
  const out: TensorSegment[] = [];
  const plain = (from: number, to: number): TensorSegment => ({
    kind: 'tensor', offset: e.dataOffset + from * bytes, length: (to - from) * bytes,
    name: from === 0 && to === numel ? e.name : `${e.name}[${from}:${to}]`, dtype, shape: [to - from],
  });
  let at = 0;
  for (const v of views) {
    if (v.start < at) continue;
    if (v.start > at) out.push(plain(at, v.start));
    out.push({ kind: 'tensor', offset: e.dataOffset + v.start * bytes, length: v.elements * bytes, name: v.ref.names[0]!, dtype, shape: v.ref.shape });
    at = v.start + v.elements;
  }
  if (at < numel) out.push(plain(at, numel));
  return out;
}
