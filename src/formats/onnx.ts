import { extname, posix } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { elementCount, layoutSegments } from './coverage.js';
import { DTYPE_BITS } from './dtypes.js';
import { FormatError } from './errors.js';
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import type { FormatReader } from './reader.js';
import type { CompanionSegments, Segmentation, TensorSegment } from './segment.js';

/** ONNX TensorProto.DataType → canonical dtype (see segment.ts). STRING (8) and UNDEFINED (0) have no fixed-size encoding. */
export const ONNX_DTYPES: ReadonlyMap<number, string> = new Map([
  [1, 'F32'], [2, 'U8'], [3, 'I8'], [4, 'U16'], [5, 'I16'], [6, 'I32'], [7, 'I64'],
  [9, 'BOOL'], [10, 'F16'], [11, 'F64'], [12, 'U32'], [13, 'U64'], [14, 'C64'], [15, 'C128'], [16, 'BF16'],
  [17, 'F8_E4M3'], [18, 'F8_E4M3FNUZ'], [19, 'F8_E5M2'], [20, 'F8_E5M2FNUZ'],
  [21, 'U4'], [22, 'I4'], [23, 'F4'], [24, 'F8_E8M0'], [25, 'U2'], [26, 'I2'],
]);

export function onnxDtype(dataType: number): string {
  return ONNX_DTYPES.get(dataType) ?? 'UNKNOWN';
}

/** Field numbers from onnx.proto, for the messages on the way to a TensorProto. */
const F = {
  model: { graph: 7, trainingInfo: 20, functions: 25 },
  training: { initialization: 1, algorithm: 2 },
  function: { node: 7, attributeProto: 11 },
  graph: { node: 1, initializer: 5, sparseInitializer: 15 },
  node: { name: 3, opType: 4, attribute: 5 },
  attribute: { name: 1, t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 },
  sparse: { values: 1, indices: 2 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 },
  entry: { key: 1, value: 2 },
} as const;

const DATA_LOCATION_EXTERNAL = 1;

/** What one TensorProto says, collected field by field: the fields may come in any order. */
interface TensorInfo {
  name: string;
  dataType: number;
  dims: number[];
  raw?: { offset: number; length: number };
  external: Map<string, string>;
  dataLocation: number;
}

/**
 * Validates an external-data location: a relative path that stays inside the
 * model's directory (a crafted model must not make the store read
 * /etc/passwd or ../../secret). Returns it normalized, with '/' separators.
 */
export function checkLocation(location: string): string {
  if (location.length === 0) throw new Error('location is empty');
  if (location.includes('\0')) throw new Error('location contains a NUL byte');
  const slashed = location.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) throw new Error(`location ${JSON.stringify(location)} is an absolute path`);
  const norm = posix.normalize(slashed);
  if (norm === '..' || norm.startsWith('../')) throw new Error(`location ${JSON.stringify(location)} escapes the model directory`);
  if (norm === '.' || norm.endsWith('/')) throw new Error(`location ${JSON.stringify(location)} names a directory`);
  return norm;
}

/** A decimal string field of external_data (offset, length). */
function decimal(value: string, key: string): number {
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new Error(`external_data ${key} ${JSON.stringify(value)} is not a non-negative integer`);
  }
  return Number(value);
}

/**
 * A tensor segment whose TensorProto had no name (Constant nodes often leave
 * it empty). It is named once its container's name is known, which may be
 * after the tensor: protobuf fields come in any order.
 */
interface Unnamed {
  seg: TensorSegment;
  /** Path below the container, e.g. "value" or "sparse_tensor.indices". */
  suffix: string;
}

function unnamed(segs: TensorSegment[], suffix: string): Unnamed[] {
  return segs.filter((seg) => seg.name === '').map((seg) => ({ seg, suffix }));
}

function nameAll(list: Unnamed[], prefix: string): void {
  for (const u of list) u.seg.name = u.suffix ? `${prefix}/${u.suffix}` : prefix;
}

/**
 * Walks a ModelProto along the fields that can lead to a TensorProto
 * (graphs, nodes, attributes, subgraphs, functions, training graphs, sparse
 * tensors), skipping every other field by its length.
 */
class OnnxWalker {
  readonly tensors: TensorSegment[] = [];
  readonly companions = new Map<string, TensorSegment[]>();
  /** Per companion (normalized path): the location strings that named it, as written. */
  private readonly spellings = new Map<string, Set<string>>();

  constructor(private readonly file: string) {}

  model(r: ProtoReader): void {
    let fn = 0;
    let ti = 0;
    for (let f = r.next(); f; f = r.next()) {
      // A known field number with an unexpected wire type is an unknown
      // field to protobuf parsers; skip it the same way.
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.model.graph) this.graph(r.sub(f, 'graph'));
      else if (f.field === F.model.functions) this.function(r.sub(f, `functions[${fn++}]`));
      else if (f.field === F.model.trainingInfo) this.trainingInfo(r.sub(f, `training_info[${ti++}]`));
    }
  }

  private trainingInfo(r: ProtoReader): void {
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.training.initialization) this.graph(r.sub(f, 'initialization'));
      else if (f.field === F.training.algorithm) this.graph(r.sub(f, 'algorithm'));
    }
  }

  private function(r: ProtoReader): void {
    let n = 0;
    let a = 0;
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.function.node) this.node(r.sub(f, `node[${n++}]`));
      else if (f.field === F.function.attributeProto) {
        const sub = r.sub(f, `attribute_proto[${a++}]`);
        nameAll(this.attribute(sub), sub.path);
      }
    }
  }

  private graph(r: ProtoReader): void {
    let n = 0;
    let i = 0;
    let s = 0;
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.graph.node) this.node(r.sub(f, `node[${n++}]`));
      else if (f.field === F.graph.initializer) {
        const sub = r.sub(f, `initializer[${i++}]`);
        nameAll(unnamed(this.tensor(sub), ''), sub.path);
      } else if (f.field === F.graph.sparseInitializer) {
        const sub = r.sub(f, `sparse_initializer[${s++}]`);
        nameAll(this.sparse(sub, ''), sub.path);
      }
    }
  }

  private node(r: ProtoReader): void {
    let name = '';
    let opType = '';
    const pending: Unnamed[] = [];
    let a = 0;
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.node.name) name = r.string(f, 'node name');
      else if (f.field === F.node.opType) opType = r.string(f, 'node op_type');
      else if (f.field === F.node.attribute) pending.push(...this.attribute(r.sub(f, `attribute[${a++}]`)));
    }
    nameAll(pending, name || (opType ? `${r.path}:${opType}` : r.path));
  }

  /** Tensors and subgraphs of one AttributeProto; returns its unnamed tensors, suffixed with the attribute name. */
  private attribute(r: ProtoReader): Unnamed[] {
    let attrName = '';
    const found: Array<{ list: Unnamed[]; index: string }> = [];
    let t = 0;
    let g = 0;
    let st = 0;
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      switch (f.field) {
        case F.attribute.name:
          attrName = r.string(f, 'attribute name');
          break;
        case F.attribute.t:
          found.push({ list: unnamed(this.tensor(r.sub(f, 't')), ''), index: '' });
          break;
        case F.attribute.tensors: {
          const i = `[${t++}]`;
          found.push({ list: unnamed(this.tensor(r.sub(f, `tensors${i}`)), ''), index: i });
          break;
        }
        case F.attribute.sparseTensor:
          found.push({ list: this.sparse(r.sub(f, 'sparse_tensor'), ''), index: '' });
          break;
        case F.attribute.sparseTensors: {
          const i = `[${st++}]`;
          found.push({ list: this.sparse(r.sub(f, `sparse_tensors${i}`), ''), index: i });
          break;
        }
        case F.attribute.g:
          this.graph(r.sub(f, 'g'));
          break;
        case F.attribute.graphs:
          this.graph(r.sub(f, `graphs[${g++}]`));
          break;
      }
    }
    const base = attrName || 'attribute';
    return found.flatMap(({ list, index }) =>
      list.map((u) => ({ seg: u.seg, suffix: u.suffix ? `${base}${index}.${u.suffix}` : `${base}${index}` })),
    );
  }

  /** SparseTensorProto: its values and indices are ordinary TensorProtos. */
  private sparse(r: ProtoReader, suffix: string): Unnamed[] {
    const out: Unnamed[] = [];
    const join = (part: string): string => (suffix ? `${suffix}.${part}` : part);
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.sparse.values) out.push(...unnamed(this.tensor(r.sub(f, 'values')), join('values')));
      else if (f.field === F.sparse.indices) out.push(...unnamed(this.tensor(r.sub(f, 'indices')), join('indices')));
    }
    return out;
  }

  /**
   * One TensorProto: a segment for its raw_data, and one in a companion
   * when its data is external. Returns both, for the caller to name them
   * when the tensor has no name.
   */
  private tensor(r: ProtoReader): TensorSegment[] {
    const info: TensorInfo = { name: '', dataType: 0, dims: [], external: new Map(), dataLocation: 0 };
    for (let f = r.next(); f; f = r.next()) {
      switch (f.field) {
        case F.tensor.dims:
          if (f.wire === WIRE_VARINT) info.dims.push(this.dim(r, f.value));
          else if (f.wire === WIRE_LEN) for (const d of r.packedVarints(f, 'dims')) info.dims.push(this.dim(r, d));
          break;
        case F.tensor.dataType:
          if (f.wire === WIRE_VARINT) info.dataType = f.value;
          break;
        case F.tensor.name:
          if (f.wire === WIRE_LEN) info.name = r.string(f, 'tensor name');
          break;
        case F.tensor.rawData:
          // Skipped by length: the payload range is all we need. A repeated
          // bytes field keeps its last value, as protobuf parsers do.
          if (f.wire === WIRE_LEN) info.raw = { offset: f.offset, length: f.length };
          break;
        case F.tensor.externalData:
          if (f.wire === WIRE_LEN) this.entry(r.sub(f, 'external_data'), info.external);
          break;
        case F.tensor.dataLocation:
          if (f.wire === WIRE_VARINT) info.dataLocation = f.value;
          break;
      }
    }
    return this.emit(r, info);
  }

  private dim(r: ProtoReader, d: number): number {
    if (!Number.isSafeInteger(d)) r.fail(`dims entry ${d >= 2 ** 63 ? 'is negative' : `${d} is too large`}`);
    return d;
  }

  /** StringStringEntryProto into `into`; a repeated key keeps its last value. */
  private entry(r: ProtoReader, into: Map<string, string>): void {
    let key = '';
    let value = '';
    for (let f = r.next(); f; f = r.next()) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === F.entry.key) key = r.string(f, 'external_data key', 4096);
      else if (f.field === F.entry.value) value = r.string(f, 'external_data value', 65536);
    }
    into.set(key, value);
  }

  private emit(r: ProtoReader, info: TensorInfo): TensorSegment[] {
    const dtype = onnxDtype(info.dataType);
    const out: TensorSegment[] = [];
    if (info.raw && info.raw.length > 0) {
      // raw_data whose length disagrees with dims × itemsize is kept as is:
      // exporters do odd things, and the bytes are in the file either way.
      const seg: TensorSegment = { kind: 'tensor', offset: info.raw.offset, length: info.raw.length, name: info.name, dtype, shape: info.dims };
      this.tensors.push(seg);
      out.push(seg);
    }
    if (info.dataLocation === DATA_LOCATION_EXTERNAL) {
      const seg = this.external(r, info, dtype);
      if (seg) out.push(seg);
    }
    return out;
  }

  private external(r: ProtoReader, info: TensorInfo, dtype: string): TensorSegment | undefined {
    const what = `external tensor '${info.name}'`;
    const location = info.external.get('location');
    if (location === undefined) r.fail(`${what} has no external_data location`);
    let relPath = '';
    let offset = 0;
    let length: number | undefined;
    try {
      relPath = checkLocation(location!);
      const off = info.external.get('offset');
      if (off !== undefined) offset = decimal(off, 'offset');
      const len = info.external.get('length');
      if (len !== undefined) length = decimal(len, 'length');
    } catch (e) {
      r.fail(`${what}: ${(e as Error).message}`);
    }
    if (length === undefined) {
      const elements = elementCount(info.dims);
      const bits = DTYPE_BITS.get(dtype);
      if (elements === undefined || bits === undefined) r.fail(`${what} has no external_data length and its size cannot be computed from dtype ${dtype} and dims [${info.dims.join(', ')}]`);
      length = Math.ceil((elements! * bits!) / 8);
      if (!Number.isSafeInteger(length)) r.fail(`${what} is too large`);
    }
    if (!Number.isSafeInteger(offset + length)) r.fail(`${what}: offset ${offset} + length ${length} is too large`);
    const seg: TensorSegment = { kind: 'tensor', offset, length, name: info.name, dtype, shape: info.dims };
    if (length === 0) return undefined;
    let list = this.companions.get(relPath);
    if (!list) this.companions.set(relPath, (list = []));
    list.push(seg);
    let spellings = this.spellings.get(relPath);
    if (!spellings) this.spellings.set(relPath, (spellings = new Set()));
    spellings.add(location!);
    return seg;
  }

  /** Companion files with their tensors in offset order; identical ranges (tied weights) once, partial overlaps rejected. */
  companionSegments(): CompanionSegments[] {
    const out: CompanionSegments[] = [];
    for (const [relPath, segs] of this.companions) {
      segs.sort((a, b) => a.offset - b.offset || a.length - b.length);
      const tensors: TensorSegment[] = [];
      for (const s of segs) {
        const prev = tensors[tensors.length - 1];
        if (prev && prev.offset === s.offset && prev.length === s.length) continue;
        if (prev && s.offset < prev.offset + prev.length) {
          throw new FormatError(this.file, `external data in ${relPath}: tensor '${s.name}' (bytes ${s.offset}..${s.offset + s.length}) overlaps tensor '${prev.name}' (bytes ${prev.offset}..${prev.offset + prev.length})`);
        }
        tensors.push(s);
      }
      out.push({ relPath, tensors, locations: [...this.spellings.get(relPath)!] });
    }
    return out;
  }
}

export const onnxReader: FormatReader = {
  format: 'onnx',

  // ONNX has no magic number (a ModelProto usually starts with ir_version's
  // tag 0x08, but so do many files), so only the extension is trusted.
  sniff(_head: Buffer, path: string): boolean {
    return extname(path).toLowerCase() === '.onnx';
  },

  read(src: ByteSource): Segmentation {
    const walker = new OnnxWalker(src.name);
    walker.model(ProtoReader.ofSource(src, 'ModelProto'));
    const segments = layoutSegments(src.name, src.size, walker.tensors);
    const companions = walker.companionSegments();
    return companions.length > 0 ? { format: 'onnx', segments, companions } : { format: 'onnx', segments };
  },
};
