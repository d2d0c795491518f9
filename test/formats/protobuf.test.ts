import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { MAX_DEPTH, ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../../src/formats/protobuf.js';
import { encodeVarint, ProtoWriter } from '../helpers/build-onnx.js';
import { assertFormatError, RecordingSource } from '../helpers/sources.js';

const NAME = 'message.pb';
const reader = (b: Buffer) => ProtoReader.ofSource(new BufferSource(NAME, b), 'Msg');

test('varints: edge values, and unsafe values are detectable', () => {
  for (const v of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const f = reader(new ProtoWriter().varint(3, v).finish()).next()!;
    assert.equal(f.value, v);
    assert.equal(f.length, encodeVarint(v).length);
  }
  for (const v of [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, -1n]) {
    const f = reader(new ProtoWriter().varint(3, v).finish()).next()!;
    assert.ok(!Number.isSafeInteger(f.value), `${v} decoded as safe ${f.value}`);
  }
});

test('all wire types, payloads skipped by length', () => {
  const sub = new ProtoWriter().string(1, 'inner').finish();
  const b = new ProtoWriter().varint(1, 150).fixed32(2, 7).tag(3, 1).raw(Buffer.alloc(8, 9)).message(4, sub).string(5, 'hé').finish();
  const r = reader(b);
  const fields = [];
  for (let f = r.next(); f; f = r.next()) fields.push(f);
  assert.deepEqual(fields.map((f) => [f.field, f.wire]), [[1, WIRE_VARINT], [2, WIRE_FIXED32], [3, WIRE_FIXED64], [4, WIRE_LEN], [5, WIRE_LEN]]);
  assert.equal(fields[0]!.value, 150);
  const inner = r.sub(fields[3]!, 'inner');
  const s = inner.next()!;
  assert.equal(inner.string(s, 'name'), 'inner');
  assert.equal(inner.next(), null);
  assert.equal(r.string(fields[4]!, 'text'), 'hé');
  assert.deepEqual(reader(new ProtoWriter().packedVarints(1, [1, 300, 2 ** 40]).finish()).packedVarints(reader(new ProtoWriter().packedVarints(1, [1, 300, 2 ** 40]).finish()).next()!, 'p'), [1, 300, 2 ** 40]);
});

test('windowed: fields across window boundaries, big payloads never read', () => {
  // A 1 MiB payload, then a varint straddling the 64 KiB boundary of the next window.
  const big = Buffer.alloc(1 << 20, 0xab);
  const w = new ProtoWriter().bytes(1, big);
  const b0 = w.finish();
  const pad = 65536 - ((b0.length + 3) % 65536);
  const b = new ProtoWriter().bytes(1, big).bytes(2, Buffer.alloc(pad)).varint(3, 2 ** 50).finish();
  const src = new RecordingSource(NAME, b);
  const r = ProtoReader.ofSource(src, 'Msg');
  assert.equal(r.next()!.length, big.length);
  r.next();
  assert.equal(r.next()!.value, 2 ** 50);
  assert.equal(r.next(), null);
  assert.ok(src.bytesRead < 4 * 65536, `read ${src.bytesRead} bytes of ${b.length}`);
});

test('malformed input: FormatError naming the file', () => {
  const next = (b: Buffer) => () => {
    const r = reader(b);
    while (r.next());
  };
  assertFormatError(next(Buffer.from([0x08, 0x80, 0x80])), NAME, /varint .* runs past end/);
  assertFormatError(next(Buffer.from([0x80])), NAME, /varint \(tag\) runs past end/);
  assertFormatError(next(Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])), NAME, /too long/);
  assertFormatError(next(Buffer.from([0x00, 0x01])), NAME, /invalid field number 0/);
  assertFormatError(next(Buffer.from([0x0b])), NAME, /group/);
  assertFormatError(next(Buffer.from([0x0c])), NAME, /group/);
  assertFormatError(next(Buffer.from([0x0e])), NAME, /invalid wire type 6/);
  assertFormatError(next(Buffer.from([0x0f])), NAME, /invalid wire type 7/);
  assertFormatError(next(Buffer.from([0x0a, 0x05, 1, 2])), NAME, /declares 5 bytes, running past the end/);
  assertFormatError(next(Buffer.concat([Buffer.from([0x0a]), encodeVarint(2n ** 62n)])), NAME, /declares/);
  assertFormatError(next(Buffer.concat([Buffer.from([0x0a]), encodeVarint(2n ** 64n - 1n)])), NAME, /declares/);
  assertFormatError(next(Buffer.from([0x09, 1, 2, 3])), NAME, /8-byte fixed/);
  assertFormatError(next(Buffer.from([0x0d, 1, 2, 3])), NAME, /4-byte fixed/);
  // A sub-message's fields are bounded by the sub-message, not the file.
  const outer = new ProtoWriter().bytes(1, Buffer.from([0x0a, 0x03, 1])).string(2, 'more bytes after').finish();
  const r = reader(outer);
  const sub = r.sub(r.next()!, 'sub');
  assertFormatError(() => sub.next(), NAME, /Msg\.sub: field 1 .* declares 3 bytes, running past the end of its message at 5/);
});

test('string limit and nesting depth', () => {
  const b = new ProtoWriter().string(1, 'x'.repeat(100)).finish();
  const r = reader(b);
  assertFormatError(() => r.string(r.next()!, 'name', 10), NAME, /name is 100 bytes long, over the 10-byte limit/);
  let msg: Buffer = Buffer.alloc(0);
  for (let i = 0; i <= MAX_DEPTH + 1; i++) msg = new ProtoWriter().message(1, msg).finish();
  const descend = () => {
    let cur = reader(msg);
    for (let f = cur.next(); f; f = cur.next()) cur = cur.sub(f, 'm');
  };
  assertFormatError(descend, NAME, /nest more than 64 deep/);
});
