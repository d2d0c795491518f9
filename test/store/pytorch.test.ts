import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sha256, tempStore, testBackends } from '../helpers/store-fixtures.js';

/** Real torch.save archives (test/fixtures/pytorch/make-fixtures.py, torch 1.13). */
const FIXTURES = join(REPO_ROOT, 'test/fixtures/pytorch');
const fx = (f: string): string => join(FIXTURES, f);

/** Bytes of a fixture's tensors, from the list torch wrote beside it. */
function tensorBytes(name: string): number {
  const e = JSON.parse(readFileSync(fx(`${name}.expected.json`), 'utf8')) as { tensors: Array<{ dtype: string; shape: number[] }> };
  const width: Record<string, number> = { F32: 4, F16: 2 };
  return e.tensors.reduce((n, t) => n + width[t.dtype]! * t.shape.reduce((a, b) => a * b, 1), 0);
}

for (const kind of await testBackends()) {
  test(`${kind}: the same weights as .safetensors and as torch.save .pt are stored once; .pt gets deltas and cast-aware deltas`, async () => {
    const { store, dir, cleanup } = await tempStore(kind);
    try {
      const st = await store.import(fx('family-base.safetensors'), { name: 'st' });
      const pt = await store.import(fx('family-base.pt'), { name: 'base' });
      const headers = statSync(fx('family-base.pt')).size - tensorBytes('family-base');
      // Only the archive's own bytes (zip records, data.pkl, padding) are new: every tensor chunk is the safetensors one.
      assert.ok(pt.newRawBytes <= headers, `.pt after .safetensors: ${pt.newRawBytes} new bytes, ${headers} outside tensors`);
      assert.equal(pt.tensors, st.tensors);
      const shown = await store.show({ name: 'base' });
      assert.deepEqual(shown.tensors.map((t) => [t.name, t.dtype]).sort(), [['0.bias', 'F32'], ['0.weight', 'F32'], ['2.bias', 'F32'], ['2.weight', 'F32']]);

      // A fine-tune finds the base by its tensor names and deltas against it.
      const tuned = await store.import(fx('family-tuned.pt'), { name: 'tuned' });
      assert.equal(tuned.base?.name, 'base');
      assert.ok(tuned.deltaRawBytes > 0.9 * tensorBytes('family-tuned'), `${tuned.deltaRawBytes} delta bytes`);
      // The float16 copy is a cast-aware delta of the float32 base: almost free.
      const half = await store.import(fx('family-half.pt'), { name: 'half' });
      assert.ok(half.base !== undefined, 'a base is found for the float16 copy');
      assert.ok(half.newStoredBytes < 0.05 * tensorBytes('family-half') + statSync(fx('family-half.pt')).size - tensorBytes('family-half'),
        `half: ${half.newStoredBytes} stored of ${half.logicalBytes}`);
      for (const [name, file] of [['base', 'family-base.pt'], ['tuned', 'family-tuned.pt'], ['half', 'family-half.pt']] as const) {
        const out = join(dir, `${name}.out`);
        await store.export({ name }, out);
        assert.equal(sha256(out), sha256(fx(file)), name);
      }
    } finally {
      await cleanup();
    }
  });
}

test('a fine-tune saved with torch.save costs less beside its base than alone (byte planes and XOR delta, not raw bytes)', async () => {
  const alone = await tempStore();
  const beside = await tempStore();
  try {
    const a = await alone.store.import(fx('family-tuned.pt'), { name: 'tuned' });
    await beside.store.import(fx('family-base.pt'), { name: 'base' });
    const b = await beside.store.import(fx('family-tuned.pt'), { name: 'tuned' });
    assert.ok(b.newStoredBytes < 0.75 * a.newStoredBytes, `beside its base ${b.newStoredBytes} B, alone ${a.newStoredBytes} B`);
    // Alone, float32 byte planes already beat the raw bytes' zstd (the exponent plane compresses).
    assert.ok(a.newStoredBytes < 0.95 * a.logicalBytes, `alone: ${a.newStoredBytes} of ${a.logicalBytes}`);
  } finally {
    await alone.cleanup();
    await beside.cleanup();
  }
});
