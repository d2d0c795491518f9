import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import type { InferenceSession } from 'onnxruntime-node';
import { TesseraError } from '../../src/errors.js';
import type { ErrorKind } from '../../src/errors.js';
import { MAX_NPY_HEADER, parseNpy } from '../../src/formats/npy.js';
import {
  bindInputs, checkEvalFileSize, MAX_EVAL_FILE_BYTES, modelInputs, readEvalData, readLabels, splitRows, takeRows,
} from '../../src/approx/eval-data.js';
import type { EvalData, ModelInput } from '../../src/approx/eval-data.js';
import { buildZip, crc32 } from '../helpers/build-zip.js';
import { crc32 as productCrc32 } from '../../src/formats/crc32.js';
import type { ZipTestEntry } from '../helpers/build-zip.js';
import { assertFormatError } from '../helpers/sources.js';

/** Evaluation data readers (src/approx/eval-data.ts) and the .npy parser (src/formats/npy.ts, vector in npy.md). */

const DIR = mkdtempSync(join(tmpdir(), 'tessera-eval-data-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

let fileNo = 0;
function file(name: string, bytes: Buffer | string): string {
  const p = join(DIR, `${fileNo++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/**
 * A .npy file as NumPy's writer lays it out: the sorted-key dict, growth room
 * (21 - len(str(shape[0])) spaces), spaces and '\n' to a multiple of 64.
 * `header` replaces the dict text; `headerLength` the declared length.
 */
function npy(descr: string, shape: readonly number[], data: Buffer, opts: { fortran?: boolean; version?: 1 | 2 | 3; header?: string; headerLength?: number } = {}): Buffer {
  const version = opts.version ?? 1;
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = opts.header ?? `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${tuple}, }`;
  if (opts.header === undefined && shape.length > 0) dict += ' '.repeat(21 - String(shape[opts.fortran ? shape.length - 1 : 0]).length);
  const pre = version === 1 ? 10 : 12;
  const text = Buffer.from(dict, version === 3 ? 'utf8' : 'latin1');
  const pad = 64 - ((pre + text.length + 1) % 64);
  const header = Buffer.concat([text, Buffer.alloc(pad, 0x20), Buffer.from('\n')]);
  const prefix = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(prefix);
  if (version === 1) prefix.writeUInt16LE(opts.headerLength ?? header.length, 8);
  else prefix.writeUInt32LE(opts.headerLength ?? header.length, 8);
  return Buffer.concat([prefix, header, data]);
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const f32 = (...v: number[]): Buffer => bytesOf(new Float32Array(v));
const f64 = (...v: number[]): Buffer => bytesOf(new Float64Array(v));
const i32 = (...v: number[]): Buffer => bytesOf(new Int32Array(v));
const i64 = (...v: bigint[]): Buffer => bytesOf(new BigInt64Array(v));
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const range = (n: number, scale = 1): number[] => Array.from({ length: n }, (_, i) => i * scale);

/** Runs fn and checks it throws a TesseraError of `kind` whose message matches. */
function throwsKind(fn: () => unknown, kind: ErrorKind, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TesseraError, `expected a TesseraError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}
const invalidMatching = (fn: () => unknown, pattern: RegExp): void => throwsKind(fn, 'invalid', pattern);

// ---------------------------------------------------------------------------
// .npy parser

test('npy.md vector: the bytes NumPy writes for float32 [1, 2] read back', () => {
  const vector = hex(`
    93 4e 55 4d 50 59 01 00 76 00 7b 27 64 65 73 63
    72 27 3a 20 27 3c 66 34 27 2c 20 27 66 6f 72 74
    72 61 6e 5f 6f 72 64 65 72 27 3a 20 46 61 6c 73
    65 2c 20 27 73 68 61 70 65 27 3a 20 28 32 2c 29
    2c 20 7d 20 20 20 20 20 20 20 20 20 20 20 20 20
    20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20
    20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20
    20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 0a
    00 00 80 3f 00 00 00 40`);
  assert.equal(vector.length, 136);
  // The test's writer follows the same layout (an independent check of both).
  assert.deepEqual(npy('<f4', [2], f32(1, 2)), vector);
  const a = parseNpy(vector, 'tiny.npy');
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [2]);
  assert.ok(a.data instanceof Float32Array);
  assert.deepEqual([...a.data], [1, 2]);
});

test('npy: every dtype round-trips, from an unaligned Buffer offset, into an aligned typed array', () => {
  const cases: [string, string, Buffer, unknown[], new (n: number) => ArrayBufferView][] = [
    ['<f4', 'float32', f32(1.5, -2, 3.25, 0, 1e-3, 7), [1.5, -2, 3.25, 0, Math.fround(1e-3), 7], Float32Array],
    ['<f8', 'float64', f64(0.1, -0.2, 1e300, 4, 5, 6), [0.1, -0.2, 1e300, 4, 5, 6], Float64Array],
    ['|i1', 'int8', Buffer.from([0x80, 0xff, 0, 1, 2, 0x7f]), [-128, -1, 0, 1, 2, 127], Int8Array],
    ['<i2', 'int16', bytesOf(new Int16Array([-32768, -1, 0, 1, 2, 32767])), [-32768, -1, 0, 1, 2, 32767], Int16Array],
    ['<i4', 'int32', i32(-(2 ** 31), -1, 0, 1, 2, 2 ** 31 - 1), [-(2 ** 31), -1, 0, 1, 2, 2 ** 31 - 1], Int32Array],
    ['<i8', 'int64', i64(-(2n ** 63n), -1n, 0n, 1n, 2n, 2n ** 63n - 1n), [-(2n ** 63n), -1n, 0n, 1n, 2n, 2n ** 63n - 1n], BigInt64Array],
    ['|u1', 'uint8', Buffer.from([0, 1, 2, 3, 254, 255]), [0, 1, 2, 3, 254, 255], Uint8Array],
    ['<u2', 'uint16', bytesOf(new Uint16Array([0, 1, 2, 3, 65534, 65535])), [0, 1, 2, 3, 65534, 65535], Uint16Array],
    ['<u4', 'uint32', bytesOf(new Uint32Array([0, 1, 2, 3, 2 ** 32 - 2, 2 ** 32 - 1])), [0, 1, 2, 3, 2 ** 32 - 2, 2 ** 32 - 1], Uint32Array],
    ['|b1', 'bool', Buffer.from([1, 0, 0, 1, 1, 0]), [1, 0, 0, 1, 1, 0], Uint8Array],
  ];
  for (const [descr, dtype, data, values, ctor] of cases) {
    const bytes = npy(descr, [2, 3], data);
    // One byte in front: the array's bytes start at an odd offset of the underlying memory.
    const odd = Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
    const a = parseNpy(odd, `${dtype}.npy`);
    assert.equal(a.dtype, dtype);
    assert.deepEqual(a.shape, [2, 3]);
    assert.ok(a.data instanceof ctor, dtype);
    assert.equal(a.data.byteOffset, 0);
    assert.deepEqual([...a.data], values, dtype);
  }
});

test('npy: versions 2.0 and 3.0, scalars, empty arrays, 1-D Fortran order, Python 2 long dims, other padding', () => {
  assert.deepEqual([...parseNpy(npy('<f4', [3], f32(1, 2, 3), { version: 2 }), 'v2.npy').data], [1, 2, 3]);
  assert.deepEqual([...parseNpy(npy('<i4', [2], i32(4, 5), { version: 3 }), 'v3.npy').data], [4, 5]);
  const scalar = parseNpy(npy('<f8', [], f64(2.5)), 'scalar.npy');
  assert.deepEqual(scalar.shape, []);
  assert.deepEqual([...scalar.data], [2.5]);
  assert.deepEqual(parseNpy(npy('<f4', [0, 4], Buffer.alloc(0)), 'empty.npy').shape, [0, 4]);
  assert.deepEqual([...parseNpy(npy('<f4', [2], f32(1, 2), { fortran: true }), 'f1d.npy').data], [1, 2]);
  const old = npy('<f4', [2, 1], f32(1, 2), { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }" });
  assert.deepEqual(parseNpy(old, 'py2.npy').shape, [2, 1]);
  // No padding at all, double quotes, no trailing comma: still the same literal.
  const bare = Buffer.from('{"shape": (2,), "fortran_order": False, "descr": "<f4"}');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(bare.length);
  const tight = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), len, bare, f32(3, 4)]);
  assert.deepEqual([...parseNpy(tight, 'tight.npy').data], [3, 4]);
});

test('npy: malformed files are FormatErrors naming the file and the cause', () => {
  const good = npy('<f4', [2, 3], f32(...range(6)));
  const cases: [string, Buffer, RegExp][] = [
    ['too short', good.subarray(0, 8), /too short/],
    ['wrong magic', Buffer.concat([Buffer.from('PK'), good.subarray(2)]), /no \\x93NUMPY magic/],
    ['version 4', Buffer.concat([good.subarray(0, 6), Buffer.from([4, 0]), good.subarray(8)]), /version 4\.0 is not supported/],
    ['truncated data', good.subarray(0, good.length - 1), /needs 24 bytes of data, the file has 23/],
    ['extra data', Buffer.concat([good, Buffer.alloc(4)]), /needs 24 bytes of data, the file has 28/],
    ['shape larger than the data', npy('<f4', [1000, 1000], f32(1)), /needs 4000000 bytes of data, the file has 4/],
    ['huge dims multiplied', npy('<f4', [2 ** 52, 2 ** 52, 2 ** 52], f32(1)), /needs more than 2\^53 bytes of data, the file has 4/],
    ['Fortran order', npy('<f4', [2, 3], f32(...range(6)), { fortran: true }), /Fortran-order array of shape \(2, 3\)/],
    ['big-endian', npy('>f4', [2], f32(1, 2)), /'>f4' is big-endian/],
    ['native order on a multi-byte dtype', npy('=i4', [1], i32(1)), /byte order '='/],
    ['huge header length (v2)', npy('<f4', [1], f32(1), { version: 2, headerLength: 0x7fffffff }), new RegExp(`header length 2147483647 exceeds ${MAX_NPY_HEADER}`)],
    ['header past the end', npy('<f4', [1], f32(1), { headerLength: 5000 }), /header of 5000 bytes runs past the end/],
    ['float16', npy('<f2', [1], Buffer.alloc(2)), /float16 is not supported/],
    ['uint64', npy('<u8', [1], Buffer.alloc(8)), /uint64 is not supported/],
    ['complex', npy('<c8', [1], Buffer.alloc(8)), /complex numbers are not supported/],
    ['strings', npy('<U3', [1], Buffer.alloc(12)), /unicode string arrays/],
    ['unknown dtype', npy('<q7', [1], Buffer.alloc(7)), /dtype '<q7' is not supported/],
    ['unparseable dtype', npy('float32', [1], f32(1)), /dtype 'float32' is not supported/],
    ['structured dtype', npy('', [1], f32(1), { header: "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }" }), /structured dtypes/],
    ['bool byte 2', npy('|b1', [3], Buffer.from([0, 1, 2])), /bool element 2 is 2/],
    ['nine dimensions', npy('<f4', [1, 1, 1, 1, 1, 1, 1, 1, 1], f32(1)), /has 9 dimensions, at most 8 are read/],
    ['a thousand dimensions', npy('<f4', new Array<number>(1000).fill(1), f32(1)), /shape has more than 8 dimensions/],
    ['(3) is not a tuple', npy('', [3], f32(1, 2, 3), { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }" }), /shape \(3\) is not a tuple/],
    ['negative dim', npy('', [1], f32(1), { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }" }), /expected a non-negative integer/],
    ['unexpected key', npy('', [1], f32(1), { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 'y'}" }), /unexpected key 'x'/],
    ['missing key', npy('', [1], f32(1), { header: "{'descr': '<f4', 'shape': (1,), }" }), /'fortran_order' is missing/],
    ['duplicate key', npy('', [1], f32(1), { header: "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}" }), /'descr' appears twice/],
    ['an expression', npy('', [1], f32(1), { header: "{'descr': '<f4', 'fortran_order': __import__('os'), 'shape': (1,)}" }), /expected a string, True, False or a tuple/],
    ['text after the dict', npy('', [1], f32(1), { header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x" }), /only spaces and a newline after the dict/],
    ['invalid UTF-8 in a 3.0 header', npy('', [1], f32(1), { version: 3, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}" }).fill(0xff, 20, 21), /not valid UTF-8/],
  ];
  for (const [what, bytes, pattern] of cases) {
    const e = assertFormatError(() => parseNpy(bytes, `case-${what}.npy`), `case-${what}.npy`, pattern);
    assert.equal(e.kind, 'invalid', what);
  }
});

// ---------------------------------------------------------------------------
// readEvalData

test('readEvalData .npy: one unnamed tensor and its rows', () => {
  const p = file('x.npy', npy('<f4', [3, 2], f32(...range(6, 0.5))));
  const d = readEvalData(p);
  assert.equal(d.source, p);
  assert.equal(d.rows, 3);
  assert.equal(d.tensors.length, 1);
  assert.equal(d.tensors[0]!.name, undefined);
  assert.deepEqual(d.tensors[0]!.shape, [3, 2]);
  assert.deepEqual([...d.tensors[0]!.data], range(6, 0.5));
});

/** An .npz; deflated entries get the CRC-32 of their uncompressed bytes (buildZip writes that of the bytes it is given). */
function npz(entries: (ZipTestEntry & { plain?: Buffer })[]): Buffer {
  const zip = buildZip(entries);
  for (const [i, e] of entries.entries()) {
    if (!e.plain) continue;
    const built = zip.entries[i]!;
    zip.file.writeUInt32LE(crc32(e.plain), built.localHeaderOffset + 14);
    zip.file.writeUInt32LE(crc32(e.plain), built.centralOffset + 16);
  }
  return zip.file;
}
const deflated = (name: string, data: Buffer): ZipTestEntry & { plain: Buffer } => ({ name, data: deflateRawSync(data), method: 8, uncompressedSize: data.length, plain: data });

test('readEvalData .npz: stored (savez) and deflated (savez_compressed) entries, named after the entry', () => {
  const x = npy('<f4', [4, 3], f32(...range(12, 0.25)));
  const ids = npy('<i8', [4], i64(7n, 8n, 9n, -1n));
  const mask = npy('|b1', [4, 1], Buffer.from([1, 0, 1, 1]));
  for (const [how, entries] of [
    ['stored', [{ name: 'x.npy', data: x }, { name: 'ids.npy', data: ids }, { name: 'mask.npy', data: mask }]],
    ['deflated', [deflated('x.npy', x), deflated('ids.npy', ids), deflated('mask.npy', mask)]],
    ['mixed', [deflated('x.npy', x), { name: 'ids.npy', data: ids }, deflated('mask.npy', mask)]],
  ] as [string, ZipTestEntry[]][]) {
    const d = readEvalData(file(`${how}.npz`, npz(entries)));
    assert.equal(d.rows, 4, how);
    assert.deepEqual(d.tensors.map((t) => [t.name, t.dtype, t.shape]), [['x', 'float32', [4, 3]], ['ids', 'int64', [4]], ['mask', 'bool', [4, 1]]], how);
    assert.deepEqual([...d.tensors[0]!.data], range(12, 0.25));
    assert.deepEqual([...d.tensors[1]!.data], [7n, 8n, 9n, -1n]);
    assert.deepEqual([...d.tensors[2]!.data], [1, 0, 1, 1]);
  }
});

test('readEvalData .npz: errors name the archive and the entry', () => {
  const x10 = npy('<f4', [10, 64], Buffer.alloc(10 * 64 * 4));
  const y12 = npy('<i8', [12], Buffer.alloc(12 * 8));
  const p = file('eval.npz', npz([{ name: 'x.npy', data: x10 }, { name: 'y.npy', data: y12 }]));
  invalidMatching(() => readEvalData(p), /eval\.npz: x\.npy: shape \(10, 64\) has 10 rows, y\.npy has 12$/);

  invalidMatching(() => readEvalData(file('notes.npz', npz([{ name: 'x.npy', data: x10 }, { name: 'notes.txt', data: Buffer.from('hi') }]))), /notes\.npz: entry 'notes\.txt' is not a NAME\.npy array/);
  invalidMatching(() => readEvalData(file('bz.npz', npz([{ name: 'x.npy', data: x10, method: 12 }]))), /bz\.npz: x\.npy: compression method 12 is not supported/);
  invalidMatching(() => readEvalData(file('none.npz', npz([]))), /none\.npz: the \.npz archive holds no arrays/);
  // The header of an entry is parsed with the archive and entry in its name.
  invalidMatching(() => readEvalData(file('bad.npz', npz([{ name: 'x.npy', data: npy('>f4', [1], f32(1)) }]))), /bad\.npz: x\.npy: \.npy: dtype '>f4' is big-endian/);
  // A flipped data byte: the CRC-32 catches it.
  const zip = buildZip([{ name: 'x.npy', data: npy('<f4', [2], f32(1, 2)) }]);
  zip.file[zip.entries[0]!.dataOffset + 130] ^= 1;
  invalidMatching(() => readEvalData(file('crc.npz', zip.file)), /crc\.npz: x\.npy: CRC-32 0x[0-9a-f]{8} differs from the archive's/);
  // Deflated data longer than declared: inflation stops at the declared size.
  const long = npy('<f4', [256], Buffer.alloc(1024));
  invalidMatching(() => readEvalData(file('bomb.npz', npz([{ name: 'x.npy', data: deflateRawSync(long), method: 8, uncompressedSize: 100 }]))), /bomb\.npz: x\.npy: deflated data does not inflate to the declared 100 bytes/);
  // Not a ZIP at all: the ZIP reader's FormatError, naming the file.
  invalidMatching(() => readEvalData(file('fake.npz', npy('<f4', [1], f32(1)))), /fake\.npz: npz: no ZIP end of central directory record/);
});

test('readEvalData .json: an OIP request, flat and nested data, datatypes checked', () => {
  const p = file('req.json', JSON.stringify({
    inputs: [
      { name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6.5]] },
      { name: 'ids', shape: [2], datatype: 'INT64', data: [1, '9007199254740993'] },
      { name: 'm', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
      { name: 'd', shape: [2], datatype: 'FP64', data: [0.1, 'NaN'] },
    ],
  }));
  const d = readEvalData(p);
  assert.equal(d.rows, 2);
  assert.deepEqual(d.tensors.map((t) => [t.name, t.dtype, t.shape]), [['x', 'float32', [2, 3]], ['ids', 'int64', [2]], ['m', 'bool', [2, 1]], ['d', 'float64', [2]]]);
  assert.deepEqual([...d.tensors[0]!.data], [1, 2, 3, 4, 5, 6.5]);
  assert.deepEqual([...d.tensors[1]!.data], [1n, 9007199254740993n]);
  assert.deepEqual([...d.tensors[2]!.data], [1, 0]);
  assert.ok(Number.isNaN(d.tensors[3]!.data[1]));

  const req = (input: Record<string, unknown>): string => file('bad.json', JSON.stringify({ inputs: [input] }));
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [2], datatype: 'FP16', data: [1, 2] })), /bad\.json: input "x": datatype FP16 is not supported in evaluation data/);
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [2], datatype: 'FLOAT', data: [1, 2] })), /bad\.json: input "x": "datatype" "FLOAT"/);
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] })), /bad\.json: input "x": "data" has 3 elements, the shape \[2,2\] needs 4/);
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [2], datatype: 'INT8', data: [1, 300] })), /bad\.json: input "x": element 1 \(300\) is not a INT8 value/);
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [1], datatype: 'FP32', data: [1e300] })), /bad\.json: input "x": element 0 \(1e\+300\) is beyond FP32's range/);
  invalidMatching(() => readEvalData(req({ name: 'x', shape: [1.5], datatype: 'FP32', data: [1] })), /bad\.json: input "x": shape dimension 1\.5/);
  invalidMatching(() => readEvalData(req({ shape: [1], datatype: 'FP32', data: [1] })), /bad\.json: inputs\[0\]: "name" must be a non-empty string/);
  invalidMatching(() => readEvalData(file('two.json', JSON.stringify({ inputs: [{ name: 'a', shape: [2], datatype: 'FP32', data: [1, 2] }, { name: 'b', shape: [3], datatype: 'FP32', data: [1, 2, 3] }] }))), /two\.json: input "a": shape \(2,\) has 2 rows, input "b" has 3/);
  invalidMatching(() => readEvalData(file('nojson.json', '{"inputs": [')), /nojson\.json: malformed JSON/);
  invalidMatching(() => readEvalData(file('noinputs.json', '{"x": 1}')), /noinputs\.json: expected an inference request/);
});

test('readEvalData: file-level bounds (size, empty, missing, type) and row checks', () => {
  throwsKind(() => checkEvalFileSize('big.npy', 11, 10), 'too-large', /big\.npy: 11 bytes; .* at most 10 bytes/);
  assert.doesNotThrow(() => checkEvalFileSize('ok.npy', 10, 10));
  assert.equal(MAX_EVAL_FILE_BYTES, 2 ** 30);
  invalidMatching(() => readEvalData(file('empty.npy', Buffer.alloc(0))), /empty\.npy: empty file/);
  throwsKind(() => readEvalData(join(DIR, 'absent.npy')), 'not-found', /absent\.npy: no such file/);
  const dir = join(DIR, 'dir.npy');
  mkdirSync(dir);
  invalidMatching(() => readEvalData(dir), /dir\.npy: not a regular file/);
  invalidMatching(() => readEvalData(file('data.csv', '1,2\n')), /data\.csv: unknown file type '\.csv': expected \.npy, \.npz, \.json/);
  invalidMatching(() => readEvalData(file('scalar.npy', npy('<f4', [], f32(1)))), /scalar\.npy: a scalar \(shape \(\)\)/);
  invalidMatching(() => readEvalData(file('norows.npy', npy('<f4', [0, 3], Buffer.alloc(0)))), /norows\.npy: shape \(0, 3\) has no rows/);
  invalidMatching(() => readEvalData(file('trunc.npy', npy('<f4', [4], f32(1, 2, 3)))), /trunc\.npy: \.npy: shape \(4,\) of <f4 needs 16 bytes of data, the file has 12/);
});

// ---------------------------------------------------------------------------
// Labels

test('readLabels: integer .npy of (rows,) or (rows, 1), and JSON arrays', () => {
  assert.deepEqual([...readLabels(file('l.npy', npy('<i8', [3], i64(0n, 9n, 2n))), 3)], [0, 9, 2]);
  assert.deepEqual([...readLabels(file('l.npy', npy('<i4', [3, 1], i32(1, 2, -3))), 3)], [1, 2, -3]);
  assert.deepEqual([...readLabels(file('l.npy', npy('|u1', [2], Buffer.from([5, 255]))), 2)], [5, 255]);
  assert.deepEqual([...readLabels(file('l.npy', npy('|b1', [2], Buffer.from([1, 0]))), 2)], [1, 0]);
  assert.deepEqual([...readLabels(file('l.json', '[3, 1, 4]'), 3)], [3, 1, 4]);
  assert.deepEqual([...readLabels(file('l.json', '{"labels": [2, 7]}'), 2)], [2, 7]);
});

test('readLabels: wrong counts, shapes, non-integers and out-of-range values name the file', () => {
  invalidMatching(() => readLabels(file('count.npy', npy('<i8', [3], i64(0n, 1n, 2n))), 4), /count\.npy: 3 labels, the evaluation data has 4 rows/);
  invalidMatching(() => readLabels(file('count.json', '[1, 2]'), 3), /count\.json: 2 labels, the evaluation data has 3 rows/);
  invalidMatching(() => readLabels(file('float.npy', npy('<f4', [2], f32(1, 2))), 2), /float\.npy: labels must be integers, the array is float32/);
  invalidMatching(() => readLabels(file('float.json', '[1, 2.5]'), 2), /float\.json: label 1 \(2\.5\) is not an integer in int32's range/);
  invalidMatching(() => readLabels(file('str.json', '{"labels": [1, "2"]}'), 2), /str\.json: label 1 \("2"\) is not an integer/);
  invalidMatching(() => readLabels(file('big.json', `[${2 ** 31}]`), 1), /big\.json: label 0 \(2147483648\) is not an integer in int32's range/);
  invalidMatching(() => readLabels(file('big.npy', npy('<i8', [2], i64(1n, 2n ** 40n))), 2), /big\.npy: label 1 \(1099511627776\) is outside int32's range/);
  invalidMatching(() => readLabels(file('bigu.npy', npy('<u4', [1], bytesOf(new Uint32Array([2 ** 31])))), 1), /bigu\.npy: label 0 \(2147483648\) is outside int32's range/);
  invalidMatching(() => readLabels(file('wide.npy', npy('<i4', [2, 2], i32(1, 2, 3, 4))), 2), /wide\.npy: labels of shape \(2, 2\); expected \(rows,\) or \(rows, 1\)/);
  invalidMatching(() => readLabels(file('obj.json', '{"y": [1]}'), 1), /obj\.json: expected an array of integer labels/);
  invalidMatching(() => readLabels(file('l.npz', npz([])), 1), /l\.npz: unknown file type '\.npz': expected \.npy, \.json/);
});

// ---------------------------------------------------------------------------
// Binding

function evalData(source: string, tensors: EvalData['tensors']): EvalData {
  return { source, tensors, rows: tensors[0]!.shape[0]! };
}
const x34 = { name: 'x', dtype: 'float32' as const, shape: [3, 4], data: new Float32Array(range(12)) };

test('bindInputs: an unnamed .npy array feeds a one-input model; named tensors bind by name in the model order', () => {
  const one = bindInputs(evalData('d.npy', [{ ...x34, name: undefined }]), [{ name: 'input', type: 'float32', shape: ['batch', 4] }]);
  assert.equal(one.rowByRow, false);
  assert.deepEqual(one.inputs.map((i) => [i.name, i.type, i.dims]), [['input', 'float32', [3, 4]]]);
  assert.equal(one.inputs[0]!.data, x34.data);

  const ids = { name: 'ids', dtype: 'int64' as const, shape: [3], data: new BigInt64Array([1n, 2n, 3n]) };
  const two = bindInputs(evalData('d.npz', [x34, ids]), [{ name: 'ids', type: 'int64', shape: [-1] }, { name: 'x', type: 'float32', shape: ['n', 4] }]);
  assert.deepEqual(two.inputs.map((i) => i.name), ['ids', 'x']);
  assert.equal(two.rowByRow, false);
  // An input without a declared shape is not checked.
  assert.doesNotThrow(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: [] }]));
});

test('bindInputs: float64 to float32 and int32 to int64 are converted, nothing else', () => {
  const d64 = { name: 'x', dtype: 'float64' as const, shape: [2], data: new Float64Array([0.1, -2.5]) };
  const b = bindInputs(evalData('d.npz', [d64]), [{ name: 'x', type: 'float32', shape: ['n'] }]).inputs[0]!;
  assert.equal(b.type, 'float32');
  assert.ok(b.data instanceof Float32Array);
  assert.deepEqual([...b.data], [Math.fround(0.1), -2.5]);
  invalidMatching(() => bindInputs(evalData('d.npz', [{ ...d64, data: new Float64Array([1e300, 1]) }]), [{ name: 'x', type: 'float32', shape: ['n'] }]), /d\.npz: tensor "x": element 0 \(1e\+300\) is beyond float32's range/);

  const d32 = { name: 'ids', dtype: 'int32' as const, shape: [2], data: new Int32Array([-(2 ** 31), 7]) };
  const c = bindInputs(evalData('d.npz', [d32]), [{ name: 'ids', type: 'int64', shape: ['n'] }]).inputs[0]!;
  assert.equal(c.type, 'int64');
  assert.deepEqual([...c.data], [-(2n ** 31n), 7n]);

  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'int64', shape: [-1, 4] }]), /d\.npz: tensor "x": dtype float32, but the model's input "x" takes int64/);
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float64', shape: [-1, 4] }]), /dtype float32, but the model's input "x" takes float64/);
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float16', shape: [-1, 4] }]), /takes float16, which evaluation data cannot hold/);
});

test('bindInputs: missing inputs, extra tensors and an unnamed array for a many-input model are errors naming them', () => {
  const y = { name: 'y', dtype: 'float32' as const, shape: [3], data: new Float32Array(3) };
  const z = { name: 'z', dtype: 'float32' as const, shape: [3], data: new Float32Array(3) };
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: [] }, { name: 'mask', type: 'bool', shape: [] }]), /d\.npz: no tensor for the model's input "mask" \(the file holds "x"\)/);
  invalidMatching(() => bindInputs(evalData('d.npz', [x34, y, z]), [{ name: 'x', type: 'float32', shape: [] }]), /d\.npz: tensors "y", "z" match no model input \(the model takes "x"\)/);
  invalidMatching(() => bindInputs(evalData('d.npy', [{ ...x34, name: undefined }]), [{ name: 'a', type: 'float32', shape: [] }, { name: 'b', type: 'float32', shape: [] }]), /d\.npy: a \.npy file holds one unnamed array, but the model has 2 inputs \("a", "b"\)/);
});

test('bindInputs: inner dimensions and rank against the model; the first dimension decides rowByRow', () => {
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: ['batch', 5] }]), /d\.npz: tensor "x": shape \(3, 4\) does not fit the model's input "x" \[batch, 5\]: dimension 1 is 4, the model needs 5/);
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: ['batch', 4, 1] }]), /shape \(3, 4\) has 2 dimensions, the model's input "x" \[batch, 4, 1\] has 3/);
  // Fixed at 1 with more rows: run row by row.
  assert.equal(bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: [1, 4] }]).rowByRow, true);
  // Fixed at the number of rows: one run.
  // A first dimension fixed at the rows would not take the subsets the search runs.
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: [3, 4] }]), /takes exactly 3 rows per run; the rows are evaluated in subsets/);
  // One row and a first dimension of 1: one run, not "row by row".
  const x14 = { ...x34, shape: [1, 4], data: new Float32Array(4) };
  assert.equal(bindInputs(evalData('d.npz', [x14]), [{ name: 'x', type: 'float32', shape: [1, 4] }]).rowByRow, false);
  invalidMatching(() => bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: [5, 4] }]), /d\.npz: tensor "x": the model's input "x" \[5, 4\] takes exactly 5 rows per run; the rows are evaluated in subsets \(the search and held-out splits, runs of up to 1024\), so its first dimension must be dynamic or 1/);
  // Inputs cannot mix a fixed 1 with a fixed number of rows.
  const y = { name: 'y', dtype: 'float32' as const, shape: [3], data: new Float32Array(3) };
  invalidMatching(() => bindInputs(evalData('d.npz', [x34, y]), [{ name: 'x', type: 'float32', shape: [1, 4] }, { name: 'y', type: 'float32', shape: [3] }]), /tensor "y": the model's input "y" \[3\] takes exactly 3 rows per run/);
  // A dynamic first dimension alongside a fixed 1: row by row for both.
  const both = bindInputs(evalData('d.npz', [x34, y]), [{ name: 'x', type: 'float32', shape: [1, 4] }, { name: 'y', type: 'float32', shape: ['n'] }]);
  assert.equal(both.rowByRow, true);
});

test('modelInputs: onnxruntime-node inputMetadata entries are ModelInputs as they are; non-tensors are refused', () => {
  const meta: InferenceSession.ValueMetadata[] = [
    { name: 'x', isTensor: true, type: 'float32', shape: ['batch', 4] },
    { name: 'n', isTensor: true, type: 'int64', shape: [] },
  ];
  const inputs: ModelInput[] = modelInputs(meta);
  assert.deepEqual(inputs.map((i) => [i.name, i.type, [...i.shape]]), [['x', 'float32', ['batch', 4]], ['n', 'int64', []]]);
  throwsKind(() => modelInputs([{ name: 'seq', isTensor: false }]), 'unsupported', /the model's input "seq" is not a tensor/);
});

test('takeRows: the given rows in the given order, any dtype', () => {
  const b = bindInputs(evalData('d.npz', [x34]), [{ name: 'x', type: 'float32', shape: ['n', 4] }]).inputs[0]!;
  const t = takeRows(b, [2, 0, 2]);
  assert.equal(t.name, 'x');
  assert.equal(t.type, 'float32');
  assert.deepEqual(t.dims, [3, 4]);
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual([...t.data], [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]);
  assert.deepEqual([...x34.data], range(12)); // the source is untouched
  const one = takeRows(b, new Uint32Array([1]));
  assert.deepEqual(one.dims, [1, 4]);
  assert.deepEqual([...one.data], [4, 5, 6, 7]);
  assert.deepEqual(takeRows(b, []).dims, [0, 4]);

  // A subarray at an offset, of 8-byte elements, with two inner dimensions.
  const big = new BigInt64Array(20).map((_, i) => BigInt(i)).subarray(4);
  const ids = { name: 'ids', type: 'int64' as const, dims: [4, 2, 2], data: big };
  assert.deepEqual([...takeRows(ids, [3, 1]).data], [16n, 17n, 18n, 19n, 8n, 9n, 10n, 11n]);
  assert.throws(() => takeRows(b, [3]), RangeError);
  assert.throws(() => takeRows(b, [0.5]), RangeError);
});

// ---------------------------------------------------------------------------
// splitRows

test('splitRows: deterministic, disjoint, covering, sorted; neither set empty', () => {
  const a = splitRows(100, 0.2, 7);
  assert.deepEqual(splitRows(100, 0.2, 7), a);
  assert.equal(a.heldOut.length, 20);
  assert.equal(a.search.length, 80);
  const all = [...a.heldOut, ...a.search].sort((p, q) => p - q);
  assert.deepEqual(all, range(100));
  for (const s of [a.heldOut, a.search]) for (let i = 1; i < s.length; i++) assert.ok(s[i - 1]! < s[i]!);
  assert.notDeepEqual(splitRows(100, 0.2, 8).heldOut, a.heldOut);
  // Pinned: the shuffle (mulberry32, Fisher–Yates) must not change under anyone's feet.
  assert.deepEqual([...splitRows(10, 0.3, 42).heldOut], PINNED_10_03_42);

  for (const [rows, f] of [[2, 0.01], [2, 0.99], [3, 0.5], [1000, 0.999], [1000, 0.0001]] as const) {
    const s = splitRows(rows, f, 1);
    assert.ok(s.heldOut.length >= 1 && s.search.length >= 1, `${rows} ${f}`);
    assert.equal(s.heldOut.length + s.search.length, rows);
  }
  invalidMatching(() => splitRows(1, 0.5, 1), /needs at least 2 rows, the data has 1/);
  invalidMatching(() => splitRows(10, 0, 1), /held-out fraction 0 is not between 0 and 1/);
  invalidMatching(() => splitRows(10, 1, 1), /held-out fraction 1 is not between 0 and 1/);
  invalidMatching(() => splitRows(10, Number.NaN, 1), /held-out fraction NaN/);
  invalidMatching(() => splitRows(10, 0.5, 1.5), /seed 1\.5 is not an integer/);
});

const PINNED_10_03_42 = [0, 3, 7];

test('crc32: the check value of "123456789", and the same as the independent test helper\'s (src/formats/crc32.ts)', () => {
  assert.equal(productCrc32(Buffer.from('123456789')), 0xcbf43926);
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff));
  assert.equal(productCrc32(data), crc32(data));
});
