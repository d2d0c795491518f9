import { createHash } from 'node:crypto';
import { constants } from 'node:buffer';
import type { FileRow } from '../../backends/backend.js';
import type { Store } from '../../store/store.js';
import type { ChunkCache } from './chunk-cache.js';

/** Chunks fetched from the store per query. */
const BATCH = 64;

export interface AssembleStats {
  chunks: number;
  cachedChunks: number;
  cachedBytes: number;
}

/**
 * A stored file's bytes in one buffer, for creating a session from memory:
 * chunks come from the decoded-chunk cache when it has them, the rest from
 * the store (decoded, bases first), and the whole is checked against the
 * file's SHA-256 before anyone sees it. A mismatch is an error: a damaged
 * model is never served.
 */
export async function assembleFile(store: Store, file: FileRow, cache: ChunkCache): Promise<{ bytes: Buffer; stats: AssembleStats }> {
  if (file.size > constants.MAX_LENGTH) throw new Error(`${file.path}: ${file.size} bytes is more than one buffer can hold`);
  const ids = await store.backend.fileChunkIds(file.id);
  const reader = store.reader();
  const out = Buffer.allocUnsafeSlow(file.size);
  const hash = createHash('sha256');
  const stats: AssembleStats = { chunks: ids.length, cachedChunks: 0, cachedBytes: 0 };
  let pos = 0;
  const put = (n: number): Buffer => {
    if (pos + n > file.size) throw new Error(`${file.path}: the stored chunks hold more than the file's ${file.size} bytes; the store is damaged`);
    const dst = out.subarray(pos, pos + n);
    pos += n;
    return dst;
  };
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = ids.slice(i, i + BATCH);
    const start = pos;
    const cached = batch.map((id) => cache.get(id));
    const missing = batch.filter((_, k) => cached[k] === undefined);
    const fetched = new Map((missing.length ? await store.backend.getChunks(missing) : []).map((c) => [c.id, c]));
    for (const [k, id] of batch.entries()) {
      const hit = cached[k];
      if (hit) {
        hit.copy(put(hit.length));
        stats.cachedChunks++;
        stats.cachedBytes += hit.length;
        continue;
      }
      const c = fetched.get(id);
      if (!c) throw new Error(`${file.path}: chunk ${id} is missing from the store`);
      const dst = put(c.rawSize);
      await reader.decodeInto(c, dst);
      cache.set(id, dst);
    }
    hash.update(out.subarray(start, pos));
  }
  const digest = hash.digest();
  if (pos !== file.size || !digest.equals(file.sha256)) {
    throw new Error(`${file.path}: reconstructed ${pos} bytes with SHA-256 ${digest.toString('hex')}, expected ${file.size} bytes with ${file.sha256.toString('hex')}; the store is damaged, the model is not served`);
  }
  return { bytes: out, stats };
}
