/**
 * The native byte-plane loops (native/planes.c, built by `npm install`
 * through node-gyp). Optional: without them (installed with
 * --ignore-scripts, or no compiler) the JS loops in byteplanes.ts give the
 * same bytes, several times slower.
 */
import { createRequire } from 'node:module';

export interface NativePlanes {
  split(src: Uint8Array, n: number, width: number, rotl1: boolean, planes: Uint8Array, stride: number): void;
  merge(planes: Uint8Array, stride: number, n: number, width: number, rotl1: boolean, dst: Uint8Array): void;
  /** native/fingerprint.c: the three sums of fingerprint.ts over src's u16 or u32 values, into out[0..2]. */
  fingerprint(src: Uint8Array, width: 2 | 4, out: Uint32Array): void;
  /** native/stderr.c: fd 2 onto a new pipe; [the pipe's read end, a duplicate of the former fd 2]. Missing in an addon built before it. */
  captureStderr?(): [number, number];
}

/** Where node-gyp puts the addon, from dist/src/codec/ (the built module) and src/codec/. */
const CANDIDATES = ['../../../build/Release/tessera_planes.node', '../../build/Release/tessera_planes.node'];

function load(): { planes?: NativePlanes; why: string } {
  const require = createRequire(import.meta.url);
  let why = 'not built (npm install builds it with node-gyp)';
  for (const rel of CANDIDATES) {
    try {
      return { planes: require(rel) as NativePlanes, why: 'native' };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'MODULE_NOT_FOUND') why = `failed to load: ${err.message}`;
    }
  }
  return { why };
}

const loaded = load();

/** The addon, or undefined when the JS loops run. */
export const nativePlanes: NativePlanes | undefined = loaded.planes;

/** Which byte-plane loops run, for the bench and `tessera --version`. */
export const planesImplementation: string = loaded.planes ? 'native' : `js (${loaded.why})`;
