/**
 * Bits per element of the canonical dtypes (safetensors spelling). Sub-byte
 * types are packed: a tensor's byte size is elements × bits / 8, which must be
 * whole (safetensors rejects the rest as a misaligned slice).
 */
export const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['BOOL', 8], ['U8', 8], ['I8', 8],
  ['F8_E4M3', 8], ['F8_E5M2', 8], ['F8_E8M0', 8], ['F8_E4M3FNUZ', 8], ['F8_E5M2FNUZ', 8],
  ['I16', 16], ['U16', 16], ['F16', 16], ['BF16', 16],
  ['I32', 32], ['U32', 32], ['F32', 32],
  ['I64', 64], ['U64', 64], ['F64', 64], ['C64', 64], ['C128', 128],
  ['F4', 4], ['F6_E2M3', 6], ['F6_E3M2', 6],
  ['U4', 4], ['I4', 4], ['U2', 2], ['I2', 2],
]);

/** Byte size of `elements` values of `dtype`, or undefined when unknown, fractional or unsafe. */
export function byteSize(dtype: string, elements: number): number | undefined {
  const bits = DTYPE_BITS.get(dtype);
  if (bits === undefined) return undefined;
  const total = elements * bits;
  if (!Number.isSafeInteger(total) || total % 8 !== 0) return undefined;
  return total / 8;
}
