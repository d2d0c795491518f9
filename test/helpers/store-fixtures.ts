import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from './segments.js';
import { Store } from '../../src/store/store.js';

/** The repository root (tests run from dist/test/…). */
export const REPO_ROOT = repoRoot();

/** The shared model corpus beside the repository, when this machine has it. */
export function corpusDir(): string | undefined {
  const dir = resolve(REPO_ROOT, '../shared/corpus/trained-digits');
  return existsSync(dir) ? dir : undefined;
}

export const CORPUS_ABSENT = 'skipped: ../shared/corpus/trained-digits is absent on this machine';

export const VAD_DIR = join(REPO_ROOT, 'node_modules/@ricky0123/vad-web/dist');
export const VAD_MODELS = ['silero_vad_legacy.onnx', 'silero_vad_v5.onnx', 'silero_vad_v6.onnx'].map((f) => join(VAD_DIR, f));

export function tempDir(prefix = 'tessera-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh SQLite store in a temporary directory. */
export async function tempStore(): Promise<{ store: Store; dir: string; path: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'store.db');
  const store = await Store.open(path);
  return { store, dir, path, cleanup: async () => { await store.close(); cleanup(); } };
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Deterministic pseudo-random bytes (xorshift32), for reproducible test data. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const v = r();
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return b;
}

/** Float32 weights roughly N(0, std), deterministic. */
export function randomWeights(count: number, seed: number, std = 0.02): Buffer {
  const r = prng(seed);
  const f = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    // Sum of uniforms: close enough to a normal for test data.
    const u = (r() + r() + r() + r()) / 4294967296 - 2;
    f[i] = u * std * 1.73;
  }
  return Buffer.from(f.buffer);
}
