import type { OipTensorMeta } from '../../wire/oip.js';

/** A model input or output as the protocol describes it: -1 for a dimension of any size (its JSON, declared in src/wire). */
export type TensorSpec = OipTensorMeta;

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}
