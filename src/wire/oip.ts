/**
 * The Open Inference Protocol's JSON, as far as the dashboard reads it: model
 * metadata and the JSON inference response. The server's TensorSpec and
 * OipDatatype (src/serve/oip) are these types. The inference response is
 * written by hand (encodeInferResponse, for exact numbers), so the compiler
 * cannot hold it to OipInferResponse: the serve and browser tests do.
 */

export type OipDatatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/** A model input or output as the protocol describes it: -1 for a dimension of any size. */
export interface OipTensorMeta {
  name: string;
  datatype: OipDatatype;
  shape: number[];
}

/** GET /v2/models/{name}[/versions/{v}]. */
export interface OipMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: OipTensorMeta[];
  outputs: OipTensorMeta[];
  parameters?: Record<string, string | number | boolean>;
}

/** An output in a JSON inference response (FP values that JSON cannot hold come as "NaN", "Infinity", "-Infinity"). */
export interface OipOutput extends OipTensorMeta {
  data: (number | string | boolean)[];
}

/** POST /v2/models/{name}[/versions/{v}]/infer, JSON response. */
export interface OipInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: OipOutput[];
}
