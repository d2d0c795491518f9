import { extname } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { layoutSegments } from './coverage.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';
import { readZipDirectory } from './zip.js';

/** Storage entries of a torch.save zip: `<archive>/data/<n>` (one top-level directory, a decimal key). */
const STORAGE_ENTRY = /^[^/]+\/data\/\d+$/;

const EXTENSIONS: ReadonlySet<string> = new Set(['.pt', '.pth']);

/**
 * PyTorch zip checkpoints (torch.save since 1.6, `_use_new_zipfile_serialization`).
 * The archive is read by its central directory only (see zip.ts); nothing is
 * unpickled or decompressed. Each `<archive>/data/<n>` entry stored with
 * method 0 is a tensor segment over exactly its data bytes, named by the entry
 * name, dtype 'UNKNOWN' (the dtype lives in data.pkl, which we do not
 * unpickle) and shape [byteLength]. Everything else (local headers, data.pkl,
 * version, byteorder, compressed entries, data descriptors, padding, the
 * central directory, ZIP64 records, EOCD) is literal.
 */
export const pytorchReader: FormatReader = {
  format: 'pytorch',

  sniff(head: Buffer, path: string): boolean {
    if (!EXTENSIONS.has(extname(path).toLowerCase())) return false;
    return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  },

  read(src: ByteSource): Segmentation {
    const dir = readZipDirectory(src, 'pytorch');
    const tensors: TensorSegment[] = [];
    for (const e of dir.entries) {
      if (e.method !== 0 || !STORAGE_ENTRY.test(e.name)) continue;
      tensors.push({ kind: 'tensor', offset: e.dataOffset, length: e.compressedSize, name: e.name, dtype: 'UNKNOWN', shape: [e.compressedSize] });
    }
    return { format: 'pytorch', segments: layoutSegments(src.name, src.size, tensors) };
  },
};
