/**
 * A tiny ONNX model for the serving-platform bench (bench/serving-platform.ts):
 * one Softmax over axis 1, input "logits" FP32 [n, 10] -> output "probs"
 * FP32 [n, 10], IR version 8, opset 17, a dynamic first dimension. Written
 * with the few protobuf wire rules it needs (varints, length-delimited
 * fields), so that the bench depends on nothing of test/.
 */

/** A protobuf field: its number and wire encoding. */
type Field = Buffer;

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 negatives: ten bytes, two's complement
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (field: number, wire: 0 | 2): Buffer => varint((field << 3) | wire);
/** A varint field (int32, int64, enum). */
const int = (field: number, v: number): Field => Buffer.concat([key(field, 0), varint(v)]);
/** A length-delimited field: bytes, a string or an embedded message. */
const bytes = (field: number, v: Buffer | string): Field => {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([key(field, 2), varint(b.length), b]);
};
const msg = (field: number, ...fields: Field[]): Field => bytes(field, Buffer.concat(fields));

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

/** ValueInfoProto of a FLOAT tensor: a named dimension for "n", fixed sizes for the others. */
function floatTensor(field: number, name: string, dims: (number | string)[]): Field {
  const dim = (d: number | string): Field => msg(1, typeof d === 'string' ? bytes(2, d) : int(1, d)); // Dimension: dim_value 1, dim_param 2
  const shape = msg(2, ...dims.map(dim)); // TypeProto.Tensor.shape
  const tensorType = msg(1, int(1, FLOAT), shape); // TypeProto.tensor_type: elem_type 1, shape 2
  return msg(field, bytes(1, name), msg(2, tensorType)); // ValueInfoProto: name 1, type 2
}

/** The Softmax model's bytes (a ModelProto). */
export function softmaxModel(classes = 10): Buffer {
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5 (AttributeProto: name 1, i 3, type 20).
  const node = msg(1, bytes(1, 'logits'), bytes(2, 'probs'), bytes(3, 'softmax'), bytes(4, 'Softmax'), msg(5, bytes(1, 'axis'), int(3, 1), int(20, ATTR_INT)));
  // GraphProto: node 1, name 2, input 11, output 12.
  const graph = msg(7, node, bytes(2, 'softmax'), floatTensor(11, 'logits', ['n', classes]), floatTensor(12, 'probs', ['n', classes]));
  // ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8 (domain 1, version 2).
  return Buffer.concat([int(1, 8), bytes(2, 'tessera-bench'), bytes(3, '1'), graph, msg(8, bytes(1, ''), int(2, 17))]);
}
