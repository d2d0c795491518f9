import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource } from '../../src/io/file-source.js';
import { FormatError } from '../../src/formats/errors.js';
import { segmentFile } from '../../src/formats/index.js';
import { hdf5Reader, kerasReader } from '../../src/formats/keras.js';
import { readZipDirectory } from '../../src/formats/zip.js';
import { RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, repoRoot, tensorsOf } from '../helpers/segments.js';

/** Files written by h5py (HDF5 1.10) in Keras's layouts: test/fixtures/keras/make-fixtures.py. */
const FIXTURES = join(repoRoot(), 'test/fixtures/keras');

interface Expected { name: string; dtype: string; shape: number[]; offset: number | null; size: number; contiguous: boolean }

function expected(name: string): Expected[] {
  return (JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as { datasets: Expected[] }).datasets;
}

/** Datasets the reader must find: contiguous, written, and of a numeric type (h5py's vlen strings and bool enums are not). */
const numeric = (e: Expected): boolean => e.contiguous && e.size > 0 && !e.name.startsWith('odd/text');

function checkAgainstH5py(file: Buffer, label: string, exp: Expected[], origin: number, skipped: (e: Expected) => boolean): void {
  const seg = segmentFile(new BufferSource(label, file), label);
  assertCovers(seg.segments, file.length);
  const byName = new Map(tensorsOf(seg).map((t) => [t.name, t]));
  let found = 0;
  for (const e of exp) {
    const t = byName.get(e.name);
    if (!numeric(e) || skipped(e)) {
      assert.equal(t, undefined, `${label}: ${e.name} is not a tensor segment`);
      continue;
    }
    assert.ok(t, `${label}: ${e.name} has no segment`);
    assert.equal(t.offset, origin + e.offset!, `${label}: ${e.name} offset`);
    assert.equal(t.length, e.size, `${label}: ${e.name} size`);
    assert.equal(t.dtype, e.dtype, `${label}: ${e.name} dtype`);
    assert.deepEqual(t.shape, e.dtype === 'UNKNOWN' ? [e.size] : e.shape, `${label}: ${e.name} shape`);
    found++;
  }
  assert.equal(byName.size, found, `${label}: no other tensor segments`);
}

test('HDF5 written by h5py (superblock 0, symbol-table groups): every contiguous numeric dataset where HDF5 says it is', () => {
  for (const name of ['legacy', 'datasets']) {
    const file = readFileSync(join(FIXTURES, `${name}.h5`));
    checkAgainstH5py(file, `${name}.h5`, expected(name), 0, () => false);
  }
});

test('HDF5 with libver="latest" (superblock 3, OHDR headers, link messages, dense link storage): the same', () => {
  checkAgainstH5py(readFileSync(join(FIXTURES, 'latest.h5')), 'latest.h5', expected('latest'), 0, () => false);
  // Groups of more than 8 members go to a fractal heap under libver latest (odd/: 10, wide/: 20): followed through the name index.
  checkAgainstH5py(readFileSync(join(FIXTURES, 'datasets-latest.h5')), 'datasets-latest.h5', expected('datasets-latest'), 0, () => false);
});

test('dense link storage deeper than one B-tree leaf (150 members) is not followed: those datasets stay literal, the rest are read', () => {
  const file = readFileSync(join(FIXTURES, 'many.h5'));
  checkAgainstH5py(file, 'many.h5', expected('many'), 0, (e) => e.name.startsWith('many/'));
  assert.equal(expected('many').filter((e) => e.name.startsWith('many/')).length, 150);
});

test('Keras 3 .keras: the datasets of the stored model.weights.h5, read in place inside the zip', () => {
  const file = readFileSync(join(FIXTURES, 'keras3.keras'));
  const entry = readZipDirectory(new BufferSource('keras3.keras', file)).entries.find((e) => e.name === 'model.weights.h5')!;
  checkAgainstH5py(file, 'keras3.keras', expected('keras3'), entry.dataOffset, () => false);
  assert.equal(segmentFile(new BufferSource('k.keras', file), 'k.keras').format, 'keras');
  // A deflated weights entry: no tensor bytes in the file, all literal.
  const deflated = readFileSync(join(FIXTURES, 'keras3-deflated.keras'));
  const seg = kerasReader.read(new BufferSource('d.keras', deflated));
  assert.deepEqual(seg.segments, [{ kind: 'literal', offset: 0, length: deflated.length }]);
});

test('the same weights as Keras 2 .h5, libver latest and Keras 3 .keras have the same tensor bytes', () => {
  const bytes = (f: string, name: string): string => {
    const file = readFileSync(join(FIXTURES, f));
    const t = tensorsOf(segmentFile(new BufferSource(f, file), f)).find((x) => x.name === name)!;
    return bytesOf(file, t).toString('hex');
  };
  const k = bytes('legacy.h5', 'model_weights/dense/dense/kernel:0');
  assert.equal(bytes('latest.h5', 'model_weights/dense/dense/kernel:0'), k);
  assert.equal(bytes('keras3.keras', 'layers/dense/vars/0'), k);
});

test('sniff: .h5/.hdf5 with the HDF5 signature; .keras that is a zip', () => {
  const h5 = readFileSync(join(FIXTURES, 'legacy.h5')).subarray(0, 64);
  assert.equal(hdf5Reader.sniff(h5, 'w.h5'), true);
  assert.equal(hdf5Reader.sniff(h5, 'w.HDF5'), true);
  assert.equal(hdf5Reader.sniff(h5, 'w.bin'), false);
  assert.equal(hdf5Reader.sniff(Buffer.from('not hdf5 at all'), 'w.h5'), false);
  const zip = readFileSync(join(FIXTURES, 'keras3.keras')).subarray(0, 64);
  assert.equal(kerasReader.sniff(zip, 'm.keras'), true);
  assert.equal(kerasReader.sniff(zip, 'm.zip'), false);
  assert.equal(segmentFile(new BufferSource('x.h5', Buffer.from('plain text, not HDF5')), 'x.h5').format, 'raw');
});

test('flipped and truncated bytes: a result or a FormatError naming the file, never anything else, never a hang', () => {
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.h5') || x.endsWith('.keras'))) {
    const file = readFileSync(join(FIXTURES, f));
    const reader = f.endsWith('.keras') ? kerasReader : hdf5Reader;
    const attempt = (b: Buffer): void => {
      try {
        assertCovers(reader.read(new RecordingSource(f, b, 1 << 20)).segments, b.length);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        assert.ok(e.message.includes(f), e.message);
      }
    };
    let x = 99;
    for (let iter = 0; iter < 600; iter++) {
      const b = Buffer.from(file);
      for (let k = 0; k < 1 + (iter % 3); k++) {
        x = (x * 1103515245 + 12345) >>> 0;
        // Most flips in the first 10 KiB, where the structures are.
        const at = iter % 4 === 0 ? x % b.length : x % Math.min(b.length, 10_000);
        x = (x * 1103515245 + 12345) >>> 0;
        b[at] = x >>> 24;
      }
      attempt(b);
    }
    for (let n = 0; n < file.length; n += 97) attempt(file.subarray(0, n));
  }
});

test('hostile structures: loops in B-trees and continuations, addresses past the end, huge counts', () => {
  const file = readFileSync(join(FIXTURES, 'legacy.h5'));
  const read = (b: Buffer): unknown => hdf5Reader.read(new BufferSource('hostile.h5', b));
  // The root object header address (superblock 0: after 4 addresses at 24, the entry's second field) pointed past the end.
  const rootAt = 24 + 4 * 8 + 8;
  const past = Buffer.from(file);
  past.writeBigUInt64LE(BigInt(file.length + 100), rootAt);
  assert.throws(() => read(past), (e: unknown) => e instanceof FormatError && /hostile\.h5: HDF5: object header of '\/' address \d+ lies outside the file/.test(e.message));
  // Root pointing at the superblock: not an object header.
  const self = Buffer.from(file);
  self.writeBigUInt64LE(0n, rootAt);
  assert.throws(() => read(self), FormatError);
  // Every SNOD entry count set to 0xffff: the entries would run past the end.
  const snod = Buffer.from(file);
  let n = 0;
  for (let at = snod.indexOf('SNOD'); at >= 0; at = snod.indexOf('SNOD', at + 4)) {
    snod.writeUInt16LE(0xffff, at + 6);
    n++;
  }
  assert.ok(n > 0);
  assert.throws(() => read(snod), FormatError);
  // A B-tree node whose child is itself.
  const tree = Buffer.from(file);
  const t = tree.indexOf('TREE');
  tree.writeUInt8(1, t + 5); // level 1: children are nodes
  tree.writeBigUInt64LE(BigInt(t), t + 8 + 16 + 8);
  assert.throws(() => read(tree), (e: unknown) => e instanceof FormatError && /B-tree loops|B-tree node/.test(e.message));
});
