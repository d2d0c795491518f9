/**
 * Open Inference Protocol datatypes and the onnxruntime tensor types they map
 * to. BF16 has no onnxruntime-node tensor type, so it is not served.
 */

import type { OipDatatype } from '../../wire/oip.js';

/** Declared in src/wire: the dashboard reads datatypes in model metadata too. */
export type { OipDatatype };

export type OrtType =
  | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float16' | 'float32' | 'float64' | 'string';

interface TypeInfo {
  oip: OipDatatype;
  ort: OrtType;
  /** Bytes per element on the wire and in memory; 0 for BYTES (length-prefixed). */
  size: number;
}

const TYPES: TypeInfo[] = [
  { oip: 'BOOL', ort: 'bool', size: 1 },
  { oip: 'UINT8', ort: 'uint8', size: 1 },
  { oip: 'UINT16', ort: 'uint16', size: 2 },
  { oip: 'UINT32', ort: 'uint32', size: 4 },
  { oip: 'UINT64', ort: 'uint64', size: 8 },
  { oip: 'INT8', ort: 'int8', size: 1 },
  { oip: 'INT16', ort: 'int16', size: 2 },
  { oip: 'INT32', ort: 'int32', size: 4 },
  { oip: 'INT64', ort: 'int64', size: 8 },
  { oip: 'FP16', ort: 'float16', size: 2 },
  { oip: 'FP32', ort: 'float32', size: 4 },
  { oip: 'FP64', ort: 'float64', size: 8 },
  { oip: 'BYTES', ort: 'string', size: 0 },
];

const BY_OIP = new Map<string, TypeInfo>(TYPES.map((t) => [t.oip, t]));
const BY_ORT = new Map<string, TypeInfo>(TYPES.map((t) => [t.ort, t]));

export const OIP_DATATYPES: readonly OipDatatype[] = TYPES.map((t) => t.oip);

export function isOipDatatype(s: string): s is OipDatatype {
  return BY_OIP.has(s);
}

export function oipToOrt(dt: OipDatatype): OrtType {
  return BY_OIP.get(dt)!.ort;
}

/** The OIP datatype of an onnxruntime tensor type, undefined for types OIP cannot carry (e.g. int4). */
export function ortToOip(t: string): OipDatatype | undefined {
  return BY_ORT.get(t)?.oip;
}

/** Bytes per element; 0 for BYTES. */
export function elementSize(dt: OipDatatype): number {
  return BY_OIP.get(dt)!.size;
}
