/**
 * The CPU work of an import, as tasks a worker thread (or the importing
 * thread itself) runs: the chunk hashes of a batch of pieces, and the
 * encoding of its new chunks. Results are packed into one buffer each, so a
 * worker hands them back by transfer rather than by copy.
 */
import { encodeChunkInto } from '../../codec/index.js';
import type { EncodeInput, Encoded } from '../../codec/index.js';
import { FINGERPRINT_BYTES, valueFingerprint } from '../../codec/fingerprint.js';
import { CHUNK_HASH_BYTES, chunkHash } from '../format.js';
import { hashFileSync } from '../../io/hash-file-sync.js';

export type ChunkTask =
  /** Answers at once (an empty result): the thread has loaded (ImportThreads waits for it before sending work). */
  | { op: 'ping' }
  | { op: 'hash'; pieces: Uint8Array[] }
  /** Whole files' SHA-256, each read by the thread itself (whole-file dedup: file-dedup.ts). */
  | { op: 'hashFiles'; paths: string[] }
  /** `out`: where to pack the results when they fit (a buffer passed back and forth by transfer, reused from task to task). */
  | { op: 'encode'; inputs: EncodeInput[]; out?: ArrayBuffer };

/** Hashes of `pieces`, CHUNK_HASH_BYTES each, end to end. */
export function hashPieces(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.length * CHUNK_HASH_BYTES);
  pieces.forEach((p, i) => out.set(chunkHash(p), i * CHUNK_HASH_BYTES));
  return out;
}

/** SHA-256 of each file, 32 bytes each, end to end. */
export function hashFiles(paths: string[]): Uint8Array {
  const out = new Uint8Array(paths.length * 32);
  paths.forEach((p, i) => out.set(hashFileSync(p), i * 32));
  return out;
}

/**
 * Per result: codec (1 byte), flags (1 byte: 1 = uses base, 2 = uses cast
 * source, 4 = has a fingerprint), payload length (4 bytes LE), fingerprint
 * (FINGERPRINT_BYTES, zeros when none).
 */
const ENTRY = 6 + FINGERPRINT_BYTES;

/** The most bytes encodePacked(inputs) takes: every payload as big as its raw chunk (never bigger). */
export function packedBound(inputs: readonly EncodeInput[]): number {
  return 4 + inputs.reduce((n, i) => n + ENTRY + i.raw.length, 0);
}

/**
 * Encodes every input; the results packed as [count u32][entries][payloads],
 * into `out` when it has room for the worst case (every payload as big as its
 * raw chunk; the returned view is then over `out`), else into a new buffer.
 * Each payload is written in place, never copied.
 */
export function encodePacked(inputs: EncodeInput[], out?: ArrayBuffer): Uint8Array {
  const head = 4 + inputs.length * ENTRY;
  const bound = packedBound(inputs);
  const buf = out && out.byteLength >= bound ? Buffer.from(out, 0, bound) : Buffer.allocUnsafeSlow(bound);
  buf.writeUInt32LE(inputs.length, 0);
  let at = head;
  inputs.forEach((input, i) => {
    const fp = valueFingerprint(input.raw, input.dtype);
    const r = encodeChunkInto(input, buf.subarray(at));
    const e = 4 + i * ENTRY;
    buf[e] = r.codec;
    buf[e + 1] = (r.usesBase ? 1 : 0) | (r.usesCastSource ? 2 : 0) | (fp ? 4 : 0);
    buf.writeUInt32LE(r.length, e + 2);
    if (fp) fp.copy(buf, e + 6);
    at += r.length;
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, at);
}

/** The results encodePacked packed (payloads are views into `packed`). */
export function unpackEncoded(packed: Uint8Array): Encoded[] {
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.length);
  const n = b.readUInt32LE(0);
  let at = 4 + n * ENTRY;
  const out: Encoded[] = [];
  for (let i = 0; i < n; i++) {
    const e = 4 + i * ENTRY;
    const len = b.readUInt32LE(e + 2);
    out.push({
      codec: b[e]! as Encoded['codec'], usesBase: (b[e + 1]! & 1) !== 0, usesCastSource: (b[e + 1]! & 2) !== 0, payload: b.subarray(at, at + len),
      fingerprint: b[e + 1]! & 4 ? Buffer.from(b.subarray(e + 6, e + 6 + FINGERPRINT_BYTES)) : undefined,
    });
    at += len;
  }
  return out;
}

/** Runs one task (piscina calls this in a worker thread): hashes, or packed results (over the task's `out` when they fit). */
export function runChunkTask(task: ChunkTask): Uint8Array {
  if (task.op === 'ping') return new Uint8Array(0);
  if (task.op === 'hash') return hashPieces(task.pieces);
  if (task.op === 'hashFiles') return hashFiles(task.paths);
  return encodePacked(task.inputs, task.out);
}
