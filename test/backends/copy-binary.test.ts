import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int4, int8, parseCopyBinary } from '../../src/backends/postgres/copy-binary.js';

function field(b: Buffer | null): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(b ? b.length : -1);
  return b ? Buffer.concat([len, b]) : len;
}

function copyData(rows: (Buffer | null)[][], extension = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(extension.length, 4);
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), head, extension];
  for (const r of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(r.length);
    parts.push(n, ...r.map(field));
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

test('binary COPY: tuples, NULLs, a header extension, bigint and integer fields', () => {
  const id = Buffer.alloc(8);
  id.writeBigInt64BE(2n ** 40n + 5n);
  const size = Buffer.alloc(4);
  size.writeInt32BE(65536);
  const payload = Buffer.from([0, 1, 2, 255, 0xc3, 0x28]);
  const rows = parseCopyBinary(copyData([[id, size, payload, null], [id, size, Buffer.alloc(0), null]], Buffer.from('ext')));
  assert.equal(rows.length, 2);
  assert.equal(int8(rows[0]![0]!), 2 ** 40 + 5);
  assert.equal(int4(rows[0]![1]!), 65536);
  assert.ok(rows[0]![2]!.equals(payload), 'bytes arrive untouched (not UTF-8 decoded)');
  assert.equal(rows[0]![3], null);
  assert.equal(rows[1]![2]!.length, 0);
  assert.deepEqual(parseCopyBinary(copyData([])), []);
});

test('binary COPY: truncated or foreign data is an error, never a short result', () => {
  const good = copyData([[Buffer.from('abcdef')]]);
  for (const cut of [5, 20, 25, good.length - 1]) assert.throws(() => parseCopyBinary(good.subarray(0, cut)), /binary COPY|not PostgreSQL/);
  assert.throws(() => parseCopyBinary(Buffer.from('id\tdata\n1\t\\x00\n')), /not PostgreSQL binary COPY/);
  const big = Buffer.alloc(8);
  big.writeBigInt64BE(2n ** 60n);
  assert.throws(() => int8(big), /exceeds 2\^53/);
});

test('binary COPY data cut into pieces anywhere (as CopyData messages arrive) reads the same, fields within a piece as views', () => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  const whole = copyData([[Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]), Buffer.from([0, 0, 1, 44]), payload, null], [Buffer.from([0, 0, 0, 0, 0, 0, 0, 8]), Buffer.from([0, 0, 0, 0]), Buffer.alloc(0), null]], Buffer.from('ext'));
  const want = parseCopyBinary(whole);
  for (let cut1 = 1; cut1 < whole.length; cut1 += 7) {
    for (const cut2 of [cut1, Math.min(whole.length, cut1 + 1), Math.min(whole.length, cut1 + 150)]) {
      const parts = [whole.subarray(0, cut1), whole.subarray(cut1, cut2), whole.subarray(cut2)];
      assert.deepEqual(parseCopyBinary(parts), want, `cut at ${cut1}, ${cut2}`);
    }
  }
  // One message per row, as PostgreSQL sends them: the payload is a view of its message, not a copy.
  const start = 11 + 4 + 4 + 3;
  const end = whole.length - 2;
  const rowEnd = start + 2 + (4 + 8) + (4 + 4) + (4 + 300) + 4;
  const msgs = [whole.subarray(0, start), Buffer.from(whole.subarray(start, rowEnd)), Buffer.from(whole.subarray(rowEnd, end)), whole.subarray(end)];
  const rows = parseCopyBinary(msgs);
  assert.deepEqual(rows, want);
  const [field3, msg] = [rows[0]![2]!, msgs[1]!];
  assert.ok(field3.buffer === msg.buffer && field3.byteOffset >= msg.byteOffset && field3.byteOffset + field3.length <= msg.byteOffset + msg.length,
    'the payload field views its message');
  // Pieces that end early are still refused.
  assert.throws(() => parseCopyBinary([whole.subarray(0, 30), whole.subarray(30, 40)]), /binary COPY/);
});
