import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_ABSENT, corpusDir, sha256, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { Store } from '../../src/store/store.js';

const corpus = corpusDir();

async function importFamily(store: Store, family: string): Promise<string[]> {
  const dir = join(corpus!, family);
  const names: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const name = `${family}/${f.replace(/\.(safetensors|onnx)$/, '')}-${f.endsWith('.onnx') ? 'onnx' : 'st'}`;
    await store.import(join(dir, f), { name });
    names.push(name);
  }
  return names;
}

function sharedBytes(d: { sharedWith: { model: string; bytes: number }[] }, other: string): number {
  return d.sharedWith.find((s) => s.model === `${other}:1`)?.bytes ?? 0;
}

for (const kind of await testBackends()) {
  for (const family of ['mlp', 'conv']) {
    test(`${kind}: corpus ${family}: sharing follows the corpus README, and every model exports byte-identically`, { skip: corpus ? false : CORPUS_ABSENT }, async () => {
      const { store, dir, cleanup } = await tempStore(kind);
      try {
        const names = await importFamily(store, family);
        const p = (n: string) => `${family}/${n}`;

        // The ONNX and safetensors files of one model share all tensor bytes.
        for (const m of ['base-ckpt3', 'ft-full-rot', 'ft-head-big', 'lora-merged', 'unrelated']) {
          const st = await store.show({ name: p(`${m}-st`) });
          const tensorBytes = st.tensors.reduce((n, t) => n + t.bytes, 0);
          assert.ok(tensorBytes > 0.99 * st.model.logicalBytes, `${m}: the safetensors file is nearly all tensor bytes`);
          assert.equal(sharedBytes(st, p(`${m}-onnx`)), tensorBytes, `${m}: safetensors and ONNX share every tensor byte`);
        }
        // ft-head-* share the frozen backbone with base-ckpt3: exactly the backbone tensors' bytes.
        const tensorBytes = (d: { tensors: { name: string; bytes: number }[] }, re: RegExp) =>
          d.tensors.filter((t) => re.test(t.name)).reduce((n, t) => n + t.bytes, 0);
        for (const m of ['ft-head-parity', 'ft-head-big']) {
          const d = await store.show({ name: p(`${m}-st`) });
          const backbone = tensorBytes(d, /^backbone\./);
          assert.ok(backbone > 0.9 * d.model.logicalBytes);
          assert.equal(sharedBytes(d, p('base-ckpt3-st')), backbone, `${m} shares exactly its backbone with base-ckpt3`);
        }
        // Nothing identical between successive checkpoints, or with the unrelated model.
        const unrelated = await store.show({ name: p('unrelated-st') });
        assert.equal(sharedBytes(unrelated, p('base-ckpt3-st')), 0);
        const ckpt2 = await store.show({ name: p('base-ckpt2-st') });
        assert.equal(sharedBytes(ckpt2, p('base-ckpt1-st')), 0);
        // ft-partial-noise keeps its first layer frozen.
        const partial = await store.show({ name: p('ft-partial-noise-st') });
        assert.equal(sharedBytes(partial, p('base-ckpt3-st')), tensorBytes(partial, /^backbone\.0\./), 'ft-partial-noise shares exactly its frozen first layer');

        for (const n of names) {
          const f = n.slice(family.length + 1).replace(/-(st|onnx)$/, (_m, k: string) => (k === 'st' ? '.safetensors' : '.onnx'));
          const out = join(dir, f);
          await store.export({ name: n }, out);
          assert.equal(sha256(out), sha256(join(corpus!, family, f)), n);
        }
        const t = await store.totals();
        console.log(`# corpus ${family}: ${names.length} files, logical ${t.logicalBytes} B, distinct ${t.uniqueRawBytes} B (${(100 * t.uniqueRawBytes / t.logicalBytes).toFixed(1)}%), stored ${t.storedBytes} B (${(100 * t.storedBytes / t.logicalBytes).toFixed(1)}%)`);
      } finally {
        await cleanup();
      }
    });
  }
}
