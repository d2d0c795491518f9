import { FormatError } from './errors.js';

/**
 * A symbolic reader of Python pickles (protocols 0-5) that never executes
 * anything: GLOBAL/STACK_GLOBAL give a name, REDUCE/NEWOBJ/INST/OBJ give a
 * record of the call, BINPERSID a record of the persistent id, BUILD keeps
 * the state beside the object. What the pickle would construct is left for
 * the caller to recognise (torch-pickle.ts finds the tensors). See pickle.md.
 *
 * Bounded: the work is linear in the pickle's length (every opcode pushes at
 * most one value; the ones that pop to a mark consume what was pushed), no
 * allocation is sized by a field before it is checked against the bytes
 * left, and every malformation (unknown opcode, truncated argument, stack
 * underflow, missing mark or memo key) is a FormatError naming the file, the
 * byte offset and the cause.
 */

export interface PickleGlobal { kind: 'global'; module: string; name: string }
export interface PicklePersistent { kind: 'persid'; id: PickleValue }
/** Bytes are not kept (nothing we recognise needs them): their length only. */
export interface PickleBytes { kind: 'bytes'; length: number }
export interface PickleSequence { kind: 'tuple' | 'list' | 'set'; items: PickleValue[] }
export interface PickleDict { kind: 'dict'; entries: Array<[PickleValue, PickleValue]> }
/** What REDUCE, NEWOBJ(_EX), INST and OBJ would construct; APPENDS, SETITEMS and BUILD on it are recorded. */
export interface PickleObject {
  kind: 'object';
  callable: PickleValue;
  args: PickleValue[];
  items: PickleValue[];
  entries: Array<[PickleValue, PickleValue]>;
  state?: PickleValue;
}
export type PickleValue =
  | null | boolean | number | bigint | string
  | PickleBytes | PickleSequence | PickleDict | PickleGlobal | PicklePersistent | PickleObject;

/** The mark pushed by MARK: never a value. */
const MARK: unique symbol = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * At most this many values are made (every push, and every item added to a
 * container): one-byte opcodes make objects, so a byte bound alone would let
 * 64 MiB of EMPTY_LIST exhaust the heap. A state dict takes about 30 values a
 * tensor: 2M values is ~65,000 tensors, about 200 MB at worst.
 */
export const MAX_PICKLE_VALUES = 2_000_000;
/** Decimal INT/LONG arguments longer than this are refused (CPython's own limit is 4,300 digits). */
export const MAX_PICKLE_DIGITS = 4300;

/** Reads one pickle (up to STOP) from `data`; `file` and `what` name it in errors. */
export function readPickle(data: Buffer, file: string, what = 'pickle'): PickleValue {
  return new PickleMachine(data, file, what).run();
}

class PickleMachine {
  private pos = 0;
  /** Offset of the opcode being run, for error messages. */
  private at = 0;
  private readonly stack: StackItem[] = [];
  /** Positions in `stack` of the open marks (the mark items themselves stay on the stack). */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  /** Values made so far (MAX_PICKLE_VALUES). */
  private made = 0;

  constructor(private readonly data: Buffer, private readonly file: string, private readonly what: string) {}

  private fail(cause: string): never {
    throw new FormatError(this.file, `${this.what} at byte ${this.at}: ${cause}`);
  }

  private take(n: number, field: string): Buffer {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.data.length - this.pos) {
      this.fail(`${field} of ${n} bytes runs past the end (${this.data.length - this.pos} left)`);
    }
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private u8(): number { return this.take(1, 'argument')[0]!; }
  private u16(): number { return this.take(2, 'argument').readUInt16LE(0); }
  private u32(): number { return this.take(4, 'argument').readUInt32LE(0); }
  private u64(field: string): number {
    const v = this.take(8, field).readBigUInt64LE(0);
    if (v > BigInt(this.data.length)) this.fail(`${field} of ${v} bytes runs past the end`);
    return Number(v);
  }

  /** A protocol-0 argument: the bytes up to the next newline (which is consumed). */
  private line(field: string): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`${field} has no terminating newline`);
    const s = this.data.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  private text(b: Buffer, field: string): string {
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`${field} is not valid UTF-8`);
    }
  }

  private count(n: number): void {
    this.made += n;
    if (this.made > MAX_PICKLE_VALUES) this.fail(`more than ${MAX_PICKLE_VALUES} values`);
  }

  private push(v: StackItem): void {
    this.count(1);
    this.stack.push(v);
  }

  private pop(): PickleValue {
    if (this.stack.length === 0 || this.stack.length <= (this.marks.at(-1) ?? -1) + 1) this.fail('stack underflow');
    return this.stack.pop() as PickleValue;
  }

  private top(): PickleValue {
    if (this.stack.length === 0 || this.stack.length <= (this.marks.at(-1) ?? -1) + 1) this.fail('stack underflow');
    return this.stack[this.stack.length - 1] as PickleValue;
  }

  /** The items pushed since the last MARK, which is removed with them. */
  private popMark(): PickleValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('no MARK to pop to');
    const items = this.stack.splice(m) as PickleValue[];
    items.shift();
    return items;
  }

  private memoGet(key: number): PickleValue {
    const v = this.memo.get(key);
    if (v === undefined) this.fail(`memo key ${key} was never stored`);
    return v;
  }

  private memoPut(key: number): void {
    if (!Number.isSafeInteger(key) || key < 0) this.fail(`memo key ${key} is not a non-negative integer`);
    this.memo.set(key, this.top());
  }

  private intLine(s: string, field: string): number | bigint | boolean {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (t.length > MAX_PICKLE_DIGITS) this.fail(`${field} of ${t.length} digits (at most ${MAX_PICKLE_DIGITS})`);
    if (s === '01') return true;
    if (s === '00') return false;
    if (!/^[+-]?\d+$/.test(t)) this.fail(`${field} ${JSON.stringify(s.slice(0, 40))} is not an integer`);
    return small(BigInt(t));
  }

  private longBytes(b: Buffer): number | bigint {
    if (b.length === 0) return 0;
    if (b.length > MAX_PICKLE_DIGITS) this.fail(`a LONG of ${b.length} bytes (at most ${MAX_PICKLE_DIGITS})`);
    let v = BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return small(v);
  }

  private global(module: string, name: string): PickleGlobal {
    return { kind: 'global', module, name };
  }

  private object(callable: PickleValue, args: PickleValue): PickleObject {
    return { kind: 'object', callable, args: isSequence(args) ? args.items : [args], items: [], entries: [] };
  }

  private appendTo(target: PickleValue, items: PickleValue[]): void {
    this.count(items.length);
    if (isObj(target, 'list') || isObj(target, 'object')) {
      for (const v of items) (target as PickleSequence | PickleObject).items.push(v);
    } else this.fail(`APPEND to a ${describe(target)}`);
  }

  private setItems(target: PickleValue, flat: PickleValue[]): void {
    if (flat.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
    if (!isObj(target, 'dict') && !isObj(target, 'object')) this.fail(`SETITEM on a ${describe(target)}`);
    this.count(flat.length);
    const entries = (target as PickleDict | PickleObject).entries;
    for (let i = 0; i < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
  }

  run(): PickleValue {
    const d = this.data;
    for (;;) {
      this.at = this.pos;
      if (this.pos >= d.length) this.fail('ends without STOP');
      const op = d[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const p = this.u8();
          if (p > 5) this.fail(`protocol ${p} is not supported (0-5)`);
          break;
        }
        case 0x95: this.u64('FRAME'); break; // FRAME: a size hint only
        case 0x2e: { // STOP
          if (this.marks.length > 0) this.fail('STOP with an open MARK');
          const v = this.pop();
          if (this.stack.length !== 0) this.fail(`STOP leaves ${this.stack.length} values on the stack`);
          return v;
        }
        case 0x28: this.marks.push(this.stack.length); this.push(MARK); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        // Integers, floats, booleans, None.
        case 0x4a: this.push(this.take(4, 'BININT').readInt32LE(0)); break;
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(this.longBytes(this.take(this.u8(), 'LONG1'))); break;
        case 0x8b: this.push(this.longBytes(this.take(this.u32(), 'LONG4'))); break;
        case 0x49: this.push(this.intLine(this.line('INT'), 'INT')); break;
        case 0x4c: this.push(this.intLine(this.line('LONG'), 'LONG')); break;
        case 0x47: this.push(this.take(8, 'BINFLOAT').readDoubleBE(0)); break;
        case 0x46: { // FLOAT
          const s = this.line('FLOAT');
          const v = Number(s);
          if (s.trim() === '' || Number.isNaN(v) && !/^[+-]?nan$/i.test(s.trim())) this.fail(`FLOAT ${JSON.stringify(s.slice(0, 40))} is not a number`);
          this.push(v);
          break;
        }
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4e: this.push(null); break; // NONE
        // Strings and bytes.
        case 0x58: this.push(this.text(this.take(this.u32(), 'BINUNICODE'), 'BINUNICODE')); break;
        case 0x8c: this.push(this.text(this.take(this.u8(), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE')); break;
        case 0x8d: this.push(this.text(this.take(this.u64('BINUNICODE8'), 'BINUNICODE8'), 'BINUNICODE8')); break;
        case 0x56: this.push(this.line('UNICODE')); break; // raw-unicode-escape: kept as read
        case 0x55: this.push(this.take(this.u8(), 'SHORT_BINSTRING').toString('latin1')); break;
        case 0x54: { // BINSTRING: a signed 4-byte length
          const n = this.take(4, 'BINSTRING').readInt32LE(0);
          this.push(this.take(n, 'BINSTRING').toString('latin1'));
          break;
        }
        case 0x53: { // STRING: a quoted repr
          const s = this.line('STRING');
          if (s.length < 2 || s[0] !== s[s.length - 1] || (s[0] !== "'" && s[0] !== '"')) this.fail('STRING is not quoted');
          this.push(s.slice(1, -1));
          break;
        }
        case 0x43: this.push({ kind: 'bytes', length: this.take(this.u8(), 'SHORT_BINBYTES').length }); break;
        case 0x42: this.push({ kind: 'bytes', length: this.take(this.u32(), 'BINBYTES').length }); break;
        case 0x8e: this.push({ kind: 'bytes', length: this.take(this.u64('BINBYTES8'), 'BINBYTES8').length }); break;
        case 0x96: this.push({ kind: 'bytes', length: this.take(this.u64('BYTEARRAY8'), 'BYTEARRAY8').length }); break;
        case 0x97: this.push({ kind: 'bytes', length: 0 }); break; // NEXT_BUFFER: out of band, not in the pickle
        case 0x98: this.top(); break; // READONLY_BUFFER
        // Containers.
        case 0x29: this.push({ kind: 'tuple', items: [] }); break; // EMPTY_TUPLE
        case 0x74: this.push({ kind: 'tuple', items: this.popMark() }); break; // TUPLE
        case 0x85: this.push({ kind: 'tuple', items: [this.pop()] }); break; // TUPLE1
        case 0x86: { const b = this.pop(); const a = this.pop(); this.push({ kind: 'tuple', items: [a, b] }); break; }
        case 0x87: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.push({ kind: 'tuple', items: [a, b, c] }); break; }
        case 0x5d: this.push({ kind: 'list', items: [] }); break; // EMPTY_LIST
        case 0x6c: this.push({ kind: 'list', items: this.popMark() }); break; // LIST
        case 0x61: { const v = this.pop(); this.appendTo(this.top(), [v]); break; } // APPEND
        case 0x65: { const items = this.popMark(); this.appendTo(this.top(), items); break; } // APPENDS
        case 0x7d: this.push({ kind: 'dict', entries: [] }); break; // EMPTY_DICT
        case 0x64: { const d0: PickleDict = { kind: 'dict', entries: [] }; this.setItems(d0, this.popMark()); this.push(d0); break; } // DICT
        case 0x73: { const v = this.pop(); const k = this.pop(); this.setItems(this.top(), [k, v]); break; } // SETITEM
        case 0x75: { const flat = this.popMark(); this.setItems(this.top(), flat); break; } // SETITEMS
        case 0x8f: this.push({ kind: 'set', items: [] }); break; // EMPTY_SET
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!isObj(s, 'set')) this.fail(`ADDITEMS to a ${describe(s)}`);
          for (const v of items) (s as PickleSequence).items.push(v);
          break;
        }
        case 0x91: this.push({ kind: 'set', items: this.popMark() }); break; // FROZENSET
        // Memo.
        case 0x67: this.push(this.memoGet(this.memoKeyLine('GET'))); break;
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x70: this.memoPut(this.memoKeyLine('PUT')); break;
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        // Names, calls and objects: recorded, never resolved or run.
        case 0x63: { const module = this.line('GLOBAL module'); this.push(this.global(module, this.line('GLOBAL name'))); break; }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.global(module, name));
          break;
        }
        case 0x82: this.push(this.global('copyreg', `extension ${this.u8()}`)); break; // EXT1
        case 0x83: this.push(this.global('copyreg', `extension ${this.u16()}`)); break; // EXT2
        case 0x84: this.push(this.global('copyreg', `extension ${this.u32()}`)); break; // EXT4
        case 0x52: { const args = this.pop(); const fn = this.pop(); this.push(this.object(fn, args)); break; } // REDUCE
        case 0x81: { const args = this.pop(); const cls = this.pop(); this.push(this.object(cls, args)); break; } // NEWOBJ
        case 0x92: { this.pop(); const args = this.pop(); const cls = this.pop(); this.push(this.object(cls, args)); break; } // NEWOBJ_EX (kwargs dropped)
        case 0x69: { // INST
          const module = this.line('INST module');
          const cls = this.global(module, this.line('INST name'));
          this.push(this.object(cls, { kind: 'tuple', items: this.popMark() }));
          break;
        }
        case 0x6f: { // OBJ
          const items = this.popMark();
          if (items.length === 0) this.fail('OBJ without a class');
          this.push(this.object(items[0]!, { kind: 'tuple', items: items.slice(1) }));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const target = this.top();
          if (isObj(target, 'object')) (target as PickleObject).state = state;
          break;
        }
        case 0x51: this.push({ kind: 'persid', id: this.pop() }); break; // BINPERSID
        case 0x50: this.push({ kind: 'persid', id: this.line('PERSID') }); break; // PERSID
        default: this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private memoKeyLine(field: string): number {
    const s = this.line(field);
    if (!/^\d{1,15}$/.test(s)) this.fail(`${field} key ${JSON.stringify(s.slice(0, 40))} is not an integer`);
    return Number(s);
  }
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function isObj(v: PickleValue, kind: string): boolean {
  return typeof v === 'object' && v !== null && v.kind === kind;
}

function isSequence(v: PickleValue): v is PickleSequence {
  return isObj(v, 'tuple') || isObj(v, 'list');
}

/** A value's kind for error messages. */
export function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'object') return v.kind;
  return typeof v;
}
