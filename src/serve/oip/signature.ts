import type { OipDatatype } from './datatypes.js';

/** A model input or output as the protocol describes it: -1 for a dimension of any size. */
export interface TensorSpec {
  name: string;
  datatype: OipDatatype;
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}
