import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NewChunk } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';
import { Store } from '../../src/store/store.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import type { SafetensorsTensor } from '../helpers/build-safetensors.js';
import { wireOf } from '../../bench/pg-wire.js';
import { pgTempLocation, storeSql, tempDir, testBackends } from '../helpers/store-fixtures.js';

/**
 * What a PostgreSQL transaction sends and when: statements pipelined on its
 * connection (src/backends/postgres/tx-client.ts), writes it does not wait
 * for, and how many round trips an import costs — counted, not timed.
 */

const pgOn = (await testBackends()).includes('postgres');
const skip = !pgOn && 'no PostgreSQL';

function chunk(seed: string, bases: number[] = []): NewChunk {
  const data = Buffer.from(`payload ${seed}`);
  return { hash: createHash('sha256').update(seed).digest(), rawSize: data.length, storedSize: data.length, codec: 0, bases, depth: bases.length ? 1 : 0, data };
}

const newModel = (name: string) => ({
  name, version: 1, format: 'raw', baseModelId: null, createdAt: new Date().toISOString(), logicalBytes: 0,
  newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null,
});

test('postgres: a write the transaction does not wait for fails it with its own error, before COMMIT, and nothing is kept', { skip }, async () => {
  const loc = pgTempLocation();
  const b = await openBackend(loc.url);
  try {
    // The failing write is the transaction's last statement: only the check before COMMIT can see it.
    await assert.rejects(b.transaction(async () => {
      const m = await b.insertModel(newModel('last'));
      const f = await b.insertFile({ modelId: m, path: 'x', size: 1, sha256: Buffer.alloc(32), format: 'raw' });
      await b.insertFileChunks(f, 0, [987654321]);
    }), (e: { code?: string }) => e.code === '23503');
    // A statement awaited after it fails with "current transaction is aborted"; the transaction reports the cause.
    await assert.rejects(b.transaction(async () => {
      const m = await b.insertModel(newModel('then-read'));
      const f = await b.insertFile({ modelId: m, path: 'x', size: 1, sha256: Buffer.alloc(32), format: 'raw' });
      await b.insertFileChunks(f, 0, [987654321]);
      await b.listFiles(m);
    }), (e: { code?: string }) => e.code === '23503');
    assert.deepEqual(await b.listModels(), []);
  } finally {
    await b.close();
    await loc.drop();
  }
});

test('postgres: a COPY read in a transaction runs after the pipelined writes issued before it, and sees them', { skip }, async () => {
  const loc = pgTempLocation();
  const b = await openBackend(loc.url);
  try {
    await b.transaction(async () => {
      const [base] = await b.insertChunks([chunk('base')]);
      // Its chunk_bases row is a write nobody waits for; the payload read below is a binary COPY.
      const [delta] = await b.insertChunks([chunk('delta', [base!])]);
      const [got] = await b.getChunks([delta!]);
      assert.deepEqual(got!.bases, [base]);
      assert.deepEqual(got!.data, chunk('delta').data);
      // And statements issued after the COPY, in the same tick, run after it.
      const [info, again] = await Promise.all([b.chunkInfo([delta!]), b.getChunks([base!]), b.lookupChunks([chunk('base').hash])]);
      assert.deepEqual(info![0]!.bases, [base]);
      assert.deepEqual(again![0]!.data, chunk('base').data);
    });
  } finally {
    await b.close();
    await loc.drop();
  }
});

test('postgres: reads stay prepared when another process adds a column to their table', { skip }, async () => {
  const loc = pgTempLocation();
  // One connection, so the second read runs where the first was prepared.
  const b = await openBackend(loc.url, { pgPoolSize: 1 });
  try {
    await b.transaction(() => b.insertModel(newModel('m')));
    assert.equal((await b.findModel('m'))?.name, 'm');
    assert.equal((await b.listModels()).length, 1);
    await storeSql(loc.url, 'ALTER TABLE models ADD COLUMN added_later TEXT');
    assert.equal((await b.findModel('m'))?.name, 'm');
    assert.equal((await b.listModels()).length, 1);
  } finally {
    await b.close();
    await loc.drop();
  }
});

/** A safetensors model of `count` tensors of `bytes` each (random: nothing dedups, no base helps). */
function model(dir: string, file: string, count: number, bytes: number, dtype: 'F32' | 'BF16' = 'F32'): string {
  const tensors: SafetensorsTensor[] = Array.from({ length: count }, (_, i) => ({
    name: `layer.${i}.weight`, dtype, shape: [bytes / (dtype === 'F32' ? 4 : 2)], data: randomBytes(bytes),
  }));
  const path = join(dir, file);
  writeFileSync(path, buildSafetensors(tensors));
  return path;
}

test('postgres: an import\'s round trips are a fixed few, whatever its tensors and chunks number', { skip }, async (t) => {
  const { dir, cleanup } = tempDir();
  const loc = pgTempLocation();
  const store = await Store.open(loc.url);
  try {
    // Earlier versions share every tensor name and shape: base sampling tries them all as candidates.
    // A half-precision copy of the big model's names makes every F32 import probe it for a rebase.
    await store.import(model(dir, 'big-bf16.safetensors', 32, 128 << 10, 'BF16'), { name: 'big-bf16' });
    const runs: Record<string, { statements: number; roundTrips: number }> = {};
    for (const [name, count, bytes] of [['small', 4, 1 << 10], ['big', 32, 256 << 10]] as const) {
      for (let v = 1; v <= 4; v++) {
        const path = model(dir, `${name}-${v}.safetensors`, count, bytes);
        const { value, wire } = await wireOf(() => store.import(path, { name }));
        assert.equal(value.created, true);
        runs[name] = wire;
      }
    }
    const small = runs['small']!;
    const big = runs['big']!;
    t.diagnostic(`statements and round trips of the last import of each: ${JSON.stringify(runs)}`);
    // Measured 20 and 21: sampling four candidates, storing 8 MiB of new chunks in 128 pieces and
    // probing 32 half-precision tensors add no round trip per chunk or per tensor.
    assert.ok(small.roundTrips <= 26, `a small import took ${small.roundTrips} round trips (${JSON.stringify(runs)})`);
    assert.ok(big.roundTrips <= small.roundTrips + 10, `128 chunks and 32 tensors took ${big.roundTrips} round trips, a 4-tensor import ${small.roundTrips} (${JSON.stringify(runs)})`);
  } finally {
    await store.close();
    await loc.drop();
    cleanup();
  }
});
