/**
 * Writes minimal TFLite flatbuffers by hand, independently of the reader:
 * root uoffset at 0, "TFL3" at 4..8, then every table preceded by its vtable
 * and followed by the objects it points at (so every uoffset points forward),
 * little-endian, vectors aligned (buffer data to 16 like the TFLite schema's
 * force_align), u64 fields 8-aligned. Buffers marked `external` are stored
 * after the flatbuffer and addressed by Buffer.offset/size from the file start.
 */

export type Field =
  | { u8: number }
  | { i8: number }
  | { u32: number }
  | { u64: bigint; tag?: string }
  | { ref: FbNode };

export type FbNode =
  | { kind: 'table'; fields: (Field | undefined)[]; tag?: string }
  | { kind: 'bytes'; data: Buffer; align?: number; tag?: string }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; values: number[] }
  | { kind: 'tables'; items: FbNode[] };

/** Serializes a flatbuffer; `positions` records where tagged nodes landed (tables: table start; bytes: first data byte; u64 fields: the field). */
export class FbWriter {
  private buf = Buffer.alloc(1024);
  pos = 0;
  readonly positions = new Map<string, number>();

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next);
    this.buf = next;
  }

  pad(align: number): void {
    while (this.pos % align !== 0) this.u8(0);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v & 0xff, this.pos);
    this.pos += 1;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, at);
  }

  /** Emits `node`, returns its position (what a uoffset to it must reach). */
  emit(node: FbNode): number {
    switch (node.kind) {
      case 'bytes': {
        const align = node.align ?? 4;
        while ((this.pos + 4) % align !== 0) this.u8(0);
        const at = this.pos;
        this.u32(node.data.length);
        if (node.tag) this.positions.set(node.tag, this.pos);
        this.raw(node.data);
        return at;
      }
      case 'string': {
        this.pad(4);
        const at = this.pos;
        const b = Buffer.from(node.value, 'utf8');
        this.u32(b.length);
        this.raw(b);
        this.u8(0);
        return at;
      }
      case 'ints': {
        this.pad(4);
        const at = this.pos;
        this.u32(node.values.length);
        for (const v of node.values) this.u32(v);
        return at;
      }
      case 'tables': {
        this.pad(4);
        const at = this.pos;
        this.u32(node.items.length);
        const slots = node.items.map(() => {
          const p = this.pos;
          this.u32(0);
          return p;
        });
        node.items.forEach((item, i) => {
          const target = this.emit(item);
          this.patchU32(slots[i]!, target - slots[i]!);
        });
        return at;
      }
      case 'table':
        return this.emitTable(node);
    }
  }

  private emitTable(node: { fields: (Field | undefined)[]; tag?: string }): number {
    // Inline layout: soffset at 0, then fields aligned to their width.
    const offs: number[] = [];
    let size = 4;
    for (const f of node.fields) {
      if (f === undefined) {
        offs.push(0);
        continue;
      }
      const w = 'u8' in f || 'i8' in f ? 1 : 'u64' in f ? 8 : 4;
      while (size % w !== 0) size++;
      offs.push(size);
      size += w;
    }
    while (size % 4 !== 0) size++;
    // vtable, then pad so the table starts 8-aligned.
    this.pad(2);
    const vtSize = 4 + 2 * node.fields.length;
    let vt = this.pos;
    // Place the vtable so that the table after it is 8-aligned.
    const gap = (8 - ((vt + vtSize) % 8)) % 8;
    for (let i = 0; i < gap; i++) this.u8(0);
    vt = this.pos;
    this.u16(vtSize);
    this.u16(size);
    for (const o of offs) this.u16(o);
    const table = this.pos;
    if (node.tag) this.positions.set(node.tag, table);
    this.ensure(size);
    this.buf.fill(0, table, table + size);
    this.buf.writeInt32LE(table - vt, table);
    const refs: { at: number; node: FbNode }[] = [];
    node.fields.forEach((f, i) => {
      if (f === undefined) return;
      const at = table + offs[i]!;
      if ('u8' in f) this.buf.writeUInt8(f.u8, at);
      else if ('i8' in f) this.buf.writeInt8(f.i8, at);
      else if ('u32' in f) this.buf.writeUInt32LE(f.u32, at);
      else if ('u64' in f) {
        this.buf.writeBigUInt64LE(f.u64, at);
        if (f.tag) this.positions.set(f.tag, at);
      } else refs.push({ at, node: f.ref });
    });
    this.pos = table + size;
    for (const r of refs) {
      const target = this.emit(r.node);
      this.patchU32(r.at, target - r.at);
    }
    return table;
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

export interface TfliteTensorSpec {
  name: string;
  /** TensorType code. */
  type: number;
  shape: number[];
  /** Bytes of the tensor's buffer; absent: the tensor points at an empty buffer. */
  data?: Buffer;
  /** Store the data after the flatbuffer (Buffer.offset/size) instead of Buffer.data. */
  external?: boolean;
  /** Reference this existing buffer index instead of getting a buffer of its own (data is ignored). */
  shareBuffer?: number;
}

export interface BuiltTflite {
  file: Buffer;
  /** Where each tensor's data sits, in tensor order (tensors with data only). */
  tensors: { name: string; offset: number; length: number; buffer: number }[];
  /** Tagged positions: `data<i>` first data byte of buffer i, `offset<i>`/`size<i>` the u64 fields of external buffer i, `buffer<i>` its table. */
  positions: Map<string, number>;
  /** End of the flatbuffer (start of the external data area, before padding). */
  flatbufferEnd: number;
}

/**
 * A Model (version 3) with one subgraph holding `tensors`, buffer 0 empty,
 * one buffer per tensor, plus `extraBuffers` (raw, referenced by no tensor,
 * like metadata buffers).
 */
export function buildTflite(tensors: readonly TfliteTensorSpec[], extraBuffers: readonly Buffer[] = [], externalAlign = 64): BuiltTflite {
  const indices: number[] = [];
  const build = (extOffsets: bigint[]) => {
    indices.length = 0;
    const bufferNodes: FbNode[] = [{ kind: 'table', fields: [] }];
    const tensorNodes: FbNode[] = [];
    const external: { buffer: number; data: Buffer }[] = [];
    let e = 0;
    tensors.forEach((t) => {
      const index = t.shareBuffer ?? bufferNodes.length;
      indices.push(index);
      if (t.shareBuffer !== undefined) {
        // no buffer of its own
      } else if (t.data && t.external) {
        bufferNodes.push({
          kind: 'table', tag: `buffer${index}`,
          fields: [undefined, { u64: extOffsets[e++] ?? 2n, tag: `offset${index}` }, { u64: BigInt(t.data.length), tag: `size${index}` }],
        });
        external.push({ buffer: index, data: t.data });
      } else if (t.data) {
        bufferNodes.push({ kind: 'table', tag: `buffer${index}`, fields: [{ ref: { kind: 'bytes', data: t.data, align: 16, tag: `data${index}` } }] });
      } else {
        bufferNodes.push({ kind: 'table', fields: [] });
      }
      tensorNodes.push({
        kind: 'table',
        fields: [{ ref: { kind: 'ints', values: t.shape } }, { i8: t.type }, { u32: index }, { ref: { kind: 'string', value: t.name } }],
      });
    });
    for (const b of extraBuffers) {
      const index = bufferNodes.length;
      bufferNodes.push({ kind: 'table', tag: `buffer${index}`, fields: [{ ref: { kind: 'bytes', data: b, align: 16, tag: `data${index}` } }] });
    }
    const subgraph: FbNode = {
      kind: 'table',
      fields: [
        { ref: { kind: 'tables', items: tensorNodes } },
        { ref: { kind: 'ints', values: [0] } },
        { ref: { kind: 'ints', values: [tensors.length - 1] } },
        { ref: { kind: 'tables', items: [] } },
        { ref: { kind: 'string', value: 'main' } },
      ],
    };
    const model: FbNode = {
      kind: 'table',
      fields: [
        { u32: 3 },
        { ref: { kind: 'tables', items: [] } },
        { ref: { kind: 'tables', items: [subgraph] } },
        { ref: { kind: 'string', value: 'tessera test model' } },
        { ref: { kind: 'tables', items: bufferNodes } },
      ],
    };
    const w = new FbWriter();
    w.u32(0);
    w.raw(Buffer.from('TFL3', 'latin1'));
    const root = w.emit(model);
    w.patchU32(0, root);
    const flatbufferEnd = w.pos;
    const offsets: bigint[] = [];
    for (const x of external) {
      w.pad(externalAlign);
      offsets.push(BigInt(w.pos));
      w.positions.set(`data${x.buffer}`, w.pos);
      w.raw(x.data);
    }
    return { file: w.bytes(), positions: w.positions, offsets, flatbufferEnd };
  };
  // The flatbuffer's size does not depend on the offsets: build, then rebuild with the real ones.
  const first = build([]);
  const out = build(first.offsets);
  const result: BuiltTflite['tensors'] = [];
  tensors.forEach((t, i) => {
    if (!t.data || t.data.length === 0 || t.shareBuffer !== undefined) return;
    const buffer = indices[i]!;
    result.push({ name: t.name, offset: out.positions.get(`data${buffer}`)!, length: t.data.length, buffer });
  });
  return { file: out.file, tensors: result, positions: out.positions, flatbufferEnd: out.flatbufferEnd };
}
