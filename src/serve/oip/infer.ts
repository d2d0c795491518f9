import { invalid } from '../../errors.js';
import { BinaryCursor, binaryResponse } from './binary-extension.js';
import { isOipDatatype } from './datatypes.js';
import type { OipDatatype } from './datatypes.js';
import type { ModelSignature, TensorSpec } from './signature.js';
import { binaryToTensorData, elementCount, flattenJsonData, jsonToTensorData, tensorDataToBinary, tensorDataToJson } from './tensor-codec.js';
import type { HostTensor, TensorData } from './tensor-codec.js';

export interface RequestedOutput {
  name: string;
  /** Return this output as binary data (binary tensor data extension). */
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  /** In the order the request gave them. */
  inputs: HostTensor[];
  /** What to return, in order: the request's `outputs`, or every model output. */
  outputs: RequestedOutput[];
}

export interface OutputTensor {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: TensorData;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A `parameters` object: string keys to strings, numbers or booleans. */
function parameters(v: unknown, what: string): Json {
  if (v === undefined) return {};
  if (!isObject(v)) throw invalid(`${what}: "parameters" must be an object`);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      throw invalid(`${what}: parameter "${k}" must be a string, number or boolean`);
    }
  }
  return v;
}

function boolParam(p: Json, key: string, what: string): boolean | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${what}: parameter "${key}" must be true or false`);
  return v;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(',')}]`;

function checkShape(spec: TensorSpec, shape: number[], what: string): void {
  const bad = shape.length !== spec.shape.length || spec.shape.some((d, i) => d >= 0 && d !== shape[i]);
  if (bad) throw invalid(`${what}: shape ${fmtShape(shape)} does not match the model's ${fmtShape(spec.shape)} (-1: any size)`);
}

/**
 * Reads and checks an inference request against the model's signature:
 * input names, datatypes, shapes, element counts (before any tensor is
 * allocated), binary data sizes, requested outputs.
 */
export function parseInferRequest(body: unknown, binary: Buffer, sig: ModelSignature): InferRequest {
  if (!isObject(body)) throw invalid('the request body must be a JSON object');
  const out: InferRequest = { inputs: [], outputs: [] };
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') throw invalid('"id" must be a string');
    out.id = body.id;
  }
  const reqParams = parameters(body.parameters, 'request');
  const binaryAll = boolParam(reqParams, 'binary_data_output', 'request') ?? false;

  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw invalid('"inputs" must be a non-empty array');
  const specs = new Map(sig.inputs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const cursor = new BinaryCursor(binary);
  for (const [i, raw] of body.inputs.entries()) {
    if (!isObject(raw)) throw invalid(`inputs[${i}] must be an object`);
    if (typeof raw.name !== 'string') throw invalid(`inputs[${i}]: "name" must be a string`);
    const name = raw.name;
    const what = `input "${name}"`;
    const spec = specs.get(name);
    if (!spec) throw invalid(`unknown input "${name}"; the model's inputs are ${sig.inputs.map((s) => `"${s.name}"`).join(', ')}`);
    if (seen.has(name)) throw invalid(`${what} is given twice`);
    seen.add(name);
    if (typeof raw.datatype !== 'string' || !isOipDatatype(raw.datatype)) {
      throw invalid(`${what}: "datatype" must be one of BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES`);
    }
    if (raw.datatype !== spec.datatype) throw invalid(`${what}: datatype ${raw.datatype} does not match the model's ${spec.datatype}`);
    if (!Array.isArray(raw.shape)) throw invalid(`${what}: "shape" must be an array of dimensions`);
    const shape = raw.shape as unknown[];
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw invalid(`${what}: shape dimension ${JSON.stringify(d)} is not a non-negative integer`);
    }
    const dims = shape as number[];
    checkShape(spec, dims, what);
    const count = elementCount(dims, what);
    const p = parameters(raw.parameters, what);
    if (p.shared_memory_region !== undefined) throw invalid(`${what}: shared memory is not supported by this server`);
    let data: TensorData;
    if (p.binary_data_size !== undefined) {
      if (raw.data !== undefined) throw invalid(`${what}: give either "data" or parameters.binary_data_size, not both`);
      data = binaryToTensorData(spec.datatype, cursor.take(p.binary_data_size, what), count, what);
    } else {
      if (raw.data === undefined) throw invalid(`${what}: "data" is missing (or give parameters.binary_data_size with the binary tensor data extension)`);
      data = jsonToTensorData(spec.datatype, flattenJsonData(raw.data, dims, count, what), what);
    }
    out.inputs.push({ name, datatype: spec.datatype, shape: dims, data });
  }
  cursor.finish();
  const missing = sig.inputs.filter((s) => !seen.has(s.name));
  if (missing.length) throw invalid(`missing input(s) ${missing.map((s) => `"${s.name}"`).join(', ')}`);

  if (body.outputs === undefined) {
    out.outputs = sig.outputs.map((s) => ({ name: s.name, binary: binaryAll }));
  } else {
    if (!Array.isArray(body.outputs)) throw invalid('"outputs" must be an array');
    const known = new Set(sig.outputs.map((s) => s.name));
    const wanted = new Set<string>();
    for (const [i, raw] of body.outputs.entries()) {
      if (!isObject(raw) || typeof raw.name !== 'string') throw invalid(`outputs[${i}] must be an object with a "name"`);
      if (!known.has(raw.name)) throw invalid(`unknown output "${raw.name}"; the model's outputs are ${sig.outputs.map((s) => `"${s.name}"`).join(', ')}`);
      if (wanted.has(raw.name)) throw invalid(`output "${raw.name}" is requested twice`);
      wanted.add(raw.name);
      const p = parameters(raw.parameters, `output "${raw.name}"`);
      if (p.classification !== undefined) throw invalid(`output "${raw.name}": the classification extension is not supported`);
      if (p.shared_memory_region !== undefined) throw invalid(`output "${raw.name}": shared memory is not supported by this server`);
      out.outputs.push({ name: raw.name, binary: boolParam(p, 'binary_data', `output "${raw.name}"`) ?? binaryAll });
    }
    if (out.outputs.length === 0) throw invalid('"outputs" is empty: leave it out to get every output');
  }
  return out;
}

export interface EncodedResponse {
  contentType: string;
  /** Set when some output is binary. */
  headerLength?: number;
  body: Buffer[];
  length: number;
}

/** The inference response: JSON, or a JSON header followed by the binary outputs. */
export function encodeInferResponse(model: { name: string; version: number }, req: InferRequest, outputs: OutputTensor[]): EncodedResponse {
  const binaries: Buffer[] = [];
  const parts: string[] = [];
  for (const [i, o] of outputs.entries()) {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":${fmtShape(o.shape)}`;
    if (req.outputs[i]?.binary) {
      const b = tensorDataToBinary(o.data);
      binaries.push(b);
      parts.push(`${head},"parameters":{"binary_data_size":${b.length}}}`);
    } else {
      parts.push(`${head},"data":${tensorDataToJson(o.datatype, o.data)}}`);
    }
  }
  const id = req.id !== undefined ? `,"id":${JSON.stringify(req.id)}` : '';
  const json = `{"model_name":${JSON.stringify(model.name)},"model_version":"${model.version}"${id},"outputs":[${parts.join(',')}]}`;
  if (binaries.length === 0) {
    const b = Buffer.from(json, 'utf8');
    return { contentType: 'application/json', body: [b], length: b.length };
  }
  const r = binaryResponse(json, binaries);
  return { contentType: 'application/octet-stream', headerLength: r.headerLength, body: r.body, length: r.length };
}
