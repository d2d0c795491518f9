import { extname } from 'node:path';
import type { ByteSource } from '../io/file-source.js';
import { layoutSegments } from './coverage.js';
import { FlatBufferReader, type Table } from './flatbuffers.js';
import type { FormatReader } from './reader.js';
import type { Segmentation, TensorSegment } from './segment.js';
import { WindowedSource } from './window.js';

/** FlatBuffers file identifier of TFLite models (bytes 4..8). */
export const TFLITE_IDENTIFIER = 'TFL3';

/** TFLite `TensorType` → canonical dtype; anything else is 'UNKNOWN'. */
export const TFLITE_DTYPES: ReadonlyMap<number, string> = new Map([
  [0, 'F32'], [1, 'F16'], [2, 'I32'], [3, 'U8'], [4, 'I64'],
  // 5 STRING: variable-length, no canonical dtype
  [6, 'BOOL'], [7, 'I16'], [8, 'C64'], [9, 'I8'], [10, 'F64'], [11, 'C128'],
  [12, 'U64'],
  // 13 RESOURCE, 14 VARIANT: no data
  [15, 'U32'], [16, 'U16'], [17, 'I4'], [18, 'BF16'],
]);

/** Longest tensor name accepted (bytes). */
export const MAX_NAME_BYTES = 64 * 1024;
/** Most dimensions accepted in a tensor shape. */
export const MAX_RANK = 1024;

// Field ids (schema.fbs).
const MODEL_SUBGRAPHS = 2;
const MODEL_BUFFERS = 4;
const SUBGRAPH_TENSORS = 0;
const TENSOR_SHAPE = 0;
const TENSOR_TYPE = 1;
const TENSOR_BUFFER = 2;
const TENSOR_NAME = 3;
const BUFFER_DATA = 0;
const BUFFER_OFFSET = 1;
const BUFFER_SIZE = 2;

interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

function hasIdentifier(head: Buffer): boolean {
  return head.length >= 8 && head.toString('latin1', 4, 8) === TFLITE_IDENTIFIER;
}

export const tfliteReader: FormatReader = {
  format: 'tflite',

  sniff(head: Buffer, path: string): boolean {
    return extname(path).toLowerCase() === '.tflite' || hasIdentifier(head);
  },

  read(src: ByteSource): Segmentation {
    const win = new WindowedSource(src);
    const fb = new FlatBufferReader(win, 'tflite: ');
    const fail = (cause: string): never => win.fail(`tflite: ${cause}`);
    if (src.size < 8) fail(`file is ${src.size} bytes, too short for the flatbuffer root offset and identifier`);
    if (!hasIdentifier(fb.bytes(0, 8, 'header'))) fail(`file identifier (bytes 4..8) is not "${TFLITE_IDENTIFIER}"`);

    const model = fb.root('Model');

    // First tensor (in subgraph order) that names each buffer.
    const byBuffer = new Map<number, TensorInfo>();
    const buffers = model.vector(MODEL_BUFFERS, 4, 'buffers');
    const bufferCount = buffers?.length ?? 0;
    const subgraphs = model.vector(MODEL_SUBGRAPHS, 4, 'subgraphs');
    for (let s = 0; s < (subgraphs?.length ?? 0); s++) {
      const sg = model.vectorTable(subgraphs!, s, `Model.subgraphs[${s}]`);
      const tensors = sg.vector(SUBGRAPH_TENSORS, 4, 'tensors');
      for (let t = 0; t < (tensors?.length ?? 0); t++) {
        const tensor = sg.vectorTable(tensors!, t, `${sg.what}.tensors[${t}]`);
        const index = tensor.u32(TENSOR_BUFFER, 'buffer');
        if (index === 0) continue; // buffer 0 is the empty sentinel by convention
        if (index >= bufferCount) fail(`${tensor.what}.buffer = ${index} but the model has ${bufferCount} buffers`);
        if (byBuffer.has(index)) continue;
        byBuffer.set(index, tensorInfo(tensor, index));
      }
    }

    const segs: TensorSegment[] = [];
    for (let b = 0; b < bufferCount; b++) {
      const buf = model.vectorTable(buffers!, b, `Model.buffers[${b}]`);
      const named = byBuffer.get(b);
      const info = (length: number): TensorInfo => named ?? { name: `buffer${b}`, dtype: 'UNKNOWN', shape: [length] };
      const data = buf.vector(BUFFER_DATA, 1, 'data');
      if (data !== undefined && data.length > 0) {
        segs.push({ kind: 'tensor', offset: data.start, length: data.length, ...info(data.length) });
      }
      const offset = buf.u64(BUFFER_OFFSET, 'offset');
      const size = buf.u64(BUFFER_SIZE, 'size');
      // offset 1 / size 1 is the converter's placeholder for "no external data".
      if (offset > 1n && size > 0n) {
        if (data !== undefined && data.length > 0) fail(`${buf.what} has both inline data and offset/size`);
        if (offset + size > BigInt(src.size)) {
          fail(`${buf.what}: offset ${offset} + size ${size} runs past the end of the file (${src.size} bytes)`);
        }
        segs.push({ kind: 'tensor', offset: Number(offset), length: Number(size), ...info(Number(size)) });
      }
    }
    return { format: 'tflite', segments: layoutSegments(src.name, src.size, segs) };
  },
};

function tensorInfo(tensor: Table, index: number): TensorInfo {
  const name = tensor.string(TENSOR_NAME, 'name', MAX_NAME_BYTES) ?? `buffer${index}`;
  const type = tensor.i8(TENSOR_TYPE, 'type');
  const dtype = TFLITE_DTYPES.get(type) ?? 'UNKNOWN';
  const shape: number[] = [];
  const v = tensor.vector(TENSOR_SHAPE, 4, 'shape');
  if (v !== undefined) {
    if (v.length > MAX_RANK) tensor.fb.fail(`${tensor.what}.shape has ${v.length} dimensions (limit ${MAX_RANK})`);
    const raw = tensor.fb.bytes(v.start, v.length * 4, `${tensor.what}.shape`);
    for (let i = 0; i < v.length; i++) {
      const d = raw.readInt32LE(4 * i);
      if (d < 0) tensor.fb.fail(`${tensor.what}.shape[${i}] = ${d} is negative`);
      shape.push(d);
    }
  }
  return { name, dtype, shape };
}
