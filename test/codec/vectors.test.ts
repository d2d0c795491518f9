/**
 * The test vectors of src/codec/codecs.md: every payload there decodes to its
 * input (the format is stable), and encoding the input with that codec
 * reproduces the payload byte for byte (the encoder is deterministic; a zstd
 * upgrade may legitimately change compressed bytes, in which case the vectors
 * are regenerated, while old payloads must still decode).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/segments.js';
import { Codec, codecUsesBase, codecUsesCastSource, codecUsesTensorSource, decodeChunk, encodeWith, type CodecName } from '../../src/codec/index.js';


interface Vector {
  codec: CodecName;
  dtype: string | undefined;
  raw: Buffer;
  base?: Buffer;
  cast?: Buffer;
  /** A PERMUTE chunk's source tensor. */
  source?: Buffer;
  payload: Buffer;
}

/** Parses the ```vectors block: records of key=value lines separated by blank lines. */
function readVectors(): Vector[] {
  const md = fs.readFileSync(path.join(repoRoot(), 'src/codec/codecs.md'), 'utf8');
  const block = /```vectors\n([\s\S]*?)```/.exec(md);
  assert.ok(block, 'codecs.md has no ```vectors block');
  const out: Vector[] = [];
  for (const rec of block[1]!.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const token of rec.split(/\s+/).filter((t) => t.length > 0)) {
      const eq = token.indexOf('=');
      assert.ok(eq > 0, `bad token ${token}`);
      fields.set(token.slice(0, eq), token.slice(eq + 1));
    }
    if (fields.size === 0) continue;
    const hex = (k: string): Buffer | undefined => (fields.has(k) ? Buffer.from(fields.get(k)!, 'hex') : undefined);
    const codec = fields.get('codec') as CodecName;
    assert.ok(codec in Codec, `unknown codec ${codec}`);
    const dtype = fields.get('dtype');
    const v: Vector = { codec, dtype: dtype === '-' ? undefined : dtype, raw: hex('raw')!, payload: hex('payload')! };
    const base = hex('base');
    const cast = hex('cast');
    const source = hex('source');
    if (base) v.base = base;
    if (cast) v.cast = cast;
    if (source) v.source = source;
    out.push(v);
  }
  return out;
}

describe('codecs.md test vectors', () => {
  const vectors = readVectors();

  it('cover every codec', () => {
    assert.deepEqual(new Set(vectors.map((v) => v.codec)), new Set(Object.keys(Codec)));
  });

  for (const v of vectors) {
    it(`${v.codec} (${v.dtype ?? 'no dtype'}, ${v.raw.length} B)`, () => {
      const id = Codec[v.codec];
      assert.equal(v.base !== undefined, codecUsesBase(id));
      assert.equal(v.cast !== undefined, codecUsesCastSource(id));
      assert.equal(v.source !== undefined, codecUsesTensorSource(id));
      const decoded = decodeChunk(id, v.payload, v.raw.length, v.base, v.cast ?? v.source);
      assert.equal(decoded.toString('hex'), v.raw.toString('hex'), 'decode');
      // The importer writes PERMUTE from a whole stored tensor (test/codec/permute.test.ts); the codec search never does.
      if (codecUsesTensorSource(id)) return assert.equal(encodeWith(id, { raw: v.raw, dtype: v.dtype }), undefined);
      const e = encodeWith(id, { raw: v.raw, dtype: v.dtype, base: v.base, castSource: v.cast ? { dtype: 'F32', raw: v.cast } : undefined });
      assert.ok(e, 'codec applies');
      assert.equal(e.payload.toString('hex'), v.payload.toString('hex'), 'encode');
    });
  }
});
