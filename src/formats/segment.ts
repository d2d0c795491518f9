/**
 * A format reader turns a file into an ordered list of segments that cover
 * every byte of the file exactly once. Tensor segments are chunked aligned to
 * their first byte (so equal tensors give equal chunks wherever they sit);
 * literal segments (headers, graphs, metadata, padding) go through FastCDC.
 */
export interface LiteralSegment {
  kind: 'literal';
  /** Byte offset of the segment in its file. */
  offset: number;
  length: number;
}

export interface TensorSegment {
  kind: 'tensor';
  offset: number;
  length: number;
  /** Tensor name as the file spells it. */
  name: string;
  /**
   * Canonical dtype, safetensors spelling where one exists: F64 F32 F16 BF16
   * F8_E4M3 F8_E5M2 I64 I32 I16 I8 U64 U32 U16 U8 BOOL C64 C128; GGUF
   * block-quantized types keep their GGUF names (Q4_0, Q8_0, …); anything a
   * reader cannot name is 'UNKNOWN'.
   */
  dtype: string;
  /** Dimensions, outermost first. */
  shape: number[];
  /**
   * For a part of a tensor split across files (TF.js shards): where this
   * part starts within the whole tensor. Fixed chunks are cut on the whole
   * tensor's grid, so they match the same tensor stored in one piece.
   */
  phase?: number;
}

export type Segment = LiteralSegment | TensorSegment;

/** Where a segmentation of one file points into another file (ONNX external data). */
export interface CompanionSegments {
  /** Path of the companion file relative to the directory of the file that names it. */
  relPath: string;
  /** Tensor segments inside the companion; gaps are filled with literal segments by the caller. */
  tensors: TensorSegment[];
  /** Format recorded for the companion file (default 'onnx-external-data'). */
  format?: string;
  /** The location strings the file names it by, as written (relPath is their normalized form). */
  locations?: string[];
}

export interface Segmentation {
  /** Format name: 'safetensors' | 'onnx' | 'gguf' | 'raw' | … */
  format: string;
  segments: Segment[];
  /** Other files whose bytes this file describes (ONNX external data files). */
  companions?: CompanionSegments[];
}
