/**
 * What the codec needs to know about a dtype: how to cut it into byte planes.
 * Names are the canonical (safetensors) dtype names.
 */
import { PlaneTransform, type PlaneLayout } from './byteplanes.js';

const LAYOUTS: ReadonlyMap<string, PlaneLayout> = new Map<string, PlaneLayout>([
  // Floats whose 8-bit exponent straddles a byte boundary: rotate (byteplanes.ts).
  ['F32', { width: 4, transform: PlaneTransform.Rotl1 }],
  ['BF16', { width: 2, transform: PlaneTransform.Rotl1 }],
  // complex64 = pairs of F32
  ['C64', { width: 4, transform: PlaneTransform.Rotl1 }],
  ['F16', { width: 2, transform: PlaneTransform.None }],
  ['F64', { width: 8, transform: PlaneTransform.None }],
  // Integers: high bytes of small values are constant, low bytes vary.
  ['I16', { width: 2, transform: PlaneTransform.None }],
  ['U16', { width: 2, transform: PlaneTransform.None }],
  ['I32', { width: 4, transform: PlaneTransform.None }],
  ['U32', { width: 4, transform: PlaneTransform.None }],
  ['I64', { width: 8, transform: PlaneTransform.None }],
  ['U64', { width: 8, transform: PlaneTransform.None }],
]);

/**
 * The byte-plane layout for a dtype, or undefined when planes don't apply
 * (1-byte types such as F8_E4M3, F8_E5M2, I8, U8, BOOL; unknown dtypes; no dtype).
 */
export function planeLayoutFor(dtype: string | undefined): PlaneLayout | undefined {
  return dtype === undefined ? undefined : LAYOUTS.get(dtype);
}

/** The half-precision dtypes the cast-aware codec predicts from F32. */
export function isHalfDtype(dtype: string | undefined): dtype is 'F16' | 'BF16' {
  return dtype === 'F16' || dtype === 'BF16';
}
