import { WindowedSource } from './window.js';

/**
 * A minimal, bounded FlatBuffers reader: root table, vtables, scalar fields,
 * offsets to tables, vectors and strings. It reads through a WindowedSource,
 * so nothing is loaded beyond the bytes a field needs, and every offset,
 * vtable, table size and vector length is checked against the file size
 * before it is followed: malformed input is a FormatError naming the file
 * and the field, never a RangeError or an allocation sized by the file.
 *
 * Positions are absolute byte offsets into the file (the flatbuffer starts
 * at offset 0). uoffsets are unsigned 32-bit, so a flatbuffer spans less
 * than 4 GiB; the file itself may be larger (TFLite keeps big buffers after
 * the flatbuffer).
 *
 * Every table that is opened costs one unit of a work budget fixed when the
 * reader is made. A well-formed flatbuffer has at most size/4 distinct
 * tables; a malicious one can make many vector entries point at the same
 * large vector (quadratic work without the budget).
 */
export class FlatBufferReader {
  readonly name: string;
  readonly size: number;
  private budget: number;

  constructor(readonly win: WindowedSource, readonly prefix = '', tableBudget?: number) {
    this.name = win.name;
    this.size = win.size;
    this.budget = tableBudget ?? Math.ceil(win.size / 4) + 64;
  }

  fail(cause: string): never {
    return this.win.fail(this.prefix + cause);
  }

  u8(pos: number, what: string): number {
    return this.win.bytes(pos, 1, this.prefix + what)[0]!;
  }

  i8(pos: number, what: string): number {
    return this.win.bytes(pos, 1, this.prefix + what).readInt8(0);
  }

  u16(pos: number, what: string): number {
    return this.win.bytes(pos, 2, this.prefix + what).readUInt16LE(0);
  }

  u32(pos: number, what: string): number {
    return this.win.bytes(pos, 4, this.prefix + what).readUInt32LE(0);
  }

  i32(pos: number, what: string): number {
    return this.win.bytes(pos, 4, this.prefix + what).readInt32LE(0);
  }

  u64(pos: number, what: string): bigint {
    return this.win.bytes(pos, 8, this.prefix + what).readBigUInt64LE(0);
  }

  /** `length` bytes at `pos`; the caller bounds `length` first. */
  bytes(pos: number, length: number, what: string): Buffer {
    return this.win.bytes(pos, length, this.prefix + what);
  }

  /** Follows the uoffset stored at `pos`; the target must lie inside the file. */
  deref(pos: number, what: string): number {
    const off = this.u32(pos, `${what} (offset)`);
    const target = pos + off;
    if (off === 0 || target >= this.size) {
      this.fail(`${what}: offset ${off} at byte ${pos} points outside the file (${this.size} bytes)`);
    }
    return target;
  }

  /** The root table (the uoffset at byte 0). */
  root(what: string): Table {
    if (this.size < 8) this.fail(`${what}: file is ${this.size} bytes, too short for a flatbuffer root offset and identifier`);
    return this.table(this.deref(0, `${what} root`), what);
  }

  /** Opens the table at `pos`: checks its vtable and inline size against the file. */
  table(pos: number, what: string): Table {
    if (--this.budget < 0) this.fail(`${what}: too many tables (more than the file could hold without aliasing)`);
    const soff = this.i32(pos, `${what} vtable offset`);
    const vt = pos - soff;
    if (!Number.isSafeInteger(vt) || vt < 0 || vt + 4 > this.size) {
      this.fail(`${what}: vtable offset ${soff} at byte ${pos} points outside the file (${this.size} bytes)`);
    }
    const vtSize = this.u16(vt, `${what} vtable size`);
    const tableSize = this.u16(vt + 2, `${what} table size`);
    if (vtSize < 4 || vtSize % 2 !== 0 || vt + vtSize > this.size) {
      this.fail(`${what}: vtable at byte ${vt} has invalid size ${vtSize} (file is ${this.size} bytes)`);
    }
    if (tableSize < 4 || pos + tableSize > this.size) {
      this.fail(`${what}: table at byte ${pos} of ${tableSize} bytes runs past the end of the file (${this.size} bytes)`);
    }
    return new Table(this, pos, vt, vtSize, tableSize, what);
  }
}

/** A vector: element count and the position of its first element (after the u32 length). */
export interface Vec {
  /** Position of the u32 length prefix. */
  pos: number;
  /** Position of the first element. */
  start: number;
  length: number;
}

export class Table {
  constructor(
    readonly fb: FlatBufferReader,
    readonly pos: number,
    private readonly vt: number,
    private readonly vtSize: number,
    private readonly tableSize: number,
    readonly what: string,
  ) {}

  /**
   * Absolute position of field `id`'s inline value of `width` bytes, or
   * undefined when the field is absent (default value).
   */
  field(id: number, width: number, name: string): number | undefined {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return undefined;
    const off = this.fb.u16(this.vt + slot, `${this.what}.${name} vtable slot`);
    if (off === 0) return undefined;
    if (off < 4 || off + width > this.tableSize) {
      this.fb.fail(`${this.what}.${name}: field offset ${off} (+${width} bytes) lies outside its ${this.tableSize}-byte table at byte ${this.pos}`);
    }
    return this.pos + off;
  }

  u8(id: number, name: string, dflt = 0): number {
    const p = this.field(id, 1, name);
    return p === undefined ? dflt : this.fb.u8(p, `${this.what}.${name}`);
  }

  i8(id: number, name: string, dflt = 0): number {
    const p = this.field(id, 1, name);
    return p === undefined ? dflt : this.fb.i8(p, `${this.what}.${name}`);
  }

  u32(id: number, name: string, dflt = 0): number {
    const p = this.field(id, 4, name);
    return p === undefined ? dflt : this.fb.u32(p, `${this.what}.${name}`);
  }

  u64(id: number, name: string, dflt = 0n): bigint {
    const p = this.field(id, 8, name);
    return p === undefined ? dflt : this.fb.u64(p, `${this.what}.${name}`);
  }

  /** Sub-table at field `id`, or undefined when absent. */
  table(id: number, name: string): Table | undefined {
    const p = this.field(id, 4, name);
    if (p === undefined) return undefined;
    return this.fb.table(this.fb.deref(p, `${this.what}.${name}`), `${this.what}.${name}`);
  }

  /** Vector at field `id` with elements of `elemSize` bytes, bounds-checked; undefined when absent. */
  vector(id: number, elemSize: number, name: string): Vec | undefined {
    const p = this.field(id, 4, name);
    if (p === undefined) return undefined;
    const what = `${this.what}.${name}`;
    const vpos = this.fb.deref(p, what);
    const length = this.fb.u32(vpos, `${what} vector length`);
    const start = vpos + 4;
    if (start + length * elemSize > this.fb.size) {
      this.fb.fail(`${what}: vector of ${length} × ${elemSize}-byte elements at byte ${start} runs past the end of the file (${this.fb.size} bytes)`);
    }
    return { pos: vpos, start, length };
  }

  /** Table element `i` of a vector of tables. */
  vectorTable(v: Vec, i: number, what: string): Table {
    const p = v.start + 4 * i;
    return this.fb.table(this.fb.deref(p, what), what);
  }

  /** String at field `id` (UTF-8, invalid sequences replaced), at most `maxBytes` long; undefined when absent. */
  string(id: number, name: string, maxBytes: number): string | undefined {
    const v = this.vector(id, 1, name);
    if (v === undefined) return undefined;
    if (v.length > maxBytes) this.fb.fail(`${this.what}.${name}: string of ${v.length} bytes exceeds the ${maxBytes}-byte limit`);
    return this.fb.bytes(v.start, v.length, `${this.what}.${name}`).toString('utf8');
  }
}
