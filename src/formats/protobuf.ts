import type { ByteSource } from '../io/file-source.js';
import { WindowedSource } from './window.js';

/**
 * A minimal, bounded reader of the protobuf wire format over a ByteSource.
 * It never loads a message: fields are decoded one at a time through a cached
 * pread window, and length-delimited payloads are skipped by length unless the
 * caller descends into them. Every length is checked against the end of the
 * enclosing message before use, so a corrupt length cannot make it read (or
 * allocate) past that message, let alone the file.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;
export type WireType = typeof WIRE_VARINT | typeof WIRE_FIXED64 | typeof WIRE_LEN | typeof WIRE_FIXED32;

/** Nesting limit for sub-messages: real models nest subgraphs a handful of levels deep; the limit stops stack exhaustion on crafted input. */
export const MAX_DEPTH = 64;

/** Longest string field the reader will decode (names, external-data keys). */
export const MAX_STRING = 1 << 20;

export interface ProtoField {
  /** Field number (≥ 1). */
  field: number;
  wire: WireType;
  /**
   * Wire type 0: the varint value. Values above 2^53 lose precision, so check
   * with Number.isSafeInteger before trusting one; a negative int64 (encoded
   * as ≥ 2^63) is never safe. Other wire types: 0.
   */
  value: number;
  /** Offset of the payload in the file (after the tag and, for wire type 2, the length). */
  offset: number;
  /** Payload length in bytes: 8 for fixed64, 4 for fixed32, the varint's byte count for varints. */
  length: number;
}

export class ProtoReader {
  private pos: number;

  /**
   * @param win  the file
   * @param start first byte of the message
   * @param end   one past its last byte (already checked against the file size)
   * @param path  where the message sits, for error messages ("ModelProto.graph.node[2]")
   * @param depth nesting depth of this message
   */
  constructor(
    readonly win: WindowedSource,
    readonly start: number,
    readonly end: number,
    readonly path: string,
    readonly depth = 0,
  ) {
    if (start < 0 || end < start || end > win.size) win.fail(`${path}: message bytes ${start}..${end} lie outside the file (${win.size} bytes)`);
    if (depth > MAX_DEPTH) win.fail(`${path}: messages nest more than ${MAX_DEPTH} deep`);
    this.pos = start;
  }

  /** A reader over a whole file (the top-level message). */
  static ofSource(src: ByteSource, path: string): ProtoReader {
    const win = new WindowedSource(src);
    return new ProtoReader(win, 0, win.size, path);
  }

  fail(cause: string): never {
    return this.win.fail(`${this.path}: ${cause}`);
  }

  /** Whether all fields have been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field, its payload skipped (not read), or null at the end of the message. */
  next(): ProtoField | null {
    if (this.pos >= this.end) return null;
    const tagAt = this.pos;
    const tag = this.varint('tag');
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0 || field > 0x1fffffff) this.fail(`invalid field number ${field} at offset ${tagAt}`);
    switch (wire) {
      case WIRE_VARINT: {
        const offset = this.pos;
        const value = this.varint(`field ${field}`);
        return { field, wire, value, offset, length: this.pos - offset };
      }
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const length = wire === WIRE_FIXED64 ? 8 : 4;
        const offset = this.pos;
        if (offset + length > this.end) this.fail(`field ${field} (${length}-byte fixed) at offset ${tagAt} runs past the end of its message at ${this.end}`);
        this.pos += length;
        return { field, wire, value: 0, offset, length };
      }
      case WIRE_LEN: {
        const length = this.varint(`length of field ${field}`);
        const offset = this.pos;
        if (!Number.isSafeInteger(length) || offset + length > this.end) {
          this.fail(`field ${field} at offset ${tagAt} declares ${Number.isSafeInteger(length) ? length : 'over 2^53'} bytes, running past the end of its message at ${this.end}`);
        }
        this.pos += length;
        return { field, wire, value: 0, offset, length };
      }
      case 3:
      case 4:
        return this.fail(`field ${field} at offset ${tagAt} uses a group (wire type ${wire}), which is not supported`);
      default:
        return this.fail(`field ${field} at offset ${tagAt} has invalid wire type ${wire}`);
    }
  }

  /** A reader for the sub-message in length-delimited field `f`. */
  sub(f: ProtoField, label: string): ProtoReader {
    return new ProtoReader(this.win, f.offset, f.offset + f.length, `${this.path}.${label}`, this.depth + 1);
  }

  /** Field `f` decoded as UTF-8 (lossy: names are for display and matching), refusing more than `max` bytes. */
  string(f: ProtoField, what: string, max = MAX_STRING): string {
    if (f.length > max) this.fail(`${what} is ${f.length} bytes long, over the ${max}-byte limit`);
    return this.win.bytes(f.offset, f.length, what).toString('utf8');
  }

  /**
   * The varints of a packed repeated field (wire type 2). The count is bounded
   * by the payload length (each varint takes at least one byte).
   */
  packedVarints(f: ProtoField, label: string): number[] {
    const r = this.sub(f, label);
    const out: number[] = [];
    while (!r.done) out.push(r.varint('packed value'));
    return out;
  }

  /**
   * A base-128 varint at the cursor, at most 10 bytes and never past the end
   * of the message. Accumulated in a double: exact below 2^53, and anything
   * at or above 2^53 is never a safe integer, so callers can detect it.
   */
  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`varint (${what}) runs past end of its message at ${this.end}`);
      const b = this.win.byte(this.pos++);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return this.fail(`varint (${what}) at offset ${this.pos - 10} is too long (more than 10 bytes)`);
  }
}
