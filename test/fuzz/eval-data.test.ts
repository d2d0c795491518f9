/**
 * Mutation fuzzing of the evaluation-data readers (tessera approx --eval,
 * --labels): mutated .npy, .npz and OIP .json files each end in data whose
 * tensors agree with their shapes, or in a Tessera error of a bad-input kind
 * naming the file — never another exception, never a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { readEvalData, readLabels } from '../../src/approx/eval-data.js';
import { TesseraError } from '../../src/errors.js';
import { npyBytes } from '../helpers/approx-family.js';
import { buildZip } from '../helpers/build-zip.js';
import { prng } from '../helpers/store-fixtures.js';
import { mutate } from './campaign.js';

const CASES_PER_SEED = 300;
const BAD_INPUT = new Set(['invalid', 'too-large', 'unsupported', 'not-found']);

test('fuzz: mutated .npy, .npz and .json evaluation data and labels end in consistent data or a clean error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-eval-'));
  try {
    const x = npyBytes('<f4', [8, 4], new Uint8Array(new Float32Array(32).map((_, i) => i / 7).buffer));
    const ids = npyBytes('<i8', [8], new Uint8Array(new BigInt64Array(8).map((_, i) => BigInt(i % 3)).buffer));
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6]] }] }));
    const seeds: { name: string; bytes: Buffer; labels?: boolean }[] = [
      { name: 'x.npy', bytes: x },
      { name: 'y.npy', bytes: ids, labels: true },
      { name: 'e.npz', bytes: buildZip([{ name: 'x.npy', data: x }, { name: 'ids.npy', data: ids }]).file },
      { name: 'd.npz', bytes: buildZip([{ name: 'x.npy', data: deflateRawSync(x), method: 8, uncompressedSize: x.length }]).file },
      { name: 'e.json', bytes: json },
      { name: 'l.json', bytes: Buffer.from(JSON.stringify({ labels: [0, 1, 2, 1, 0, 2, 1, 0] })), labels: true },
    ];
    const r = prng(20261207);
    const failures: string[] = [];
    let accepted = 0;
    let rejected = 0;
    for (const s of seeds) {
      for (let i = 0; i < CASES_PER_SEED; i++) {
        const path = join(dir, s.name);
        writeFileSync(path, mutate(s.bytes, r));
        try {
          if (s.labels) readLabels(path, 8);
          else {
            const d = readEvalData(path);
            for (const t of d.tensors) {
              assert.equal(t.shape[0], d.rows);
              assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
            }
          }
          accepted++;
        } catch (e) {
          if (e instanceof TesseraError && BAD_INPUT.has(e.kind) && e.message.includes(path)) rejected++;
          else if (failures.length < 10) failures.push(`${s.name} case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
        }
      }
    }
    console.log(`# fuzz eval data: ${seeds.length} seeds, ${accepted} read, ${rejected} rejected cleanly, ${failures.length} failures`);
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
