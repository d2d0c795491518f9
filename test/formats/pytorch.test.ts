import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { FormatError } from '../../src/formats/errors.js';
import { pytorchReader } from '../../src/formats/pytorch.js';
import { readZipDirectory } from '../../src/formats/zip.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { segmentFile } from '../../src/formats/index.js';
import { statePickle, type PickledTensor } from '../helpers/build-pickle.js';
import { buildTorchZip, buildZip, type BuiltZip } from '../helpers/build-zip.js';
import { assertFormatError, pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers, bytesOf, repoRoot, sha256, tensorsOf } from '../helpers/segments.js';

const NAME = 'checkpoint-under-test.pt';
const storages = [pseudoRandom(4 * 12, 1), pseudoRandom(2 * 7, 2)];

function read(file: Buffer, name = NAME) {
  return pytorchReader.read(new BufferSource(name, file));
}

function checkTorch(z: BuiltZip): void {
  const seg = read(z.file);
  assert.equal(seg.format, 'pytorch');
  assertCovers(seg.segments, z.file.length);
  const tensors = tensorsOf(seg);
  assert.deepEqual(tensors.map((t) => t.name), ['archive/data/0', 'archive/data/1']);
  for (const [i, t] of tensors.entries()) {
    const e = z.entries.find((x) => x.name === t.name)!;
    assert.equal(t.offset, e.dataOffset);
    assert.equal(t.offset % 64, 0, 'storage data is 64-byte aligned');
    assert.equal(t.length, storages[i]!.length);
    assert.deepEqual(bytesOf(z.file, t), storages[i]);
    assert.equal(t.dtype, 'UNKNOWN');
    assert.deepEqual(t.shape, [storages[i]!.length]);
  }
  // Everything else is literal: literal, tensor, literal, tensor, literal.
  assert.equal(seg.segments.map((s) => s.kind).join(','), 'literal,tensor,literal,tensor,literal');
}

test('segments: each storage exactly at its bytes, everything else literal, file covered once', () => {
  checkTorch(buildTorchZip(storages));
});

test('ZIP64 records (as PyTorch writes for large files) are read', () => {
  const z = buildTorchZip(storages, { zip64: true });
  checkTorch(z);
  const dir = readZipDirectory(new BufferSource(NAME, z.file));
  assert.equal(dir.zip64EocdOffset, z.zip64EocdOffset);
  assert.equal(dir.cdOffset, z.cdOffset);
  assert.equal(dir.entries.length, 5);
});

test('EOCD comment, any archive directory name', () => {
  const z = buildZip([
    { name: 'my_model/data.pkl', data: statePickle([]) },
    { name: 'my_model/data/0', data: storages[0]! },
    { name: 'my_model/data/1', data: storages[1]! },
  ], { comment: Buffer.from('a comment with PK\x05\x06 inside') });
  const seg = read(z.file);
  assertCovers(seg.segments, z.file.length);
  assert.deepEqual(tensorsOf(seg).map((t) => t.name), ['my_model/data/0', 'my_model/data/1']);
});

test('compressed entries, non-storage entries and data descriptors stay literal', () => {
  const z = buildZip([
    { name: 'archive/data.pkl', data: statePickle([]) },
    { name: 'archive/data/0', data: storages[0]!, dataDescriptor: true },
    { name: 'archive/data/1', data: Buffer.from('deflated?'), method: 8, uncompressedSize: 100 },
    { name: 'archive/data/extra.bin', data: Buffer.from('not a storage') },
    { name: 'archive/.data/serialization_id', data: Buffer.from('1234') },
  ]);
  const seg = read(z.file);
  assertCovers(seg.segments, z.file.length);
  const t = tensorsOf(seg);
  assert.deepEqual(t.map((x) => x.name), ['archive/data/0']);
  assert.deepEqual(bytesOf(z.file, t[0]!), storages[0]);
});

test('empty storages; an archive without data.pkl', () => {
  const z = buildTorchZip([Buffer.alloc(0), storages[0]!]);
  const seg = read(z.file);
  assertCovers(seg.segments, z.file.length);
  assert.deepEqual(tensorsOf(seg).map((x) => x.name), ['archive/data/1']);
  // An archive without data.pkl is not a torch.save archive.
  const empty = buildZip([]);
  assert.equal(empty.file.length, 22);
  expectFormatError(empty.file, /no <archive>\/data.pkl entry/);
});

test('sniff: .pt/.pth with the PK\\x03\\x04 magic only', () => {
  const head = buildTorchZip(storages).file.subarray(0, 64);
  assert.equal(pytorchReader.sniff(head, 'a/model.pt'), true);
  assert.equal(pytorchReader.sniff(head, 'a/model.PTH'), true);
  assert.equal(pytorchReader.sniff(head, 'a/model.bin'), false);
  assert.equal(pytorchReader.sniff(head, 'a/model.zip'), false);
  assert.equal(pytorchReader.sniff(Buffer.from([0x80, 0x02, 0x8a, 0x0a]), 'legacy.pt'), false);
  assert.equal(pytorchReader.sniff(Buffer.from('PK'), 'short.pt'), false);
});

test('reads only the directory and headers, never the storages', () => {
  const big = pseudoRandom(1 << 20, 7);
  const z = buildTorchZip([big, storages[1]!]);
  const src = new RecordingSource(NAME, z.file, 128 * 1024);
  const seg = pytorchReader.read(src);
  assertCovers(seg.segments, z.file.length);
  assert.ok(src.bytesRead < 200 * 1024, `read ${src.bytesRead} bytes`);
});

// ---- malformed input ----

function patch(file: Buffer, f: (b: Buffer) => void): Buffer {
  const b = Buffer.from(file);
  f(b);
  return b;
}

/** Reads through a source that refuses reads over 1 MiB: any failure must be a FormatError naming the file. */
function expectFormatError(file: Buffer, pattern?: RegExp): FormatError {
  return assertFormatError(() => pytorchReader.read(new RecordingSource(NAME, file, 1 << 20)), NAME, pattern);
}

test('truncated at every length: FormatError, never a crash', () => {
  for (const zip64 of [false, true]) {
    const { file } = buildTorchZip(storages, { zip64 });
    for (let n = 0; n < file.length; n++) expectFormatError(file.subarray(0, n));
  }
});

test('no EOCD, or EOCD further than 65557 bytes from the end', () => {
  expectFormatError(Buffer.alloc(100), /no ZIP end of central directory/);
  const { file } = buildTorchZip(storages);
  expectFormatError(Buffer.concat([file, Buffer.alloc(70000)]), /no ZIP end of central directory/);
});

test('central directory offset or size past the end', () => {
  const z = buildTorchZip(storages);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(0xfffffff0, z.eocdOffset + 16)), /central directory/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(z.file.length, z.eocdOffset + 12)), /central directory/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(z.cdSize - 1, z.eocdOffset + 12)), /central directory/);
});

test('huge entry counts are refused before anything is allocated', () => {
  const z = buildTorchZip(storages);
  expectFormatError(patch(z.file, (b) => {
    b.writeUInt16LE(0xfffe, z.eocdOffset + 8);
    b.writeUInt16LE(0xfffe, z.eocdOffset + 10);
  }), /entry count 65534/);
  const z64 = buildTorchZip(storages, { zip64: true });
  expectFormatError(patch(z64.file, (b) => {
    b.writeBigUInt64LE(1n << 50n, z64.zip64EocdOffset! + 24);
    b.writeBigUInt64LE(1n << 50n, z64.zip64EocdOffset! + 32);
  }), /entry count/);
  expectFormatError(patch(z64.file, (b) => b.writeBigUInt64LE(1n << 62n, z64.zip64EocdOffset! + 40)), /above 2\^53|central directory/);
  // A virtual 1 TiB file whose EOCD claims 2^40 bytes of central directory.
  const tb = 2 ** 40;
  const tail = patch(buildZip([]).file, (b) => b.writeUInt16LE(0xffff, 10));
  const src = new RecordingSource(NAME, Buffer.alloc(0), 1 << 20, tb);
  const orig = src.read.bind(src);
  src.read = (off: number, len: number) => {
    const out = Buffer.from(orig(off, len));
    const tStart = tb - tail.length;
    for (let i = 0; i < len; i++) if (off + i >= tStart) out[i] = tail[off + i - tStart]!;
    return out;
  };
  assertFormatError(() => pytorchReader.read(src), NAME, /entries on this disk|entry count/);
});

test('ZIP64 locator or record out of range, or inconsistent with the EOCD', () => {
  const z = buildTorchZip(storages, { zip64: true });
  const loc = z.zip64LocatorOffset!;
  const rec = z.zip64EocdOffset!;
  expectFormatError(patch(z.file, (b) => b.writeBigUInt64LE(BigInt(z.file.length), loc + 8)), /ZIP64/);
  expectFormatError(patch(z.file, (b) => b.writeBigUInt64LE(0xffffffffffffffffn, loc + 8)), /ZIP64/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(0, rec)), /ZIP64.*signature/);
  expectFormatError(patch(z.file, (b) => b.writeBigUInt64LE(1n << 40n, rec + 4)), /ZIP64.*size/);
  expectFormatError(patch(z.file, (b) => b.writeBigUInt64LE(BigInt(z.file.length), rec + 48)), /central directory/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(12345, z.eocdOffset + 16)), /disagrees/);
  // An entry's ZIP64 local header offset past the end.
  const c0 = z.entries[0]!.centralOffset;
  const nameLen = z.file.readUInt16LE(c0 + 28);
  expectFormatError(patch(z.file, (b) => b.writeBigUInt64LE(1n << 45n, c0 + 46 + nameLen + 4 + 16)), /local header offset/);
  // Escapes without the ZIP64 extra field.
  expectFormatError(patch(z.file, (b) => b.writeUInt16LE(0x9999, c0 + 46 + nameLen)), /no ZIP64 extra field/);
});

test('local header past the end, or not a local header', () => {
  const z = buildTorchZip(storages);
  const c = z.entries[2]!.centralOffset; // archive/data/0
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(0xfffffff0, c + 42)), /local header offset/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(z.cdOffset - 10, c + 42)), /local header offset/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(z.entries[2]!.dataOffset, c + 42)), /bad signature/);
  // Data size running into the central directory.
  expectFormatError(patch(z.file, (b) => {
    b.writeUInt32LE(1 << 30, c + 20);
    b.writeUInt32LE(1 << 30, c + 24);
  }), /run past the central directory/);
  // Local extra length running past the central directory.
  expectFormatError(patch(z.file, (b) => b.writeUInt16LE(0xffff, z.entries[4]!.localHeaderOffset + 28)), /run past the central directory/);
});

test('overlapping entries', () => {
  const z = buildTorchZip(storages);
  // data/1 points at data/0's local header.
  const c = z.entries[3]!.centralOffset;
  const bad = patch(z.file, (b) => {
    b.writeUInt32LE(z.entries[2]!.localHeaderOffset, c + 42);
    b.writeUInt32LE(storages[1]!.length, c + 20);
  });
  // Names differ, so either the name check or the overlap check fires; make names agree by pointing at an identical entry instead.
  expectFormatError(bad);
  const dup = buildZip([
    { name: 'archive/data/0', data: storages[0]! },
    { name: 'archive/data/1', data: storages[0]! },
  ]);
  const same = patch(dup.file, (b) => {
    // Second central entry: same name as the first and same local header.
    b.write('archive/data/0', dup.entries[1]!.centralOffset + 46, 'utf8');
    b.writeUInt32LE(dup.entries[0]!.localHeaderOffset, dup.entries[1]!.centralOffset + 42);
  });
  expectFormatError(same, /overlaps/);
  // Overlap of one entry's data with the next local header.
  const ov = patch(dup.file, (b) => {
    b.writeUInt32LE(storages[0]!.length + 1, dup.entries[0]!.centralOffset + 20);
    b.writeUInt32LE(storages[0]!.length + 1, dup.entries[0]!.centralOffset + 24);
  });
  expectFormatError(ov, /overlaps/);
});

test('method 0 with compressed size != uncompressed size; names and methods that disagree', () => {
  const z = buildTorchZip(storages);
  const c = z.entries[2]!.centralOffset;
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(storages[0]!.length + 1, c + 24)), /compressed size/);
  expectFormatError(patch(z.file, (b) => b.writeUInt16LE(8, c + 10)), /method/);
  expectFormatError(patch(z.file, (b) => b.write('X', c + 46, 'utf8')), /name/);
  expectFormatError(patch(z.file, (b) => b.writeUInt16LE(0xffff, c + 28)), /run past the end of the central directory/);
  expectFormatError(patch(z.file, (b) => b.writeUInt32LE(0, c)), /bad signature/);
  expectFormatError(patch(z.file, (b) => b.writeUInt16LE(1, z.eocdOffset + 6)), /multi-disk/);
});

test('random corruption: success or FormatError, never anything else', () => {
  for (const zip64 of [false, true]) {
    const { file } = buildTorchZip(storages, { zip64 });
    let x = 12345;
    for (let iter = 0; iter < 3000; iter++) {
      const b = Buffer.from(file);
      const flips = 1 + (iter % 4);
      for (let k = 0; k < flips; k++) {
        x = (x * 1103515245 + 12345) >>> 0;
        const at = x % b.length;
        x = (x * 1103515245 + 12345) >>> 0;
        b[at] = x >>> 24;
      }
      try {
        const seg = pytorchReader.read(new RecordingSource(NAME, b, 1 << 20));
        assertCovers(seg.segments, b.length);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        assert.ok(e.message.includes(NAME));
      }
    }
  }
});

// ---- real torch.save archives (test/fixtures/pytorch, written by make-fixtures.py with torch 1.13) ----

const FIXTURES = join(repoRoot(), 'test/fixtures/pytorch');

interface Expected {
  name: string; dtype: string; shape: number[]; stride: number[]; offset: number; storage: string; contiguous: boolean; sha256: string;
}

function fixture(name: string): { file: Buffer; expected: Expected[] } {
  return {
    file: readFileSync(join(FIXTURES, `${name}.pt`)),
    expected: (JSON.parse(readFileSync(join(FIXTURES, `${name}.expected.json`), 'utf8')) as { tensors: Expected[] }).tensors,
  };
}

test('real torch.save archives: every contiguous tensor is a segment with its state-dict name, dtype, shape and bytes', () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.expected.json')).map((f) => f.slice(0, -'.expected.json'.length));
  assert.ok(names.length >= 5, names.join(','));
  for (const name of names) {
    const { file, expected } = fixture(name);
    const seg = pytorchReader.read(new BufferSource(`${name}.pt`, file));
    assertCovers(seg.segments, file.length);
    const byName = new Map(tensorsOf(seg).map((t) => [t.name, t]));
    for (const e of expected) {
      if (!e.contiguous) continue;
      const t = byName.get(e.name);
      if (!t) {
        // A view inside a larger tensor of the same storage (tied weights, slices): that one is the segment.
        assert.ok(expected.some((o) => o.storage === e.storage && byName.has(o.name)), `${name}: ${e.name} has no segment`);
        continue;
      }
      assert.equal(t.dtype, e.dtype, `${name}: ${e.name}`);
      assert.deepEqual(t.shape, e.shape, `${name}: ${e.name}`);
      assert.equal(sha256(bytesOf(file, t)), e.sha256, `${name}: ${e.name} bytes`);
    }
  }
});

test('real archives: a whole module pickled with its classes names its tensors as its state dict does', () => {
  const seg = pytorchReader.read(new BufferSource('module.pt', fixture('module').file));
  assert.deepEqual(tensorsOf(seg).map((t) => t.name), fixture('mlp-state-dict').expected.map((e) => e.name));
});

test('real archives: tied weights and slices share one segment; a transpose leaves the storage whole', () => {
  const seg = pytorchReader.read(new BufferSource('views.pt', fixture('views').file));
  const t = tensorsOf(seg);
  assert.deepEqual(t.map((x) => [x.name, x.dtype, x.shape]), [['embed.weight', 'F32', [8, 16]]]);
});

test('real archives: the legacy (pre-1.6, non-zip) format is not sniffed as pytorch and is stored raw', () => {
  const file = readFileSync(join(FIXTURES, 'legacy.pt'));
  assert.equal(segmentFile(new BufferSource('legacy.pt', file), 'legacy.pt').format, 'raw');
});

test('real archives: the same state dict as .pt and as .safetensors cuts into the same tensor bytes', () => {
  const pt = tensorsOf(pytorchReader.read(new BufferSource('mlp.pt', fixture('mlp-state-dict').file)));
  const stFile = readFileSync(join(FIXTURES, 'mlp-state-dict.safetensors'));
  const st = tensorsOf(segmentFile(new BufferSource('mlp.safetensors', stFile), 'mlp.safetensors'));
  const ptFile = fixture('mlp-state-dict').file;
  assert.deepEqual(pt.map((t) => [t.name, t.dtype, t.shape, sha256(bytesOf(ptFile, t))]), st.map((t) => [t.name, t.dtype, t.shape, sha256(bytesOf(stFile, t))]));
});

test('real archives: flipped bytes anywhere give a result or a FormatError, never anything else', () => {
  for (const name of ['checkpoint', 'module', 'dtypes']) {
    const { file } = fixture(name);
    let x = 777;
    for (let iter = 0; iter < 1500; iter++) {
      const b = Buffer.from(file);
      x = (x * 1103515245 + 12345) >>> 0;
      // Half the flips land in data.pkl (the archive's first entry), where the pickle machine reads.
      const at = iter % 2 === 0 ? 64 + (x % 900) : x % b.length;
      x = (x * 1103515245 + 12345) >>> 0;
      b[at] = x >>> 24;
      try {
        assertCovers(pytorchReader.read(new RecordingSource(NAME, b, 1 << 20)).segments, b.length);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        assert.ok(e.message.includes(NAME));
      }
    }
  }
});

// ---- data.pkl written by hand: what torch would not write ----

function torchWith(tensors: PickledTensor[], storageBytes: Buffer[], opts: { byteorder?: string; deflate?: boolean } = {}): Buffer {
  const pkl = statePickle(tensors);
  return buildZip([
    opts.deflate ? { name: 'archive/data.pkl', data: deflateRawSync(pkl), method: 8, uncompressedSize: pkl.length } : { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: Buffer.from(opts.byteorder ?? 'little') },
    ...storageBytes.map((data, i) => ({ name: `archive/data/${i}`, data })),
  ]).file;
}

test('views at offsets: each its own segment, the bytes between them 1-D segments of the storage dtype', () => {
  const store = pseudoRandom(4 * 100, 3);
  const file = torchWith([
    { name: 'b', storageType: 'FloatStorage', key: '0', numel: 100, offset: 60, shape: [4, 5] },
    { name: 'a', storageType: 'FloatStorage', key: '0', numel: 100, offset: 10, shape: [10, 3] },
    { name: 'a.inner', storageType: 'FloatStorage', key: '0', numel: 100, offset: 12, shape: [5] },
    { name: 'strided', storageType: 'FloatStorage', key: '0', numel: 100, offset: 0, shape: [10], stride: [10] },
  ], [store]);
  const seg = read(file);
  assertCovers(seg.segments, file.length);
  assert.deepEqual(tensorsOf(seg).map((t) => [t.name, t.dtype, t.shape, t.length]), [
    ['archive/data/0[0:10]', 'F32', [10], 40], ['a', 'F32', [10, 3], 120], ['archive/data/0[40:60]', 'F32', [20], 80],
    ['b', 'F32', [4, 5], 80], ['archive/data/0[80:100]', 'F32', [20], 80],
  ]);
});

test('half, bfloat16 and untyped storages; deflated data.pkl; big-endian archives keep bytes without a dtype', () => {
  const h = pseudoRandom(2 * 12, 4);
  const tensors: PickledTensor[] = [
    { name: 'h', storageType: 'HalfStorage', key: '0', numel: 12, shape: [3, 4] },
    { name: 'bf', storageType: 'BFloat16Storage', key: '1', numel: 12, shape: [12] },
    { name: 'u', storageType: 'UntypedStorage', key: '2', numel: 24, shape: [24] },
  ];
  for (const deflate of [false, true]) {
    const t = tensorsOf(read(torchWith(tensors, [h, h, h], { deflate })));
    assert.deepEqual(t.map((x) => [x.name, x.dtype]), [['h', 'F16'], ['bf', 'BF16'], ['u', 'U8']]);
  }
  const be = tensorsOf(read(torchWith(tensors, [h, h, h], { byteorder: 'big' })));
  assert.deepEqual(be.map((x) => [x.name, x.dtype, x.shape]), [['h', 'UNKNOWN', [24]], ['bf', 'UNKNOWN', [24]], ['u', 'UNKNOWN', [24]]]);
});

test('tensors that do not fit their storage, or storages described two ways: a FormatError naming the tensor', () => {
  const s = pseudoRandom(4 * 10, 5);
  const t = (o: Partial<PickledTensor>): PickledTensor => ({ name: 'w', storageType: 'FloatStorage', key: '0', numel: 10, shape: [10], ...o });
  expectFormatError(torchWith([t({ offset: 5 })], [s]), /tensor 'w' reaches element 14 of storage archive\/data\/0, which has 10/);
  expectFormatError(torchWith([t({ shape: [2, 5], stride: [9, 1] })], [s]), /tensor 'w' reaches element 13/);
  expectFormatError(torchWith([t({ numel: 11, shape: [11] })], [s]), /holds 11 F32 elements \(44 bytes\) but the entry has 40 bytes/);
  expectFormatError(torchWith([t({}), t({ name: 'v', storageType: 'IntStorage' })], [s]), /'w' and 'v' describe storage archive\/data\/0 differently/);
  expectFormatError(torchWith([t({ storageType: 'MysteryStorage' })], [s]), /tensor 'w': unknown storage type torch.MysteryStorage/);
  expectFormatError(torchWith([t({ key: '../0' })], [s]), /storage key is not a decimal string/);
  expectFormatError(torchWith([t({ shape: [2, 5], stride: [5] })], [s]), /2 sizes but 1 strides/);
  expectFormatError(buildZip([{ name: 'archive/data/0', data: s }]).file, /no <archive>\/data.pkl entry/);
  const pkl = statePickle([]);
  expectFormatError(buildZip([{ name: 'archive/data.pkl', data: pkl.subarray(0, pkl.length - 1) }]).file, /data.pkl at byte \d+: ends without STOP/);
  expectFormatError(buildZip([{ name: 'archive/data.pkl', data: Buffer.from('junk'), method: 8, uncompressedSize: 20 }]).file, /deflate data is corrupt/);
});
