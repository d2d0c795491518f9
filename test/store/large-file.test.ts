import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, ftruncateSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors, buildSafetensorsRaw } from '../helpers/build-safetensors.js';
import { randomWeights, tempDir, tempStore } from '../helpers/store-fixtures.js';
import { hashFileSync } from '../../src/io/hash-file-sync.js';

// SQLite only, on purpose: this test is about the file path past 2 GiB (FileSource,
// 8 MiB blocks, hashing, export through reused blocks), which is the same code
// whatever the backend. The database sees 3 distinct chunks and 32 Ki file_chunks
// rows, which the PostgreSQL runs of the other store tests cover already; running
// it twice would add ~15 s of reading and hashing 2 GiB on two cores for nothing.
test('sqlite: a model file over 2 GiB (beyond readFileSync) imports and exports byte-identically', async () => {
  const { store, cleanup } = await tempStore();
  const src = tempDir();
  try {
    // A safetensors file with one U8 tensor just over 2 GiB, written sparse: fast to make, all zeros to read.
    const size = 2 ** 31 + 2 ** 20;
    const header = buildSafetensorsRaw({ big: { dtype: 'U8', shape: [size], data_offsets: [0, size] } });
    const headerLen = header.length;
    const path = join(src.dir, 'big.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, header, 0, headerLen, 0);
    ftruncateSync(fd, headerLen + size);
    closeSync(fd);
    const r = await store.import(path, { name: 'big' });
    assert.equal(r.logicalBytes, headerLen + size);
    assert.equal(r.tensors, 1);
    assert.ok(r.newChunks <= 3, `zeros dedup to one chunk (+ header, + short tail): ${r.newChunks}`);
    const out = join(src.dir, 'out.safetensors');
    await store.export({ name: 'big' }, out);
    // export() checked the SHA-256 recorded at import before putting the file in place.
    assert.equal(statSync(out).size, headerLen + size);
    assert.ok((await store.files(r.model))[0]!.sha256.equals(hashFileSync(path)));
  } finally {
    src.cleanup();
    await cleanup();
  }
});

test('sqlite: an export of many 8 MiB blocks writes each block while the next is decoded, and the file on disk is the original', async () => {
  const { store, cleanup } = await tempStore();
  const src = tempDir();
  try {
    // Random weights: a block written after its memory was reused would differ on disk (the digest covers what was hashed, not what was written).
    const path = join(src.dir, 'w.safetensors');
    writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [12 << 20], data: randomWeights(12 << 20, 7) }]));
    await store.import(path, { name: 'w' });
    const out = join(src.dir, 'out.safetensors');
    await store.export({ name: 'w' }, out);
    assert.ok(hashFileSync(out).equals(hashFileSync(path)), 'the written file is the imported one');
  } finally {
    src.cleanup();
    await cleanup();
  }
});
