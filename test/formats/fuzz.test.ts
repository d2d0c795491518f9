import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferSource } from '../../src/io/file-source.js';
import { FormatError } from '../../src/formats/errors.js';
import { ggufReader } from '../../src/formats/gguf.js';
import { onnxReader } from '../../src/formats/onnx.js';
import type { FormatReader } from '../../src/formats/reader.js';
import { safetensorsReader } from '../../src/formats/safetensors.js';
import { buildGguf } from '../helpers/build-gguf.js';
import { buildOnnx, ifNode } from '../helpers/build-onnx.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { pseudoRandom, RecordingSource } from '../helpers/sources.js';
import { assertCovers } from '../helpers/segments.js';

/**
 * Mutation fuzzing: flip bytes, write extreme values, cut and splice valid
 * files. A reader must either return a segmentation covering the file or
 * throw a FormatError naming it, never a RangeError/TypeError, and never
 * read more than a bounded amount at once.
 */

function* mutants(base: Buffer, count: number, seed: number): Generator<Buffer> {
  const rnd = pseudoRandom(count * 16, seed);
  let k = 0;
  const next = () => rnd[k++ % rnd.length]! | (rnd[k++ % rnd.length]! << 8);
  const extremes = [0x00, 0xff, 0x7f, 0x80, 0x01];
  for (let i = 0; i < count; i++) {
    const b = Buffer.from(base);
    const at = next() % b.length;
    switch (next() % 5) {
      case 0: b[at] = next() & 0xff; break;
      case 1: b[at] = extremes[next() % extremes.length]!; break;
      case 2: b.fill(0xff, at, Math.min(b.length, at + 1 + (next() % 9))); break;
      case 3: yield b.subarray(0, at); continue;
      case 4: yield Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + (next() % 16)))]); continue;
    }
    yield b;
  }
}

function fuzz(reader: FormatReader, base: Buffer, name: string, seed: number) {
  let ok = 0;
  let rejected = 0;
  for (const m of mutants(base, 3000, seed)) {
    const src = new RecordingSource(name, m, 1 << 20);
    try {
      const seg = reader.read(src);
      assertCovers(seg.segments, m.length);
      ok++;
    } catch (e) {
      if (!(e instanceof FormatError)) assert.fail(`${(e as Error).name}: ${(e as Error).message}\n${(e as Error).stack}`);
      assert.ok(e.message.startsWith(`${name}: `));
      rejected++;
    }
  }
  return { ok, rejected };
}

test('fuzz safetensors', (t) => {
  const base = buildSafetensors([
    { name: 'a', dtype: 'F32', shape: [3, 2], data: pseudoRandom(24, 1) },
    { name: 'b', dtype: 'I64', shape: [2], data: pseudoRandom(16, 2) },
  ], { k: 'v' });
  t.diagnostic(JSON.stringify(fuzz(safetensorsReader, base, 'f.safetensors', 11)));
});

test('fuzz gguf', (t) => {
  const base = buildGguf([
    { name: 'a', type: 'Q8_0', shape: [2, 32], data: pseudoRandom(68, 1) },
    { name: 'b', type: 'F32', shape: [5], data: pseudoRandom(20, 2) },
  ], {
    metadata: {
      s: { type: 'string', value: 'abc' },
      arr: { type: 'array', itemType: 'array', items: [{ type: 'array', itemType: 'string', items: [{ type: 'string', value: 'x' }] }] },
      n: { type: 'u64', value: 5n },
    },
  });
  t.diagnostic(JSON.stringify(fuzz(ggufReader, base, 'f.gguf', 12)));
});

test('fuzz onnx', (t) => {
  const tensor = (name: string | undefined, n: number, seed: number) => ({ name, dtype: 'F32', shape: [n], data: pseudoRandom(4 * n, seed) });
  const base = buildOnnx({
    graph: {
      initializers: [tensor('w', 4, 1), { name: 'e', dtype: 'F32', shape: [2], external: { location: 'd.bin', offset: 0, length: 8 } }],
      nodes: [ifNode(tensor('t', 2, 2), tensor('f', 2, 3), tensor('n', 1, 4), tensor(undefined, 1, 5))],
      sparseInitializers: [{ values: tensor('sv', 2, 6), indices: { name: 'si', dtype: 'I64', shape: [2], data: pseudoRandom(16, 7) }, dims: [9] }],
    },
  });
  t.diagnostic(JSON.stringify(fuzz(onnxReader, base, 'f.onnx', 13)));
});

test('no reader throws anything but FormatError on random bytes', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const junk = pseudoRandom(seed * 3, seed);
    for (const [reader, name] of [[safetensorsReader, 'j.safetensors'], [ggufReader, 'j.gguf'], [onnxReader, 'j.onnx']] as const) {
      const withMagic = reader === ggufReader ? Buffer.concat([Buffer.from('GGUF\x03\0\0\0'), junk]) : junk;
      try {
        assertCovers(reader.read(new BufferSource(name, withMagic)).segments, withMagic.length);
      } catch (e) {
        if (!(e instanceof FormatError)) assert.fail(`${name} seed ${seed}: ${(e as Error).stack}`);
      }
    }
  }
});
