import { FormatError } from './errors.js';
import type { PickleObject, PickleValue } from './pickle.js';

/**
 * The tensors a torch.save pickle describes, found in the symbolic value
 * tree of pickle.ts without running anything: each call of
 * `torch._utils._rebuild_tensor_v2` (or `_rebuild_tensor`, `_rebuild_tensor_v3`)
 * whose first argument is a persistent id `('storage', <torch.XStorage>, key,
 * location, numel)`. See pytorch.md.
 */

export interface TorchStorageRef {
  /** The storage's key: its data is the archive entry `<archive>/data/<key>`. */
  key: string;
  /** Canonical dtype of the storage type (safetensors spelling). */
  dtype: string;
  /** Elements the persistent id declares (bytes for an untyped storage). */
  numel: number;
}

export interface TorchTensorRef {
  /** The names the object tree reaches this tensor by, in the order first met (tied weights have several). */
  names: string[];
  storage: TorchStorageRef;
  /** Storage offset, in elements. */
  offset: number;
  shape: number[];
  stride: number[];
}

/** torch.<X>Storage → dtype. Quantized storages are their integer type; untyped storages are bytes. */
export const STORAGE_DTYPES: ReadonlyMap<string, string> = new Map([
  ['FloatStorage', 'F32'], ['DoubleStorage', 'F64'], ['HalfStorage', 'F16'], ['BFloat16Storage', 'BF16'],
  ['LongStorage', 'I64'], ['IntStorage', 'I32'], ['ShortStorage', 'I16'], ['CharStorage', 'I8'],
  ['ByteStorage', 'U8'], ['BoolStorage', 'BOOL'], ['ComplexFloatStorage', 'C64'], ['ComplexDoubleStorage', 'C128'],
  ['QInt8Storage', 'I8'], ['QUInt8Storage', 'U8'], ['QInt32Storage', 'I32'], ['UntypedStorage', 'U8'],
  ['UInt16Storage', 'U16'], ['UInt32Storage', 'U32'], ['UInt64Storage', 'U64'],
  ['Float8_e4m3fnStorage', 'F8_E4M3'], ['Float8_e5m2Storage', 'F8_E5M2'],
]);

const REBUILDERS: ReadonlySet<string> = new Set(['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3']);

/** Path parts nn.Module's pickled state puts between a module and its tensors: dropped, so names match its state_dict. */
const MODULE_SLOTS: ReadonlySet<string> = new Set(['_parameters', '_buffers', '_modules']);

/** At most this many tensors are collected (each is a few small arrays). */
export const MAX_TORCH_TENSORS = 1_000_000;

/**
 * Walks the value tree iteratively (the tree can be deep and, through the
 * memo, shared or cyclic: every container is visited once; a tensor is
 * recorded under every name it is reached by).
 */
export function torchTensors(root: PickleValue, file: string): TorchTensorRef[] {
  const found = new Map<PickleObject, TorchTensorRef>();
  const seen = new Set<object>();
  const todo: Array<[PickleValue, string]> = [[root, '']];
  while (todo.length > 0) {
    const [v, path] = todo.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (v.kind === 'object' && isRebuild(v)) {
      const known = found.get(v);
      if (known) known.names.push(path);
      else {
        if (found.size >= MAX_TORCH_TENSORS) throw new FormatError(file, `data.pkl: more than ${MAX_TORCH_TENSORS} tensors`);
        found.set(v, tensorOf(v, path, file));
      }
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    // Pushed in reverse so that the walk meets children in file order.
    const next: Array<[PickleValue, string]> = [];
    switch (v.kind) {
      case 'tuple': case 'list': case 'set':
        v.items.forEach((x, i) => next.push([x, join(path, String(i))]));
        break;
      case 'dict':
        for (const [k, x] of v.entries) next.push([x, keyed(path, k)]);
        break;
      case 'object':
        // A call's arguments keep the path (torch._utils._rebuild_parameter(tensor, …), OrderedDict(…)).
        for (const x of v.args) next.push([x, path]);
        v.items.forEach((x, i) => next.push([x, join(path, String(i))]));
        for (const [k, x] of v.entries) next.push([x, keyed(path, k)]);
        if (v.state !== undefined) next.push([v.state, path]);
        break;
      default:
        break;
    }
    for (let i = next.length - 1; i >= 0; i--) todo.push(next[i]!);
  }
  return [...found.values()];
}

function join(path: string, part: string): string {
  return path === '' ? part : `${path}.${part}`;
}

function keyed(path: string, key: PickleValue): string {
  const part = typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' ? String(key) : '?';
  return MODULE_SLOTS.has(part) ? path : join(path, part);
}

function isRebuild(o: PickleObject): boolean {
  const c = o.callable;
  return typeof c === 'object' && c !== null && c.kind === 'global' && c.module === 'torch._utils' && REBUILDERS.has(c.name);
}

function tensorOf(o: PickleObject, path: string, file: string): TorchTensorRef {
  const where = `data.pkl: tensor '${path}'`;
  const [pid, offset, size, stride] = o.args;
  if (typeof pid !== 'object' || pid === null || pid.kind !== 'persid') throw new FormatError(file, `${where}: its storage is not a persistent id`);
  const id = pid.id;
  if (typeof id !== 'object' || id === null || id.kind !== 'tuple' || id.items.length < 5 || id.items[0] !== 'storage') {
    throw new FormatError(file, `${where}: persistent id is not ('storage', type, key, location, numel)`);
  }
  const [, type, key, , numel] = id.items;
  if (typeof type !== 'object' || type === null || type.kind !== 'global' || type.module !== 'torch') {
    throw new FormatError(file, `${where}: storage type is not a torch storage class`);
  }
  const dtype = STORAGE_DTYPES.get(type.name);
  if (dtype === undefined) throw new FormatError(file, `${where}: unknown storage type torch.${type.name}`);
  if (typeof key !== 'string' || !/^\d{1,18}$/.test(key)) throw new FormatError(file, `${where}: storage key is not a decimal string`);
  const shape = ints(size, `${where}: size`, file);
  const strides = ints(stride, `${where}: stride`, file);
  if (shape.length !== strides.length) throw new FormatError(file, `${where}: ${shape.length} sizes but ${strides.length} strides`);
  return {
    names: [path],
    storage: { key, dtype, numel: count(numel, `${where}: storage numel`, file) },
    offset: count(offset, `${where}: storage offset`, file),
    shape,
    stride: strides,
  };
}

function count(v: PickleValue | undefined, field: string, file: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FormatError(file, `${field} is not a non-negative integer`);
  return v;
}

function ints(v: PickleValue | undefined, field: string, file: string): number[] {
  if (typeof v !== 'object' || v === null || v.kind !== 'tuple') throw new FormatError(file, `${field} is not a tuple`);
  if (v.items.length > 64) throw new FormatError(file, `${field} has ${v.items.length} dimensions (at most 64)`);
  return v.items.map((x) => count(x, field, file));
}
