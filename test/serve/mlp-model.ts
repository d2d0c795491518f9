import { ProtoWriter, encodeNode, encodeTensor } from '../helpers/build-onnx.js';
import { f32ToBF16Bits, f32ToF16Bits } from '../../src/codec/cast.js';
import { floats } from './helpers.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';

/**
 * A small multi-layer perceptron, batchable along dimension 0: input `x` FP32
 * [n, sizes[0]], then MatMul + Add (+ Relu between layers) per layer, output
 * `y` FP32 [n, sizes.at(-1)]. Weights are deterministic from `seed`; with
 * `weights`, the MatMul weights are stored in half precision (F16 or BF16)
 * and cast to float32 in the graph.
 */
export function mlpModel(sizes: readonly number[], seed: number, opts: { weights?: 'F16' | 'BF16' } = {}): Buffer {
  const graph = new ProtoWriter();
  let h = 'x';
  const inits: Buffer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [a, b] = [sizes[l]!, sizes[l + 1]!];
    const last = l + 2 === sizes.length;
    const w = floats(a * b, seed + 2 * l, 1 / Math.sqrt(a));
    const bias = floats(b, seed + 2 * l + 1, 0.1);
    if (opts.weights) {
      // The weight kept in half precision, cast to float32 for the MatMul (what fp16/bf16 exports of float models do).
      const half = Buffer.alloc(2 * w.length);
      const bits = new Int32Array(w.buffer);
      for (let i = 0; i < w.length; i++) half.writeUInt16LE(opts.weights === 'F16' ? f32ToF16Bits(bits[i]!) : f32ToBF16Bits(bits[i]!), 2 * i);
      inits.push(encodeTensor({ name: `w${l}`, dtype: opts.weights, shape: [a, b], data: half }));
      graph.message(1, encodeNode({ opType: 'Cast', name: `cast${l}`, inputs: [`w${l}`], outputs: [`w${l}f`], attributes: [{ name: 'to', int: ONNX_ELEM.FP32! }] }));
    } else {
      inits.push(encodeTensor({ name: `w${l}`, dtype: 'F32', shape: [a, b], data: Buffer.from(w.buffer) }));
    }
    inits.push(encodeTensor({ name: `b${l}`, dtype: 'F32', shape: [b], data: Buffer.from(bias.buffer) }));
    graph.message(1, encodeNode({ opType: 'MatMul', name: `mm${l}`, inputs: [h, opts.weights ? `w${l}f` : `w${l}`], outputs: [`m${l}`] }));
    const out = last ? 'y' : `r${l}`;
    graph.message(1, encodeNode({ opType: 'Add', name: `add${l}`, inputs: [`m${l}`, `b${l}`], outputs: [last ? 'y' : `a${l}`] }));
    if (!last) graph.message(1, encodeNode({ opType: 'Relu', name: `relu${l}`, inputs: [`a${l}`], outputs: [out] }));
    h = out;
  }
  graph.string(2, 'mlp');
  for (const i of inits) graph.message(5, i);
  graph.message(11, valueInfo('x', ONNX_ELEM.FP32!, ['n', sizes[0]!]));
  graph.message(12, valueInfo('y', ONNX_ELEM.FP32!, ['n', sizes.at(-1)!]));
  return modelOf(graph);
}

/**
 * mlpModel's network with every weight and bias in an external data file at
 * `location` (relative to the model file; 64-byte aligned, as exporters
 * write them): the model file holds only the graph.
 */
export function mlpModelExternal(sizes: readonly number[], seed: number, location: string): { model: Buffer; data: Buffer } {
  const graph = new ProtoWriter();
  let h = 'x';
  const inits: Buffer[] = [];
  const parts: Buffer[] = [];
  let at = 0;
  const external = (name: string, shape: number[], values: Float32Array): void => {
    const pad = (64 - (at % 64)) % 64;
    parts.push(Buffer.alloc(pad), Buffer.from(values.buffer));
    at += pad;
    inits.push(encodeTensor({ name, dtype: 'F32', shape, external: { location, offset: at, length: values.byteLength } }));
    at += values.byteLength;
  };
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [a, b] = [sizes[l]!, sizes[l + 1]!];
    const last = l + 2 === sizes.length;
    external(`w${l}`, [a, b], floats(a * b, seed + 2 * l, 1 / Math.sqrt(a)));
    external(`b${l}`, [b], floats(b, seed + 2 * l + 1, 0.1));
    graph.message(1, encodeNode({ opType: 'MatMul', name: `mm${l}`, inputs: [h, `w${l}`], outputs: [`m${l}`] }));
    const out = last ? 'y' : `r${l}`;
    graph.message(1, encodeNode({ opType: 'Add', name: `add${l}`, inputs: [`m${l}`, `b${l}`], outputs: [last ? 'y' : `a${l}`] }));
    if (!last) graph.message(1, encodeNode({ opType: 'Relu', name: `relu${l}`, inputs: [`a${l}`], outputs: [out] }));
    h = out;
  }
  graph.string(2, 'mlp-external');
  for (const i of inits) graph.message(5, i);
  graph.message(11, valueInfo('x', ONNX_ELEM.FP32!, ['n', sizes[0]!]));
  graph.message(12, valueInfo('y', ONNX_ELEM.FP32!, ['n', sizes.at(-1)!]));
  return { model: modelOf(graph), data: Buffer.concat(parts) };
}

/** Softmax over axis 1: `logits` FP32 [n, k] gives `probs` FP32 [n, k] (an ensemble's post-processing step). */
export function softmaxModel(k: number): Buffer {
  const axis = new ProtoWriter().string(1, 'axis').varint(3, 1).varint(20, 2).finish();
  const graph = new ProtoWriter()
    .message(1, new ProtoWriter().string(1, 'logits').string(2, 'probs').string(3, 'softmax').string(4, 'Softmax').message(5, axis))
    .string(2, 'softmax')
    .message(11, valueInfo('logits', ONNX_ELEM.FP32!, ['n', k]))
    .message(12, valueInfo('probs', ONNX_ELEM.FP32!, ['n', k]));
  return modelOf(graph);
}

/** Sums each row: `x` FP32 [n, m] (m any) gives `s` FP32 [n, 1]; rows of other widths cannot share a run. */
export function rowSumModel(): Buffer {
  const axes = encodeTensor({ name: 'axes', dtype: 'I64', shape: [1], data: Buffer.from(new BigInt64Array([1n]).buffer) });
  const graph = new ProtoWriter()
    .message(1, new ProtoWriter().string(1, 'x').string(1, 'axes').string(2, 's').string(3, 'sum').string(4, 'ReduceSum')
      .message(5, new ProtoWriter().string(1, 'keepdims').varint(3, 1).varint(20, 2)))
    .string(2, 'rowsum')
    .message(5, axes)
    .message(11, valueInfo('x', ONNX_ELEM.FP32!, ['n', 'm']))
    .message(12, valueInfo('s', ONNX_ELEM.FP32!, ['n', 1]));
  return modelOf(graph);
}
