import { ProtoWriter } from '../helpers/build-onnx.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';

/**
 * A model with a string input `x` [n] passed through (Identity to `y`) and a
 * string output `k` that is a constant: `elements`, as raw bytes. ONNX stores
 * string elements as bytes (TensorProto.string_data), so the constant can hold
 * what a client cannot send: bytes that are not UTF-8.
 */
export function constantStringModel(elements: readonly Buffer[]): Buffer {
  const tensor = new ProtoWriter().packedVarints(1, [elements.length]).varint(2, ONNX_ELEM.BYTES!);
  for (const e of elements) tensor.bytes(6, e);
  // AttributeProto: name, t (5), type TENSOR (20 = 4).
  const value = new ProtoWriter().string(1, 'value').message(5, tensor).varint(20, 4);
  const graph = new ProtoWriter()
    .message(1, new ProtoWriter().string(1, 'x').string(2, 'y').string(3, 'pass').string(4, 'Identity'))
    .message(1, new ProtoWriter().string(2, 'k').string(3, 'constant').string(4, 'Constant').message(5, value))
    .string(2, 'strings')
    .message(11, valueInfo('x', ONNX_ELEM.BYTES!, ['n']))
    .message(12, valueInfo('y', ONNX_ELEM.BYTES!, ['n']))
    .message(12, valueInfo('k', ONNX_ELEM.BYTES!, [elements.length]));
  return modelOf(graph);
}
