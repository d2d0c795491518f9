/**
 * Seeded synthetic tensors for bench/codec-speed.ts and the codec tests.
 * Everything is reproducible from the seed: a failing fuzz case prints its
 * seed and can be rerun alone.
 */
import { f32ToBF16Bits, f32ToF16Bits } from '../src/codec/index.js';

/** mulberry32: small, fast, good enough for test data. Returns uint32s. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** standard normal (Box-Muller) */
  gauss(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** n float32 ~ N(0, sigma), as little-endian bytes. */
export function normalF32(rng: Rng, n: number, sigma: number): Buffer {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.gauss() * sigma;
  return Buffer.from(a.buffer);
}

/** base + N(0, sigma) per element (a "fine-tuned" copy of an F32 tensor). */
export function perturbF32(rng: Rng, base: Uint8Array, sigma: number): Buffer {
  const n = base.length >>> 2;
  const src = new Float32Array(new Uint8Array(base).buffer, 0, n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = src[i]! + rng.gauss() * sigma;
  return Buffer.from(a.buffer);
}

/** Cast F32 bytes to F16/BF16 bytes with round-to-nearest-even. */
export function castF32(f32: Uint8Array, to: 'F16' | 'BF16'): Buffer {
  const n = f32.length >>> 2;
  const u = new Uint32Array(new Uint8Array(f32).buffer, 0, n);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = to === 'F16' ? f32ToF16Bits(u[i]!) : f32ToBF16Bits(u[i]!);
  return Buffer.from(out.buffer);
}
