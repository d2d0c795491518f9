import type { ByteSource } from '../io/file-source.js';
import { validateCoverage } from './coverage.js';
import type { FormatReader } from './reader.js';
import type { Segmentation } from './segment.js';

/** The fallback for files no model-aware reader claims: the whole file is one literal segment (none when it is empty). */
export const rawReader: FormatReader = {
  format: 'raw',
  sniff: () => true,
  read(src: ByteSource): Segmentation {
    const segments: Segmentation['segments'] = src.size > 0 ? [{ kind: 'literal', offset: 0, length: src.size }] : [];
    validateCoverage(segments, src.size, src.name);
    return { format: 'raw', segments };
  },
};
