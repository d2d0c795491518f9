/**
 * The native byte-plane loops (native/planes.c) against the JS loops they
 * replace: the same planes and the same elements, for every width and
 * transform, odd element counts, unaligned buffers; and bad arguments refused
 * before any byte is written. CI builds the addon (npm install), so a build
 * that silently fell back to JS fails here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePlanesJs, planeStride, PlaneTransform, splitPlanesJs, type PlaneLayout, type PlaneWidth } from '../../src/codec/byteplanes.js';
import { nativePlanes, planesImplementation } from '../../src/codec/native.js';
import { Rng } from '../../bench/synth.js';

const LAYOUTS: PlaneLayout[] = [
  { width: 2, transform: PlaneTransform.None },
  { width: 2, transform: PlaneTransform.Rotl1 },
  { width: 4, transform: PlaneTransform.None },
  { width: 4, transform: PlaneTransform.Rotl1 },
  { width: 8, transform: PlaneTransform.None },
];

/** `len` random bytes at byte offset `off` of a fresh buffer (off 0 is aligned). */
function bytesAt(rng: Rng, len: number, off: number): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(len + off), off, len);
  for (let i = 0; i < len; i++) b[i] = rng.u32() & 0xff;
  return b;
}

describe('native byte planes', () => {
  it('are built and loaded', () => {
    assert.equal(planesImplementation, 'native');
  });

  it('split and merge exactly as the JS loops do, on any alignment', () => {
    const native = nativePlanes!;
    const rng = new Rng(20261207);
    for (const layout of LAYOUTS) {
      const w: PlaneWidth = layout.width;
      const rot = layout.transform === PlaneTransform.Rotl1;
      for (const n of [0, 1, 3, 4, 5, 31, 1000, 16384 + 7]) {
        const stride = planeStride(n);
        const src = bytesAt(rng, n * w, 0);
        const want = new Uint8Array(w * stride);
        splitPlanesJs(src, n, layout, want, stride);
        // The JS loops need alignment; the native ones are given it and not.
        for (const off of [0, 1, 3]) {
          const srcAt = new Uint8Array(new ArrayBuffer(n * w + off), off, n * w);
          srcAt.set(src);
          const planes = new Uint8Array(new ArrayBuffer(w * stride + off), off, w * stride);
          native.split(srcAt, n, w, rot, planes, stride);
          for (let k = 0; k < w; k++) {
            assert.deepEqual(planes.subarray(k * stride, k * stride + n), want.subarray(k * stride, k * stride + n), `split w${w} rot ${rot} n ${n} off ${off} plane ${k}`);
          }
          const back = new Uint8Array(new ArrayBuffer(n * w + off), off, n * w);
          native.merge(planes, stride, n, w, rot, back);
          assert.deepEqual(back, src, `merge w${w} rot ${rot} n ${n} off ${off}`);
        }
        const jsBack = new Uint8Array(n * w);
        mergePlanesJs(want, stride, n, layout, jsBack);
        assert.deepEqual(jsBack, src);
      }
    }
  });

  it('refuse sizes beyond the buffers, bad widths and overlapping buffers without writing', () => {
    const native = nativePlanes!;
    const planes = new Uint8Array(4 * 16);
    const dst = new Uint8Array(64).fill(7);
    assert.throws(() => native.merge(planes, 16, 17, 4, false, dst), /stride/);
    assert.throws(() => native.merge(planes, 16, 16, 4, false, new Uint8Array(63)), /dst/);
    assert.throws(() => native.merge(planes.subarray(0, 60), 16, 16, 4, false, dst), /planes/);
    assert.throws(() => native.merge(planes, 16, 16, 3, false, dst), /width/);
    assert.throws(() => native.merge(planes, 16, 16, 8, true, new Uint8Array(128)), /rotl1/);
    assert.throws(() => native.merge(planes, 16, -1, 4, false, dst), /`n`/);
    assert.throws(() => native.merge(planes, 16, 1.5, 4, false, dst), /`n`/);
    assert.throws(() => native.split(dst, 16, 4, false, planes, 2 ** 60), /stride/);
    assert.throws(() => native.merge([] as unknown as Uint8Array, 16, 16, 4, false, dst), /Uint8Array/);
    assert.throws(() => native.merge(new Uint16Array(32) as unknown as Uint8Array, 16, 16, 4, false, dst), /Uint8Array/);
    const one = new Uint8Array(128);
    assert.throws(() => native.merge(one.subarray(0, 64), 16, 16, 4, false, one.subarray(32, 96)), /overlap/);
    assert.ok(dst.every((b) => b === 7), 'nothing written by a refused call');
  });
});
