import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchLayouts } from '../../bench/layouts.js';
import { parseOptions } from '../../bench/options.js';
import { f32ToF16Bits } from '../../src/codec/cast.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { prng, tempDir } from '../helpers/store-fixtures.js';

/** Values with few exact float16 coincidences: random float32 in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => r() / 2 ** 31 - 1);
}

/** `a` (shape `shape`) with its axes permuted: out's axis k is a's axis perm[k]. */
function permute(a: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const stride = shape.map((_, k) => shape.slice(k + 1).reduce((x, y) => x * y, 1));
  const out = new Float32Array(a.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let j = 0; j < a.length; j++) {
    out[j] = a[idx.reduce((at, i, k) => at + i * stride[perm[k]!]!, 0)]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

const f16 = (a: Float32Array): Buffer => {
  const bits = new Int32Array(a.buffer);
  const out = Buffer.alloc(2 * a.length);
  for (let i = 0; i < a.length; i++) out.writeUInt16LE(f32ToF16Bits(bits[i]!), 2 * i);
  return out;
};
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('bench --layouts: finds a transposed matrix, a permuted 4-D kernel and a float16 cast of stored tensors, and counts byte-identical ones apart', () => {
  const { dir, cleanup } = tempDir();
  try {
    const m = values(32 * 48, 1);
    const k = values(3 * 3 * 8 * 16, 2);
    const lone = values(1000, 3);
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'one.safetensors'), buildSafetensors([
      { name: 'dense', dtype: 'F32', shape: [32, 48], data: bytes(m) },
      { name: 'conv', dtype: 'F32', shape: [16, 8, 3, 3], data: bytes(k) },
      { name: 'lone', dtype: 'F32', shape: [1000], data: bytes(lone) },
    ]));
    writeFileSync(join(dir, 'a', 'two.safetensors'), buildSafetensors([
      { name: 'dense_t', dtype: 'F32', shape: [48, 32], data: bytes(permute(m, [32, 48], [1, 0])) },
      // OIHW -> HWIO
      { name: 'conv_hwio', dtype: 'F32', shape: [3, 3, 8, 16], data: bytes(permute(k, [16, 8, 3, 3], [2, 3, 1, 0])) },
      { name: 'lone_again', dtype: 'F32', shape: [1000], data: bytes(lone) },
      { name: 'dense_half', dtype: 'F16', shape: [32, 48], data: f16(m) },
    ]));
    const { report } = benchLayouts([dir], () => {});
    assert.equal(report.files, 2);
    assert.equal(report.identicalBytes, 4000);
    assert.deepEqual(Object.fromEntries(Object.entries(report.relations).filter(([, v]) => v.tensors > 0).map(([kind, v]) => [kind, [v.tensors, v.bytes]])), {
      'exact, transposed': [1, 32 * 48 * 4],
      'exact, axes permuted': [1, 3 * 3 * 8 * 16 * 4],
      'float16 cast, same layout': [1, 32 * 48 * 2],
    });
    assert.deepEqual(parseOptions(['--layouts', '/a, /b']).layouts, ['/a', '/b']);
  } finally {
    cleanup();
  }
});
