/** IEEE 754 binary16 <-> number: exact from half to number, round-to-nearest-even from number to half. */

export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

function roundEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The half-precision bits nearest to v (ties to even), from the double itself (no double rounding through float32). */
export function numberToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // 65520 is the midpoint between the largest half (65504) and 2^16: it and above round to infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal, in units of 2^-24; 1024 units is the smallest normal, whose bits follow on.
    return sign | roundEven(a / 2 ** -24);
  }
  let exp = Math.floor(Math.log2(a));
  // log2 can be off by one next to powers of two.
  if (2 ** exp > a) exp--;
  else if (2 ** (exp + 1) <= a) exp++;
  let m = roundEven((a / 2 ** exp - 1) * 1024);
  if (m === 1024) {
    m = 0;
    exp++;
  }
  return sign | ((exp + 15) << 10) | m;
}
