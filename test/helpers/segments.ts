import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ByteSource } from '../../src/io/file-source.js';
import type { Segment, Segmentation, TensorSegment } from '../../src/formats/segment.js';

/** Checks, independently of the readers' own validateCoverage, that segments are in order and cover [0, size) exactly once. */
export function assertCovers(segments: readonly Segment[], size: number): void {
  let pos = 0;
  for (const [i, s] of segments.entries()) {
    assert.equal(s.offset, pos, `segment ${i} starts at ${s.offset}, expected ${pos}`);
    assert.ok(s.length > 0, `segment ${i} is empty`);
    pos += s.length;
  }
  assert.equal(pos, size, 'segments do not end at the end of the file');
}

export function tensorsOf(seg: Segmentation): TensorSegment[] {
  return seg.segments.filter((s): s is TensorSegment => s.kind === 'tensor');
}

/** The bytes a segment points at. */
export function bytesOf(src: ByteSource | Buffer, s: Segment): Buffer {
  return Buffer.isBuffer(src) ? src.subarray(s.offset, s.offset + s.length) : src.read(s.offset, s.length);
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Repository root (dist/test/helpers → three levels up when compiled, two from the sources). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + dirname(fileURLToPath(import.meta.url)));
    dir = up;
  }
  return dir;
}

/** The shared model corpus (`../shared/corpus` from the repository root), or undefined when absent. */
export function corpusDir(): string | undefined {
  const dir = resolve(repoRoot(), '../shared/corpus');
  return existsSync(dir) ? dir : undefined;
}

/** Silero VAD models shipped in @ricky0123/vad-web. */
export function sileroPath(name: 'silero_vad_legacy.onnx' | 'silero_vad_v5.onnx' | 'silero_vad_v6.onnx'): string {
  return resolve(repoRoot(), 'node_modules/@ricky0123/vad-web/dist', name);
}
