import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { prng, randomWeights, sha256, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';
import { f32ToBF16Bits, f32ToF16Bits } from '../../src/codec/index.js';
import type { Store } from '../../src/store/store.js';

/** A copy of F32 weights with every k-th value nudged: a fine-tune's worth of change. */
function nudge(w: Buffer, seed: number, every = 2): Buffer {
  const out = Buffer.from(w);
  const f = new Float32Array(out.buffer, out.byteOffset, out.length / 4);
  const r = prng(seed);
  for (let i = r() % every; i < f.length; i += every) f[i] = f[i]! + ((r() / 2 ** 32) - 0.5) * 1e-4;
  return out;
}

function cast(w: Buffer, to: 'F16' | 'BF16'): Buffer {
  const u = new Uint32Array(w.buffer, w.byteOffset, w.length / 4);
  const out = Buffer.alloc(u.length * 2);
  for (let i = 0; i < u.length; i++) out.writeUInt16LE(to === 'F16' ? f32ToF16Bits(u[i]!) : f32ToBF16Bits(u[i]!), 2 * i);
  return out;
}

async function put(store: Store, dir: string, name: string, tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[], base?: string) {
  const path = join(dir, `${name}.safetensors`);
  writeFileSync(path, buildSafetensors(tensors));
  const r = await store.import(path, { name, ...(base ? { base: { name: base } } : {}) });
  return { path, r };
}

for (const kind of await testBackends()) {
  test(`${kind}: delta chains stay at most 4 deep, GC keeps bases that live deltas need, everything exports exactly`, async () => {
    const { store, dir, path: location, cleanup } = await tempStore(kind);
    try {
      let w = randomWeights(100_000, 1);
      const files: [string, string][] = [];
      const first = await put(store, dir, 'gen0', [{ name: 'w', dtype: 'F32', shape: [100_000], data: w }]);
      files.push(['gen0', first.path]);
      for (let g = 1; g <= 7; g++) {
        w = nudge(w, g);
        const { path, r } = await put(store, dir, `gen${g}`, [{ name: 'w', dtype: 'F32', shape: [100_000], data: w }], `gen${g - 1}`);
        assert.equal(r.base?.name, `gen${g - 1}`);
        files.push([`gen${g}`, path]);
      }
      const [{ d: maxDepth }] = await storeSql<{ d: number }>(location, 'SELECT MAX(depth) AS d FROM chunks') as [{ d: number }];
      assert.equal(maxDepth, 4, 'the chain reaches the bound and stops there');
      // Past the bound, a generation deltas against an older version of the same piece instead.
      const [deep] = await storeSql<{ n: number }>(location, 'SELECT COUNT(*) AS n FROM chunks c JOIN chunk_bases b ON b.chunk_id = c.id JOIN chunks p ON p.id = b.base_id WHERE c.depth <> p.depth + 1') as [{ n: number }];
      assert.equal(deep.n, 0, 'every delta is one deeper than its base');

      // Remove the middle of the lineage: GC must keep the chunks later deltas decode against.
      for (const g of [0, 1, 2, 3]) await store.remove({ name: `gen${g}` });
      const freed = await store.gc();
      for (const [name, path] of files.slice(4)) {
        const out = join(dir, `${name}.out`);
        await store.export({ name }, out);
        assert.equal(sha256(out), sha256(path), `${name} after gc`);
      }
      // With every model gone, everything goes.
      for (const g of [4, 5, 6, 7]) await store.remove({ name: `gen${g}` });
      const all = await store.gc();
      const t = await store.totals();
      assert.equal(t.chunks, 0);
      assert.equal(t.storedBytes, 0);
      assert.ok(all.chunks > 0 && freed.chunks >= 0);
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: cast-aware delta: fp16 and bf16 copies of a stored float32 model cost almost nothing`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const w = randomWeights(200_000, 9);
      const v = randomWeights(3_000, 10);
      await put(store, dir, 'f32', [{ name: 'w', dtype: 'F32', shape: [400, 500], data: w }, { name: 'v', dtype: 'F32', shape: [3000], data: v }]);
      for (const dtype of ['F16', 'BF16'] as const) {
        const { path, r } = await put(store, dir, dtype.toLowerCase(), [
          { name: 'w', dtype, shape: [400, 500], data: cast(w, dtype) }, { name: 'v', dtype, shape: [3000], data: cast(v, dtype) },
        ]);
        assert.equal(r.base?.name, 'f32', `${dtype}: the F32 model is found as base`);
        assert.ok(r.newStoredBytes < 0.01 * r.logicalBytes, `${dtype}: ${r.newStoredBytes} of ${r.logicalBytes} bytes stored`);
        const out = join(dir, `${dtype}.out`);
        await store.export({ name: dtype.toLowerCase() }, out);
        assert.equal(sha256(out), sha256(path));
      }
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: property: random models of every float dtype and shape, random bases and casts, always export byte-identically`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    const r = prng(20261130);
    const dtypes = ['F32', 'F16', 'BF16', 'F64', 'F8_E4M3', 'F8_E5M2', 'I8', 'U8', 'I32'] as const;
    const width: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, F8_E4M3: 1, F8_E5M2: 1, I8: 1, U8: 1, I32: 4 };
    try {
      const stored: { name: string; path: string; tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[] }[] = [];
      for (let m = 0; m < 14; m++) {
        let tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[];
        const parent = stored.length && r() % 3 !== 0 ? stored[r() % stored.length]! : undefined;
        if (parent) {
          // Derived: nudged, cast, repeated or replaced tensors of a stored model.
          tensors = parent.tensors.map((t) => {
            const k = r() % 4;
            if (k === 0 && t.dtype === 'F32') return { ...t, data: nudge(t.data, r(), 1 + (r() % 5)) };
            if (k === 1 && t.dtype === 'F32') { const d = r() % 2 ? 'F16' : 'BF16'; return { ...t, dtype: d, data: cast(t.data, d) }; }
            if (k === 2) return t;
            const b = Buffer.from(t.data);
            for (let i = 0; i < 1 + (r() % 50); i++) b[r() % Math.max(1, b.length)] ^= 1 << (r() % 8);
            return { ...t, data: b };
          });
        } else {
          tensors = [];
          for (let i = 0, n = 1 + (r() % 4); i < n; i++) {
            const dtype = dtypes[r() % dtypes.length]!;
            const shape = [1 + (r() % 300), 1 + (r() % 400)];
            const count = shape[0]! * shape[1]!;
            const data = dtype === 'F32' ? randomWeights(count, r()) : Buffer.from(randomWeights(Math.ceil((count * width[dtype]!) / 4), r()).subarray(0, count * width[dtype]!));
            tensors.push({ name: `t${i}`, dtype, shape, data });
          }
        }
        const name = `m${m}`;
        const { path } = await put(store, dir, name, tensors);
        stored.push({ name, path, tensors });
      }
      for (const s of stored) {
        const out = join(dir, `${s.name}.out`);
        await store.export({ name: s.name }, out);
        assert.equal(sha256(out), sha256(s.path), s.name);
      }
      const t = await store.totals();
      console.log(`# property: ${stored.length} models, ${t.chunks} chunks, ${t.deltaRawBytes} delta-coded bytes, stored ${(100 * t.storedBytes / t.logicalBytes).toFixed(1)}%`);
      assert.ok(t.deltaRawBytes > 0, 'some chunks were stored as deltas');
    } finally {
      await cleanup();
    }
  });

  test(`${kind}: a half-precision copy imported before its float32 source is re-encoded against it when the source arrives`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const w3 = randomWeights(200_000, 31);
      const w1 = nudge(nudge(w3, 1, 1), 2, 1);
      const bf = await put(store, dir, 'bf16', [{ name: 'w', dtype: 'BF16', shape: [200_000], data: cast(w3, 'BF16') }]);
      const alone = (await store.totals()).storedBytes;
      assert.ok(alone > 0.5 * bf.r.logicalBytes, 'stored on its own first');
      // An earlier checkpoint arrives first: it predicts the copy a little, then the true source predicts it exactly.
      await put(store, dir, 'ckpt1', [{ name: 'w', dtype: 'F32', shape: [200_000], data: w1 }]);
      const before = (await store.stats()).perModel.find((m) => m.model === 'bf16:1')!.storedBytes;
      assert.ok(before <= alone);
      await put(store, dir, 'ckpt3', [{ name: 'w', dtype: 'F32', shape: [200_000], data: w3 }]);
      const stats = await store.stats();
      const bfStats = stats.perModel.find((m) => m.model === 'bf16:1')!;
      assert.ok(bfStats.storedBytes < 0.01 * bfStats.logicalBytes, `the bf16 copy now costs ${bfStats.storedBytes} bytes`);
      assert.equal(bfStats.base, 'ckpt3:1');
      assert.ok(bfStats.storedBytes < before, 'the copy shrank again when its true source arrived');
      const out = join(dir, 'bf16.out');
      await store.export({ name: 'bf16' }, out);
      assert.equal(sha256(out), sha256(bf.path));
      // GC keeps the F32 chunks the copy now depends on, even without ckpt3.
      await store.remove({ name: 'ckpt3' });
      await store.gc();
      await store.export({ name: 'bf16' }, out);
      assert.equal(sha256(out), sha256(bf.path));
    } finally {
      await cleanup();
    }
  });
}
