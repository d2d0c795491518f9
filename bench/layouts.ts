/**
 * How much weight data is the same values in another layout or precision
 * (issue 20, item 4's measurement, before any transform is built):
 * `npm run bench -- --layouts DIR[,DIR…]` reads every model file below the
 * folders with the store's format readers (external data and TF.js shards
 * included), keeps each distinct float tensor (F32, F16) once, and groups
 * tensors whose values are the same multiset once rounded to float16 (an
 * order-independent fingerprint: a transposed or permuted copy, and a
 * float16 copy of a float32 tensor, land in one group). In a group it checks
 * what relates each tensor to the group's first: a float16 cast in the same
 * order, a 2-D transpose, a permutation of a kernel's axes (OIHW, HWIO,
 * OHWI, IHWO…), each checked exactly (bit for bit, or as the float16 cast of
 * the float32 values), or equal only at float16 precision. The bytes of the
 * tensors after each group's first are what a transform could store for
 * nearly nothing.
 * Tables only, no assertions.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { f32ToF16Bits } from '../src/codec/cast.js';
import { table } from '../src/cli/format.js';
import { segmentFile } from '../src/formats/index.js';
import type { TensorSegment } from '../src/formats/index.js';
import { FileSource } from '../src/io/file-source.js';
import { int, pct } from './units.js';

/** Tensors smaller than this are left out: biases and scalars, which match by accident. */
const MIN_ELEMENTS = 256;

interface Tensor {
  file: string;
  name: string;
  format: string;
  dtype: 'F32' | 'F16';
  shape: number[];
  bytes: number;
  /** The values rounded to float16 (bit patterns), in stored order. */
  half: Uint16Array;
  /** The stored bit patterns (32-bit for F32, 16-bit for F16), in stored order. */
  raw: Uint32Array | Uint16Array;
}

export type Relation =
  | 'float16 cast, same layout' | 'float16 cast, transposed' | 'float16 cast, axes permuted'
  | 'exact, transposed' | 'exact, axes permuted'
  | 'equal at float16 precision only' | 'same values, other order';

export interface LayoutReport {
  files: number;
  tensors: number;
  floatBytes: number;
  /** Bytes of tensors that repeat another byte for byte (what lossless dedup already keeps once). */
  identicalBytes: number;
  uniqueTensors: number;
  uniqueBytes: number;
  /** Per relation: tensors and bytes that are another distinct tensor's values in that relation. */
  relations: Record<Relation, { tensors: number; bytes: number; formats: Record<string, number> }>;
  seconds: number;
}

function* modelFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* modelFiles(p);
    else if (e.isFile()) yield p;
  }
}

function toHalf(dtype: 'F32' | 'F16', b: Buffer): Uint16Array {
  if (dtype === 'F16') return new Uint16Array(Uint8Array.prototype.slice.call(b, 0, b.length & ~1).buffer);
  const w = new Int32Array(Uint8Array.prototype.slice.call(b, 0, b.length & ~3).buffer);
  const out = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = f32ToF16Bits(w[i]!);
  return out;
}

/** An order-independent fingerprint of the values: two sums of mixed 16-bit values, and the count. */
function fingerprint(h: Uint16Array): string {
  let a = 0;
  let b = 0;
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    a = (a + Math.imul(v ^ 0x9e37, 0x85ebca6b)) | 0;
    b = (b + Math.imul((v * 0x27d4eb2d) ^ (v >>> 3), 0xc2b2ae35)) | 0;
  }
  return `${h.length}:${a >>> 0}:${b >>> 0}`;
}

function sameOrder(a: Uint16Array, b: Uint16Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `b` is `a` with its axes permuted by `perm` (b's axis k is a's axis perm[k]). */
function permutedEqual(a: ArrayLike<number>, shapeA: number[], b: ArrayLike<number>, perm: number[]): boolean {
  if (a.length !== b.length) return false;
  const rank = shapeA.length;
  const shapeB = perm.map((p) => shapeA[p]!);
  const strideA = new Array<number>(rank).fill(1);
  for (let k = rank - 2; k >= 0; k--) strideA[k] = strideA[k + 1]! * shapeA[k + 1]!;
  const idx = new Array<number>(rank).fill(0);
  for (let j = 0; j < b.length; j++) {
    let at = 0;
    for (let k = 0; k < rank; k++) at += idx[k]! * strideA[perm[k]!]!;
    if (a[at] !== b[j]) return false;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < shapeB[k]!) break;
      idx[k] = 0;
    }
  }
  return true;
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** The layout that maps `ref`'s float16 values onto `t`'s: the axis permutation (identity: same order), or undefined. */
function layout(ref: Tensor, t: Tensor): number[] | undefined {
  if (sameOrder(ref.half, t.half)) return ref.shape.map((_, k) => k);
  if (ref.shape.length !== t.shape.length || ref.shape.length < 2 || ref.shape.length > 4) return undefined;
  for (const perm of permutations(ref.shape.length)) {
    if (perm.every((p, k) => p === k)) continue;
    if (perm.every((p, k) => ref.shape[p] === t.shape[k]) && permutedEqual(ref.half, ref.shape, t.half, perm)) return perm;
  }
  return undefined;
}

/** What relates `t` to `ref` (the same multiset of float16-rounded values, other bytes). */
function relation(ref: Tensor, t: Tensor): Relation {
  const perm = layout(ref, t);
  if (!perm) return 'same values, other order';
  const identity = perm.every((p, k) => p === k);
  const shape = identity ? 'same layout' : perm.length === 2 ? 'transposed' : 'axes permuted';
  // A float16 tensor whose values are the float32 one's, cast: what an fp16 export does.
  if (ref.dtype === 'F32' && t.dtype === 'F16') return `float16 cast, ${shape}` as Relation;
  if (ref.dtype === t.dtype && !identity && permutedEqual(ref.raw, ref.shape, t.raw, perm)) return `exact, ${shape}` as Relation;
  return 'equal at float16 precision only';
}

export function benchLayouts(dirs: string[], log: (s: string) => void): { text: string; report: LayoutReport } {
  const t0 = performance.now();
  const seen = new Set<string>();
  const tensors: Tensor[] = [];
  let files = 0;
  let count = 0;
  let floatBytes = 0;
  let identicalBytes = 0;
  for (const dir of dirs) {
    log(`layouts: reading ${dir} …`);
    for (const path of modelFiles(dir)) {
      let seg;
      const src = new FileSource(path);
      try {
        seg = segmentFile(src, path);
      } catch {
        src.close();
        continue;
      }
      if (seg.format === 'raw') {
        src.close();
        continue;
      }
      files++;
      // The file's own tensors, then those it places in companion files (ONNX external data, TF.js shards).
      const places: { source: FileSource; tensors: TensorSegment[] }[] = [{ source: src, tensors: seg.segments.filter((s): s is TensorSegment => s.kind === 'tensor') }];
      for (const c of seg.companions ?? []) {
        try {
          places.push({ source: new FileSource(join(dirname(path), c.relPath)), tensors: c.tensors });
        } catch {
          // A companion that is not there: the file's own tensors still count.
        }
      }
      for (const { source, tensors: list } of places) {
        for (const s of list) {
          if ((s.dtype !== 'F32' && s.dtype !== 'F16') || s.length < MIN_ELEMENTS * (s.dtype === 'F32' ? 4 : 2) || s.length > statSync(source.name).size) continue;
          const bytes = source.read(s.offset, s.length);
          count++;
          floatBytes += bytes.length;
          const id = createHash('sha256').update(bytes).update(s.dtype).digest('hex');
          if (seen.has(id)) {
            identicalBytes += bytes.length;
            continue;
          }
          seen.add(id);
          const raw = s.dtype === 'F32' ? new Uint32Array(Uint8Array.prototype.slice.call(bytes, 0, bytes.length & ~3).buffer) : new Uint16Array(Uint8Array.prototype.slice.call(bytes, 0, bytes.length & ~1).buffer);
          tensors.push({ file: relative(dir, source.name), name: s.name, format: seg.format, dtype: s.dtype, shape: s.shape, bytes: bytes.length, half: toHalf(s.dtype, bytes), raw });
        }
        if (source !== src) source.close();
      }
      src.close();
    }
  }
  log(`layouts: ${tensors.length} distinct float tensors, fingerprinting …`);
  const groups = new Map<string, Tensor[]>();
  for (const t of tensors) {
    const k = fingerprint(t.half);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  const empty = (): LayoutReport['relations'][Relation] => ({ tensors: 0, bytes: 0, formats: {} });
  const relations: LayoutReport['relations'] = {
    'exact, transposed': empty(), 'exact, axes permuted': empty(), 'float16 cast, same layout': empty(), 'float16 cast, transposed': empty(),
    'float16 cast, axes permuted': empty(), 'equal at float16 precision only': empty(), 'same values, other order': empty(),
  };
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    // The reference: the widest copy (a float32 one before its float16 copies).
    g.sort((a, b) => b.bytes - a.bytes || (a.file < b.file ? -1 : 1));
    const ref = g[0]!;
    for (const t of g.slice(1)) {
      const r = relations[relation(ref, t)];
      r.tensors++;
      r.bytes += t.bytes;
      const pair = [ref.format, t.format].sort().join(' / ');
      r.formats[pair] = (r.formats[pair] ?? 0) + t.bytes;
    }
  }
  const uniqueBytes = tensors.reduce((n, t) => n + t.bytes, 0);
  const report: LayoutReport = { files, tensors: count, floatBytes, identicalBytes, uniqueTensors: tensors.length, uniqueBytes, relations, seconds: (performance.now() - t0) / 1000 };
  return { text: render(dirs, report), report };
}

function render(dirs: string[], r: LayoutReport): string {
  const out: string[] = [];
  out.push(`Same values in another layout or precision: ${dirs.join(', ')}`);
  out.push(`${int(r.files)} model files, ${int(r.tensors)} float tensors of >= ${MIN_ELEMENTS} values (${int(r.floatBytes)} bytes); ${int(r.identicalBytes)} bytes (${pct(r.identicalBytes, r.floatBytes)}) repeat a tensor byte for byte (lossless dedup keeps them once);`);
  out.push(`${int(r.uniqueTensors)} distinct tensors, ${int(r.uniqueBytes)} bytes. Of those, the same values as another distinct tensor (multiset of float16-rounded values, then the relation checked):`);
  const rows = (Object.entries(r.relations) as [Relation, LayoutReport['relations'][Relation]][]).map(([k, v]) => [
    k, int(v.tensors), int(v.bytes), pct(v.bytes, r.uniqueBytes),
    Object.entries(v.formats).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([f, b]) => `${f} ${int(b)}`).join('; ') || '-',
  ]);
  out.push(table(['relation to the group\'s widest tensor', '>tensors', '>bytes', '>% of distinct', 'format pairs (bytes)'], rows));
  out.push(`(${r.seconds.toFixed(1)} s)`);
  return out.join('\n');
}
