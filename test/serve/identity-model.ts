import { ProtoWriter } from '../helpers/build-onnx.js';

/** ONNX TensorProto.DataType of each OIP datatype onnxruntime-node carries. */
export const ONNX_ELEM: Record<string, number> = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8, BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
};

/** ValueInfoProto of a tensor: a string dimension is dynamic (named), a number fixed. */
export function valueInfo(name: string, elem: number, shape: (string | number)[]): ProtoWriter {
  const dims = new ProtoWriter();
  for (const d of shape) dims.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().varint(1, d));
  const tensorType = new ProtoWriter().varint(1, elem).message(2, dims);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** A ModelProto (IR 8, opset 17) around a GraphProto. */
export function modelOf(graph: ProtoWriter): Buffer {
  return new ProtoWriter()
    .varint(1, 8)
    .string(2, 'tessera-test')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').varint(2, 17))
    .finish();
}

/** A model with one Identity node per datatype (every one by default): input `x_<DT>` [n, width] gives output `y_<DT>`. */
export function identityModel(width = 3, datatypes: readonly string[] = Object.keys(ONNX_ELEM)): Buffer {
  const graph = new ProtoWriter();
  for (const dt of datatypes) {
    graph.message(1, new ProtoWriter().string(1, `x_${dt}`).string(2, `y_${dt}`).string(3, `id_${dt}`).string(4, 'Identity'));
  }
  graph.string(2, 'identity');
  for (const dt of datatypes) graph.message(11, valueInfo(`x_${dt}`, ONNX_ELEM[dt]!, ['n', width]));
  for (const dt of datatypes) graph.message(12, valueInfo(`y_${dt}`, ONNX_ELEM[dt]!, ['n', width]));
  return modelOf(graph);
}
