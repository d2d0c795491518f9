import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError } from '../../src/formats/errors.js';
import { MAX_PICKLE_VALUES, readPickle, type PickleValue } from '../../src/formats/pickle.js';
import { assertFormatError } from '../helpers/sources.js';

/**
 * CPython 3.11's own bytes for one object at protocols 0-5:
 *   shared = [7]
 *   pickle.dumps({'a': [1, -5, 2.5, None, True, False, 'x', (3,), (1, 2), (1, 2, 3), 2**70, -2**70,
 *                       300, 70000, -70000, 'é', [], {}], 'b': {'c': 'd'}, 'm1': shared, 'm2': shared}, protocol=p)
 * (the vector in pickle.md is protocol 2's).
 */
const VECTORS: Record<number, string> = {
  0: '286470300a56610a70310a286c70320a49310a61492d350a6146322e350a614e614930310a614930300a6156780a70330a612849330a7470340a612849310a49320a7470350a612849310a49320a49330a7470360a614c313138303539313632303731373431313330333432344c0a614c2d313138303539313632303731373431313330333432344c0a61493330300a614937303030300a61492d37303030300a6156e90a70370a61286c70380a61286470390a617356620a7031300a28647031310a56630a7031320a56640a7031330a7373566d310a7031340a286c7031350a49370a6173566d320a7031360a6731350a732e',
  1: '7d71002858010000006171015d7102284b014afbffffff4740040000000000004e4930310a4930300a5801000000787103284b03747104284b014b02747105284b014b024b037471064c313138303539313632303731373431313330333432344c0a4c2d313138303539313632303731373431313330333432344c0a4d2c014a701101004a90eefeff5802000000c3a971075d71087d710965580100000062710a7d710b580100000063710c580100000064710d7358020000006d31710e5d710f4b076158020000006d327110680f752e',
  2: '80027d71002858010000006171015d7102284b014afbffffff4740040000000000004e888958010000007871034b038571044b014b028671054b014b024b038771068a090000000000000000408a090000000000000000c04d2c014a701101004a90eefeff5802000000c3a971075d71087d710965580100000062710a7d710b580100000063710c580100000064710d7358020000006d31710e5d710f4b076158020000006d327110680f752e',
  3: '80037d71002858010000006171015d7102284b014afbffffff4740040000000000004e888958010000007871034b038571044b014b028671054b014b024b038771068a090000000000000000408a090000000000000000c04d2c014a701101004a90eefeff5802000000c3a971075d71087d710965580100000062710a7d710b580100000063710c580100000064710d7358020000006d31710e5d710f4b076158020000006d327110680f752e',
  4: '80049582000000000000007d94288c0161945d94284b014afbffffff4740040000000000004e88898c0178944b0385944b014b0286944b014b024b0387948a090000000000000000408a090000000000000000c04d2c014a701101004a90eefeff8c02c3a9945d947d94658c0162947d948c0163948c016494738c026d31945d944b07618c026d3294680f752e',
  5: '80059582000000000000007d94288c0161945d94284b014afbffffff4740040000000000004e88898c0178944b0385944b014b0286944b014b024b0387948a090000000000000000408a090000000000000000c04d2c014a701101004a90eefeff8c02c3a9945d947d94658c0162947d948c0163948c016494738c026d31945d944b07618c026d3294680f752e',
};

/** The symbolic tree as plain JSON-like data: dicts as [key, value] pairs, tuples marked, bigints as strings. */
function plain(v: PickleValue): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object' || v === null) return v;
  switch (v.kind) {
    case 'tuple': return { tuple: v.items.map(plain) };
    case 'list': return v.items.map(plain);
    case 'dict': return v.entries.map(([k, x]) => [plain(k), plain(x)]);
    default: return { [v.kind]: true };
  }
}

const EXPECTED = [
  ['a', [1, -5, 2.5, null, true, false, 'x', { tuple: [3] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }, '1180591620717411303424n', '-1180591620717411303424n',
    300, 70000, -70000, 'é', [], []]],
  ['b', [['c', 'd']]],
  ['m1', [7]],
  ['m2', [7]],
];

test("CPython's pickles at protocols 0-5 read as the object they hold", () => {
  for (const [p, hex] of Object.entries(VECTORS)) {
    const v = readPickle(Buffer.from(hex, 'hex'), `protocol-${p}.pkl`);
    assert.deepEqual(plain(v), EXPECTED, `protocol ${p}`);
    // The memo makes the two references one object, as unpickling would.
    assert.ok(typeof v === 'object' && v !== null && v.kind === 'dict');
    assert.equal(v.entries[2]![1], v.entries[3]![1], `protocol ${p}: memo`);
  }
});

test('calls and names are recorded, never resolved: GLOBAL, REDUCE, BUILD, BINPERSID, NEWOBJ', () => {
  // os.system('echo pwned') as a pickle: read as a record, nothing runs.
  const evil = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');
  const v = readPickle(evil, 'evil.pkl');
  assert.ok(typeof v === 'object' && v !== null && v.kind === 'object');
  assert.deepEqual(v.callable, { kind: 'global', module: 'os', name: 'system' });
  assert.deepEqual(v.args, ['echo pwned']);
  // STACK_GLOBAL + NEWOBJ + BUILD; BINPERSID.
  const b = Buffer.concat([
    Buffer.from([0x80, 0x04, 0x8c, 1]), Buffer.from('m'), Buffer.from([0x8c, 1]), Buffer.from('C'), Buffer.from([0x93, 0x29, 0x81]),
    Buffer.from([0x7d, 0x8c, 1]), Buffer.from('s'), Buffer.from([0x4b, 5, 0x73, 0x62]), // {'s': 5} BUILD
    Buffer.from([0x8c, 1]), Buffer.from('k'), Buffer.from([0x51, 0x86, 0x2e]), // ('k' persid) TUPLE2 STOP
  ]);
  const t = readPickle(b, 'obj.pkl');
  assert.ok(typeof t === 'object' && t !== null && t.kind === 'tuple');
  const [o, pid] = t.items;
  assert.ok(typeof o === 'object' && o !== null && o.kind === 'object');
  assert.deepEqual(o.callable, { kind: 'global', module: 'm', name: 'C' });
  assert.deepEqual(plain(o.state!), [['s', 5]]);
  assert.deepEqual(pid, { kind: 'persid', id: 'k' });
});

test('malformed pickles: a FormatError naming the file, the byte and the cause', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /at byte 0: ends without STOP/],
    ['80024b', /at byte 2: argument of 1 bytes runs past the end/],
    ['8006', /protocol 6 is not supported/],
    ['ff', /at byte 0: unknown opcode 0xff/],
    ['2e', /stack underflow/],
    ['4b014b022e', /STOP leaves 1 values on the stack/],
    ['284b012e', /STOP with an open MARK/],
    ['74', /no MARK to pop to/],
    ['68052e', /memo key 5 was never stored/],
    ['5806000000616263', /BINUNICODE of 6 bytes runs past the end/],
    ['58ffffffff', /BINUNICODE of 4294967295 bytes runs past the end/],
    ['8effffffffffffffff', /BINBYTES8 of 18446744073709551615 bytes runs past the end/],
    ['5802000000c3282e', /not valid UTF-8/],
    ['4b0161', /APPEND to a number|stack underflow/],
    ['5d4b0173', /SETITEM on a list|stack underflow/],
    ['284b01754b012e', /SETITEM on a|stack underflow|no MARK/],
    ['4912ab0a2e', /INT .* is not an integer/],
    ['49310a', /ends without STOP/],
    ['636f73', /GLOBAL module has no terminating newline/],
    ['4b014b0193', /STACK_GLOBAL needs two strings/],
  ];
  for (const [hex, pattern] of bad) {
    const e = assertFormatError(() => readPickle(Buffer.from(hex, 'hex'), 'bad.pkl', 'data.pkl'), 'bad.pkl', pattern);
    assert.ok(e instanceof FormatError && e.message.includes('data.pkl at byte'), `${hex}: ${e.message}`);
  }
});

test('work is linear in the pickle: a million nested MARKs and a long memo chain finish fast, bounded', () => {
  const marks = Buffer.alloc(1_000_000, 0x28); // MARK × 10^6 then nothing: ends without STOP
  assertFormatError(() => readPickle(marks, 'marks.pkl'), 'marks.pkl', /ends without STOP/);
  // [[[[…]]]] 200,000 deep: fine for the machine (no recursion).
  const deep = Buffer.concat([Buffer.alloc(200_000, 0x5d).fill(0x5d), Buffer.alloc(199_999, 0x61), Buffer.from([0x2e])]);
  const v = readPickle(deep, 'deep.pkl');
  assert.ok(typeof v === 'object' && v !== null && v.kind === 'list');
});

test('memory is bounded by values made, not only by bytes: one-byte opcodes past MAX_PICKLE_VALUES, and huge integers, are refused', () => {
  // [ MARK None × (MAX + 1) APPENDS: every None a value (the stack, not the bytes, is what would grow).
  const nones = Buffer.concat([Buffer.from([0x5d, 0x28]), Buffer.alloc(MAX_PICKLE_VALUES + 1, 0x4e), Buffer.from([0x65, 0x2e])]);
  assertFormatError(() => readPickle(nones, 'nones.pkl'), 'nones.pkl', /more than 2000000 values/);
  assertFormatError(() => readPickle(Buffer.from(`I${'9'.repeat(5000)}\n.`, 'latin1'), 'int.pkl'), 'int.pkl', /INT of 5000 digits/);
  const long4 = Buffer.concat([Buffer.from([0x8b]), Buffer.from([0x88, 0x13, 0, 0]), Buffer.alloc(5000, 1), Buffer.from([0x2e])]);
  assertFormatError(() => readPickle(long4, 'long.pkl'), 'long.pkl', /LONG of 5000 bytes/);
});
