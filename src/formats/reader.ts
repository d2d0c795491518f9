import type { ByteSource } from '../io/file-source.js';
import type { Segmentation } from './segment.js';

/** One module per format implements this. */
export interface FormatReader {
  readonly format: string;
  /**
   * Whether the file looks like this format, from its first bytes (up to 64,
   * fewer when the file is shorter) and its path. A file that sniffs as a
   * format but fails to parse is rejected, not stored as raw bytes.
   * `size`, when given, is the file size: it lets a reader sniffing by
   * content alone (no telling extension) check a length field against it.
   */
  sniff(head: Buffer, path: string, size?: number): boolean;
  /**
   * Segments covering every byte of `src` exactly once, in file order.
   * Throws FormatError (naming src.name and the cause) on malformed input.
   * Never allocates memory sized by a field of the file without bounding it
   * by the file size (or a fixed limit) first.
   */
  read(src: ByteSource): Segmentation;
}
