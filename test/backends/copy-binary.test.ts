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
