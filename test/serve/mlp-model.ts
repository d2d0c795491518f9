import { ProtoWriter, encodeNode, encodeTensor } from '../helpers/build-onnx.js';
import { f32ToBF16Bits, f32ToF16Bits } from '../../src/codec/cast.js';
import { floats } from './helpers.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';

/** How one parameter of the MLP is stored: its initializer, and the name the graph reads it by (after any nodes added for it). */
type StoreParam = (graph: ProtoWriter, name: string, shape: number[], values: Float32Array, isWeight: boolean) => { init: Buffer; reads: string };

/** The MLP's graph (MatMul + Add (+ Relu) per layer), its weights deterministic from `seed`, each stored by `param`. */
function mlpGraph(sizes: readonly number[], seed: number, graphName: string, param: StoreParam): Buffer {
  const graph = new ProtoWriter();
  let h = 'x';
  const inits: Buffer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [a, b] = [sizes[l]!, sizes[l + 1]!];
    const last = l + 2 === sizes.length;
    const w = param(graph, `w${l}`, [a, b], floats(a * b, seed + 2 * l, 1 / Math.sqrt(a)), true);
    const bias = param(graph, `b${l}`, [b], floats(b, seed + 2 * l + 1, 0.1), false);
    inits.push(w.init, bias.init);
    graph.message(1, encodeNode({ opType: 'MatMul', name: `mm${l}`, inputs: [h, w.reads], outputs: [`m${l}`] }));
    const out = last ? 'y' : `r${l}`;
    graph.message(1, encodeNode({ opType: 'Add', name: `add${l}`, inputs: [`m${l}`, bias.reads], outputs: [last ? 'y' : `a${l}`] }));
    if (!last) graph.message(1, encodeNode({ opType: 'Relu', name: `relu${l}`, inputs: [`a${l}`], outputs: [out] }));
    h = out;
  }
  graph.string(2, graphName);
  for (const i of inits) graph.message(5, i);
  graph.message(11, valueInfo('x', ONNX_ELEM.FP32!, ['n', sizes[0]!]));
  graph.message(12, valueInfo('y', ONNX_ELEM.FP32!, ['n', sizes.at(-1)!]));
  return modelOf(graph);
}

/**
 * A small multi-layer perceptron, batchable along dimension 0: input `x` FP32
 * [n, sizes[0]], then MatMul + Add (+ Relu between layers) per layer, output
 * `y` FP32 [n, sizes.at(-1)]. Weights are deterministic from `seed`; with
 * `weights`, the MatMul weights are stored in half precision (F16 or BF16)
 * and cast to float32 in the graph.
 */
export function mlpModel(sizes: readonly number[], seed: number, opts: { weights?: 'F16' | 'BF16' } = {}): Buffer {
  return mlpGraph(sizes, seed, 'mlp', (graph, name, shape, values, isWeight) => {
    const half = isWeight ? opts.weights : undefined;
    if (!half) return { init: encodeTensor({ name, dtype: 'F32', shape, data: Buffer.from(values.buffer) }), reads: name };
    // The weight kept in half precision, cast to float32 for the MatMul (what fp16/bf16 exports of float models do).
    const data = Buffer.alloc(2 * values.length);
    const bits = new Int32Array(values.buffer);
    for (let i = 0; i < values.length; i++) data.writeUInt16LE(half === 'F16' ? f32ToF16Bits(bits[i]!) : f32ToBF16Bits(bits[i]!), 2 * i);
    graph.message(1, encodeNode({ opType: 'Cast', name: `cast_${name}`, inputs: [name], outputs: [`${name}f`], attributes: [{ name: 'to', int: ONNX_ELEM.FP32! }] }));
    return { init: encodeTensor({ name, dtype: half, shape, data }), reads: `${name}f` };
  });
}

/**
 * mlpModel's network with every weight and bias in an external data file at
 * `location` (relative to the model file; 64-byte aligned, as exporters
 * write them): the model file holds only the graph.
 */
export function mlpModelExternal(sizes: readonly number[], seed: number, location: string): { model: Buffer; data: Buffer } {
  const parts: Buffer[] = [];
  let at = 0;
  const model = mlpGraph(sizes, seed, 'mlp-external', (_graph, name, shape, values) => {
    const pad = (64 - (at % 64)) % 64;
    parts.push(Buffer.alloc(pad), Buffer.from(values.buffer));
    at += pad;
    const init = encodeTensor({ name, dtype: 'F32', shape, external: { location, offset: at, length: values.byteLength } });
    at += values.byteLength;
    return { init, reads: name };
  });
  return { model, data: Buffer.concat(parts) };
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
