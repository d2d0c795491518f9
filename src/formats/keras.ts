import { extname } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { layoutSegments } from './coverage.js';
import { HDF5_SIGNATURE, readHdf5Datasets, type Hdf5Dataset } from './hdf5.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';
import { readZipDirectory } from './zip.js';

const H5_EXTENSIONS: ReadonlySet<string> = new Set(['.h5', '.hdf5']);
/** The weights inside a Keras 3 `.keras` zip. */
const KERAS_WEIGHTS = 'model.weights.h5';

function tensorsOf(datasets: Hdf5Dataset[]): TensorSegment[] {
  return datasets.map((d) => ({
    kind: 'tensor', offset: d.offset, length: d.length, name: d.name, dtype: d.dtype, shape: d.dtype === 'UNKNOWN' ? [d.length] : d.shape,
  }));
}

/**
 * HDF5 weight files (Keras 2 `.h5`, any `.h5`/`.hdf5` with the HDF5 signature
 * at byte 0): each contiguous numeric dataset is a tensor segment named by its
 * path; the rest (superblock, object headers, B-trees, heaps, attributes,
 * chunked or filtered datasets) is literal. See hdf5.md.
 */
export const hdf5Reader: FormatReader = {
  format: 'hdf5',

  sniff(head: Buffer, path: string): boolean {
    return H5_EXTENSIONS.has(extname(path).toLowerCase()) && head.length >= 8 && head.subarray(0, 8).equals(HDF5_SIGNATURE);
  },

  read(src: ByteSource): Segmentation {
    return { format: 'hdf5', segments: layoutSegments(src.name, src.size, tensorsOf(readHdf5Datasets(src))) };
  },
};

/**
 * Keras 3 `.keras` archives: a zip of config.json, metadata.json and
 * model.weights.h5. When the weights entry is stored (Keras writes it so),
 * its datasets are read in place inside the zip and become tensor segments;
 * a deflated weights entry leaves the whole file literal (content-defined
 * chunking), since its bytes are not the tensors'.
 */
export const kerasReader: FormatReader = {
  format: 'keras',

  sniff(head: Buffer, path: string): boolean {
    return extname(path).toLowerCase() === '.keras' && head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
  },

  read(src: ByteSource): Segmentation {
    const dir = readZipDirectory(src, 'keras');
    const weights = dir.entries.find((e) => e.name === KERAS_WEIGHTS);
    const tensors = weights && weights.method === 0 && weights.compressedSize >= 8
      ? tensorsOf(readHdf5Datasets(src, weights.dataOffset, weights.dataOffset + weights.compressedSize))
      : [];
    return { format: 'keras', segments: layoutSegments(src.name, src.size, tensors) };
  },
};
