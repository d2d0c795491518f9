/**
 * A minimal protobuf encoder and ONNX model builder for tests: enough of
 * ModelProto / GraphProto / NodeProto / AttributeProto / TensorProto /
 * SparseTensorProto / FunctionProto to write initializers, Constant nodes,
 * If-style subgraphs and external-data tensors. Field numbers follow
 * onnx.proto and are written here independently of the reader.
 */

// ---------------------------------------------------------------- protobuf

/** Base-128 varint; negative numbers as 10-byte two's complement, like int64 in protobuf. */
export function encodeVarint(v: number | bigint): Buffer {
  let n = BigInt(v);
  if (n < 0n) n += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return Buffer.from(out);
}

export class ProtoWriter {
  private parts: Buffer[] = [];

  tag(field: number, wire: number): this {
    this.parts.push(encodeVarint(field * 8 + wire));
    return this;
  }
  varint(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.parts.push(encodeVarint(v));
    return this;
  }
  bytes(field: number, b: Buffer): this {
    this.tag(field, 2);
    this.parts.push(encodeVarint(b.length), b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }
  message(field: number, m: ProtoWriter | Buffer): this {
    return this.bytes(field, m instanceof ProtoWriter ? m.finish() : m);
  }
  packedVarints(field: number, vs: readonly (number | bigint)[]): this {
    return this.bytes(field, Buffer.concat(vs.map(encodeVarint)));
  }
  fixed32(field: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.tag(field, 5);
    this.parts.push(b);
    return this;
  }
  /** Appends bytes verbatim (for crafting malformed messages). */
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------- ONNX

/** Canonical dtype → ONNX TensorProto.DataType. */
export const ONNX_TEST_DTYPES: Readonly<Record<string, number>> = {
  F32: 1, U8: 2, I8: 3, U16: 4, I16: 5, I32: 6, I64: 7, BOOL: 9, F16: 10, F64: 11, U32: 12, U64: 13,
  C64: 14, C128: 15, BF16: 16, F8_E4M3: 17, F8_E5M2: 19,
};

export interface OnnxExternal {
  location: string;
  offset?: number | string;
  /** Omitted from external_data when undefined. */
  length?: number | string;
}

export interface OnnxTensor {
  /** Omitted when undefined (Constant nodes often leave it empty). */
  name?: string;
  /** Canonical dtype (key of ONNX_TEST_DTYPES) or a raw ONNX data_type. */
  dtype: string | number;
  shape: number[];
  /** Written as raw_data when given. */
  data?: Buffer;
  /** Makes the tensor external (data_location = EXTERNAL). */
  external?: OnnxExternal;
  /** Write name after raw_data (fields may come in any order). */
  nameLast?: boolean;
  /** Write dims unpacked, one varint field each (the default is packed). */
  unpackedDims?: boolean;
}

export interface OnnxAttribute {
  name: string;
  tensor?: OnnxTensor;
  tensors?: OnnxTensor[];
  graph?: OnnxGraph;
  graphs?: OnnxGraph[];
  sparseTensor?: OnnxSparseTensor;
  int?: number;
}

export interface OnnxNode {
  opType: string;
  name?: string;
  inputs?: string[];
  outputs?: string[];
  attributes?: OnnxAttribute[];
}

export interface OnnxSparseTensor {
  values: OnnxTensor;
  indices: OnnxTensor;
  dims: number[];
}

export interface OnnxGraph {
  name?: string;
  nodes?: OnnxNode[];
  initializers?: OnnxTensor[];
  sparseInitializers?: OnnxSparseTensor[];
}

export interface OnnxFunction {
  name: string;
  domain?: string;
  nodes: OnnxNode[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  irVersion?: number;
  producer?: string;
  opset?: number;
  functions?: OnnxFunction[];
}

export function encodeTensor(t: OnnxTensor): Buffer {
  const w = new ProtoWriter();
  if (t.unpackedDims) for (const d of t.shape) w.varint(1, d);
  else if (t.shape.length) w.packedVarints(1, t.shape);
  w.varint(2, typeof t.dtype === 'number' ? t.dtype : ONNX_TEST_DTYPES[t.dtype] ?? 0);
  if (t.name !== undefined && !t.nameLast) w.string(8, t.name);
  if (t.data) w.bytes(9, t.data);
  if (t.name !== undefined && t.nameLast) w.string(8, t.name);
  if (t.external) {
    const entry = (k: string, v: string): ProtoWriter => new ProtoWriter().string(1, k).string(2, v);
    w.message(13, entry('location', t.external.location));
    if (t.external.offset !== undefined) w.message(13, entry('offset', String(t.external.offset)));
    if (t.external.length !== undefined) w.message(13, entry('length', String(t.external.length)));
    w.varint(14, 1);
  }
  return w.finish();
}

export function encodeSparseTensor(s: OnnxSparseTensor): Buffer {
  return new ProtoWriter().message(1, encodeTensor(s.values)).message(2, encodeTensor(s.indices)).packedVarints(3, s.dims).finish();
}

export function encodeAttribute(a: OnnxAttribute): Buffer {
  const w = new ProtoWriter().string(1, a.name);
  if (a.int !== undefined) w.varint(3, a.int).varint(20, 2);
  if (a.tensor) w.message(5, encodeTensor(a.tensor)).varint(20, 4);
  if (a.graph) w.message(6, encodeGraph(a.graph)).varint(20, 5);
  for (const t of a.tensors ?? []) w.message(10, encodeTensor(t));
  for (const g of a.graphs ?? []) w.message(11, encodeGraph(g));
  if (a.sparseTensor) w.message(22, encodeSparseTensor(a.sparseTensor)).varint(20, 11);
  return w.finish();
}

export function encodeNode(n: OnnxNode): Buffer {
  const w = new ProtoWriter();
  for (const i of n.inputs ?? []) w.string(1, i);
  for (const o of n.outputs ?? []) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, encodeAttribute(a));
  return w.finish();
}

export function encodeGraph(g: OnnxGraph): Buffer {
  const w = new ProtoWriter();
  for (const n of g.nodes ?? []) w.message(1, encodeNode(n));
  w.string(2, g.name ?? 'graph');
  for (const t of g.initializers ?? []) w.message(5, encodeTensor(t));
  for (const s of g.sparseInitializers ?? []) w.message(15, encodeSparseTensor(s));
  return w.finish();
}

export function encodeFunction(f: OnnxFunction): Buffer {
  const w = new ProtoWriter().string(1, f.name);
  for (const n of f.nodes) w.message(7, encodeNode(n));
  w.string(10, f.domain ?? 'test.functions');
  return w.finish();
}

export function encodeModel(m: OnnxModel): Buffer {
  const w = new ProtoWriter()
    .varint(1, m.irVersion ?? 8)
    .string(2, m.producer ?? 'tessera-test')
    .message(7, encodeGraph(m.graph))
    .message(8, new ProtoWriter().string(1, '').varint(2, m.opset ?? 17));
  for (const f of m.functions ?? []) w.message(25, encodeFunction(f));
  return w.finish();
}

/** A model from a full spec, or from a plain list of initializers. */
export function buildOnnx(spec: OnnxModel | readonly OnnxTensor[]): Buffer {
  return encodeModel(Array.isArray(spec) ? { graph: { initializers: [...spec] } } : (spec as OnnxModel));
}

/**
 * An `If` node whose then/else branches each hold an initializer, the then
 * branch nesting a further `If` with one more (three graph levels), plus a
 * Constant node with an unnamed tensor in the else branch, like PyTorch's
 * exports of Silero VAD.
 */
export function ifNode(then: OnnxTensor, otherwise: OnnxTensor, nested: OnnxTensor, constant: OnnxTensor): OnnxNode {
  const inner: OnnxNode = {
    opType: 'If', name: 'inner_if', inputs: ['cond'], outputs: ['y2'],
    attributes: [
      { name: 'then_branch', graph: { name: 'inner_then', initializers: [nested] } },
      { name: 'else_branch', graph: { name: 'inner_else' } },
    ],
  };
  return {
    opType: 'If', name: 'outer_if', inputs: ['cond'], outputs: ['y'],
    attributes: [
      { name: 'then_branch', graph: { name: 'then', initializers: [then], nodes: [inner] } },
      {
        name: 'else_branch',
        graph: { name: 'else', initializers: [otherwise], nodes: [{ opType: 'Constant', name: 'k', outputs: ['k_out'], attributes: [{ name: 'value', tensor: constant }] }] },
      },
    ],
  };
}

export interface ExternalTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Buffer;
}

export interface ExternalBuild {
  model: Buffer;
  /** Contents of the companion file at `location`. */
  external: Buffer;
  /** Offset of each tensor in `external`. */
  offsets: number[];
}

/**
 * A model whose initializers live in one companion file (like onnx's
 * save_model(..., save_as_external_data=True)), each at a multiple of
 * `align` bytes. `omitLength` leaves the length entry out, so readers must
 * compute it from dims × itemsize.
 */
export function buildOnnxExternal(tensors: readonly ExternalTensor[], location = 'model.onnx.data', opts: { align?: number; omitLength?: boolean } = {}): ExternalBuild {
  const align = opts.align ?? 64;
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let pos = 0;
  const initializers: OnnxTensor[] = tensors.map((t) => {
    const pad = (align - (pos % align)) % align;
    if (pad) parts.push(Buffer.alloc(pad));
    pos += pad;
    offsets.push(pos);
    const ext: OnnxExternal = opts.omitLength ? { location, offset: pos } : { location, offset: pos, length: t.data.length };
    parts.push(t.data);
    pos += t.data.length;
    return { name: t.name, dtype: t.dtype, shape: t.shape, external: ext };
  });
  return { model: buildOnnx(initializers), external: Buffer.concat(parts), offsets };
}
