import { createHash } from 'node:crypto';
import { FileSource } from './file-source.js';

const BLOCK = 8 << 20;

/** SHA-256 of a file, read in 8 MiB pieces (never whole: files can exceed 2 GiB). */
export function hashFileSync(path: string): Buffer {
  const src = new FileSource(path);
  try {
    const h = createHash('sha256');
    for (let off = 0; off < src.size; off += BLOCK) h.update(src.read(off, Math.min(BLOCK, src.size - off)));
    return h.digest();
  } finally {
    src.close();
  }
}
