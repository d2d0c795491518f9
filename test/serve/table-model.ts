import { ProtoWriter, encodeNode, encodeTensor } from '../helpers/build-onnx.js';
import { floats } from './helpers.js';
import { ONNX_ELEM, modelOf, valueInfo } from './identity-model.js';

export interface TableModel {
  file: Buffer;
  /** The table, row-major [rows, cols]: row i is what index i answers. */
  table: Float32Array;
  rows: number;
  cols: number;
}

/**
 * A model that looks rows up in an FP32 table held as an initializer (one
 * Gather node): input `idx` INT64 [n] gives `y` FP32 [n, cols]. The table
 * makes the file as large as wanted, and its answers are known without
 * onnxruntime: they are the table's rows, bit for bit.
 */
export function tableModel(rows: number, cols: number, seed: number): TableModel {
  const table = floats(rows * cols, seed);
  const graph = new ProtoWriter()
    .message(1, encodeNode({ opType: 'Gather', name: 'lookup', inputs: ['table', 'idx'], outputs: ['y'] }))
    .string(2, 'table-lookup')
    .message(5, encodeTensor({ name: 'table', dtype: 'F32', shape: [rows, cols], data: Buffer.from(table.buffer) }))
    .message(11, valueInfo('idx', ONNX_ELEM.INT64!, ['n']))
    .message(12, valueInfo('y', ONNX_ELEM.FP32!, ['n', cols]));
  return { file: modelOf(graph), table, rows, cols };
}
