import type { ByteSource } from '../io/file-source.js';
import { ensembleReader } from './ensemble.js';
import { ggufReader } from './gguf.js';
import { hdf5Reader, kerasReader } from './keras.js';
import { onnxReader } from './onnx.js';
import { rawReader } from './raw.js';
import type { FormatReader } from './reader.js';
import { safetensorsReader } from './safetensors.js';
import { tfjsReader } from './tfjs.js';
import { pytorchReader } from './pytorch.js';
import { tfliteReader } from './tflite.js';
import type { Segmentation } from './segment.js';

export { validateCoverage } from './coverage.js';
export { FormatError } from './errors.js';
export type { FormatReader } from './reader.js';
export type { CompanionSegments, LiteralSegment, Segment, Segmentation, TensorSegment } from './segment.js';
export { ensembleReader, ggufReader, hdf5Reader, kerasReader, onnxReader, pytorchReader, rawReader, safetensorsReader, tfjsReader, tfliteReader };

/** How many leading bytes the readers sniff. */
export const SNIFF_BYTES = 64;

/**
 * The model-aware readers, in the order they are tried. GGUF and TFLite first
 * (a magic number is the strongest evidence), then ONNX (extension only), TF.js
 * and ensemble definitions (`.json` with their key in the first bytes), PyTorch (`.pt`/`.pth` that
 * is a zip), Keras (`.keras` that is a zip, `.h5`/`.hdf5` with the HDF5 signature), then safetensors, whose content sniff is a heuristic.
 * `rawReader` is not in the list: it is the fallback when none matches.
 */
export const readers: readonly FormatReader[] = [ggufReader, tfliteReader, onnxReader, tfjsReader, ensembleReader, pytorchReader, kerasReader, hdf5Reader, safetensorsReader];

/** The reader for a file: the first whose sniff accepts it, else `rawReader`. */
export function readerFor(head: Buffer, path: string, size?: number): FormatReader {
  return readers.find((r) => r.sniff(head, path, size)) ?? rawReader;
}

/**
 * Segments a file. A file that sniffs as a model format but fails to parse
 * throws the reader's FormatError: storing it as raw bytes would hide
 * corruption.
 */
export function segmentFile(src: ByteSource, path: string): Segmentation {
  const head = src.read(0, Math.min(SNIFF_BYTES, src.size));
  return readerFor(head, path, src.size).read(src);
}
