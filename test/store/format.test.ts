/**
 * src/store/FORMAT.md against the code, so the specification cannot drift
 * silently: the constants it states, its codec id and segment kind tables,
 * every table's columns and types on both databases, and its test vectors
 * (chunk ids, payloads decoding and encoding byte for byte through the
 * store's decoder, depths, a file built from hand-written rows that the store
 * verifies and reads back, and the rows an import writes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../../src/backends/postgres/schema.js';
import type { Backend, SegmentRow } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/open.js';
import { codecLayout, codecPredictor, Layout, Predictor } from '../../src/codec/ids.js';
import { codecUsesBase, codecUsesCastSource, codecUsesTensorSource, encodeWith, type CodecName } from '../../src/codec/index.js';
import { codecDecoder } from '../../src/store/read/codec-decoder.js';
import * as format from '../../src/store/format.js';
import { chunkHash, Codec, SCHEMA_VERSION, segmentKind, segmentKindCode, SETTING_CHUNK_SIZE, SETTING_SHARING_INDEX } from '../../src/store/format.js';
import type { Store } from '../../src/store/store.js';
import { REPO_ROOT, storeSql, tempStore, testBackends } from '../helpers/store-fixtures.js';

const kinds = await testBackends();
const MD = readFileSync(join(REPO_ROOT, 'src/store/FORMAT.md'), 'utf8');

/** The text under a heading (`## Name` or `### Name`) up to the next heading of that level or above. */
function section(heading: string): string {
  const level = heading.indexOf(' ');
  const start = MD.split('\n').findIndex((l) => l === heading);
  assert.ok(start >= 0, `FORMAT.md has no heading "${heading}"`);
  const lines = MD.split('\n').slice(start + 1);
  const end = lines.findIndex((l) => /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(0, end < 0 ? undefined : end).join('\n');
}

/** The markdown tables of a text: each a list of rows of cells (header row first, backticks stripped). */
function tables(text: string): string[][][] {
  const out: string[][][] = [];
  let cur: string[][] | undefined;
  for (const line of text.split('\n')) {
    if (!line.trimStart().startsWith('|')) {
      cur = undefined;
      continue;
    }
    const cells = line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/`/g, ''));
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    if (!cur) out.push((cur = []));
    cur.push(cells);
  }
  return out;
}

/** The rows (header dropped) of the first table of a text whose header starts with `first`. */
function table(text: string, first: string): string[][] {
  const t = tables(text).find((rows) => rows[0]![0] === first);
  assert.ok(t, `no table starting with "${first}"`);
  return t.slice(1);
}

test('FORMAT.md states every constant of src/store/format.ts, with its value', () => {
  const stated = Object.fromEntries(table(section('## Constants'), 'name').map((r) => [r[0]!, r[1]!]));
  const code = Object.fromEntries(Object.entries(format).filter(([, v]) => typeof v === 'number' || typeof v === 'string').map(([k, v]) => [k, String(v)]));
  assert.deepEqual(stated, code);
});

test('FORMAT.md: segment kind codes map to and from the readers\' kinds', () => {
  const rows = table(section('## Constants'), 'code');
  assert.equal(rows.length, 2);
  for (const [code, constant, kind] of rows) {
    assert.equal(format[constant as 'SEG_LITERAL' | 'SEG_TENSOR'], Number(code), constant);
    assert.equal(segmentKindCode(kind as 'literal' | 'tensor'), Number(code));
    assert.equal(segmentKind(Number(code)), kind);
  }
});

test('FORMAT.md: the codec id table is src/codec/ids.ts', () => {
  const predictors: Record<string, Predictor> = {
    none: Predictor.None, XOR: Predictor.Xor, CAST16: Predictor.CastF16, CASTBF: Predictor.CastBF16, DELTA: Predictor.Delta, PERMUTE: Predictor.Permute,
  };
  const rows = table(section('## Chunk payloads'), 'id (hex)');
  assert.deepEqual(rows.map((r) => r[2]), Object.keys(Codec));
  for (const [hex, dec, name, predictor, layout, bases] of rows) {
    const id = Codec[name as CodecName];
    assert.equal(parseInt(hex!, 16), id, name);
    assert.equal(Number(dec), id, name);
    assert.equal(codecPredictor(id), predictors[predictor!], `${name} predictor`);
    assert.equal(Layout[codecLayout(id)]!.toUpperCase(), layout, `${name} layout`);
    const want = codecUsesBase(id) ? 'one: the base' : codecUsesCastSource(id) ? 'the F32 cast-source pieces'
      : codecUsesTensorSource(id) ? 'the source tensor\'s chunks, in order' : 'none';
    assert.equal(bases, want, `${name} bases`);
  }
});

test('FORMAT.md: schema version and the migrations table', () => {
  assert.equal(POSTGRES_MIGRATIONS.length, SCHEMA_VERSION);
  assert.deepEqual(table(section('## Schema versions'), 'version').map((r) => Number(r[0])), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
});

test('FORMAT.md: the settings keys are the SETTING_* constants', () => {
  const keys = table(section('### `settings`'), 'key').filter((r) => r.length === 2).map((r) => r[0]!.split(' ')[0]);
  const code = Object.entries(format).filter(([k]) => k.startsWith('SETTING_')).map(([, v]) => v);
  assert.deepEqual(keys, code);
  assert.deepEqual(keys, [SETTING_CHUNK_SIZE, SETTING_SHARING_INDEX]);
});

/** Table → column → [SQLite type, PostgreSQL type], as FORMAT.md states them. */
function statedColumns(): Map<string, Map<string, [string, string]>> {
  const out = new Map<string, Map<string, [string, string]>>();
  for (const part of section('## Tables').split(/^### /m).slice(1)) {
    const name = /^`(\w+)`/.exec(part)![1]!;
    out.set(name, new Map(table(part, 'column').map((r) => [r[0]!, [r[1]!, r[2]!]])));
  }
  return out;
}

for (const kind of kinds) {
  test(`${kind}: FORMAT.md lists every table and column of a fresh store, with its type`, async () => {
    const t = await tempStore(kind);
    try {
      const rows = kind === 'sqlite'
        ? await storeSql<{ t: string; c: string; ty: string }>(t.path, `SELECT m.name AS t, p.name AS c, p.type AS ty FROM sqlite_master m, pragma_table_info(m.name) p
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
        : await storeSql<{ t: string; c: string; ty: string }>(t.path, `SELECT table_name AS t, column_name AS c, UPPER(data_type) AS ty
            FROM information_schema.columns WHERE table_schema = current_schema()`);
      const actual = new Map<string, Map<string, string>>();
      for (const r of rows) (actual.get(r.t) ?? actual.set(r.t, new Map()).get(r.t)!).set(r.c, r.ty);
      const stated = statedColumns();
      // A table one database does not have states its type there as "—" (PostgreSQL's chunk_hashes).
      for (const [name, cols] of stated) if ([...cols.values()].every(([sqlite, pg]) => (kind === 'sqlite' ? sqlite : pg) === '—')) stated.delete(name);
      assert.deepEqual([...stated.keys()].sort(), [...actual.keys()].sort(), 'tables');
      for (const [name, cols] of stated) {
        const types = new Map([...cols].map(([c, [sqlite, pg]]) => [c, kind === 'sqlite' ? sqlite : pg]));
        assert.deepEqual(Object.fromEntries(types), Object.fromEntries(actual.get(name)!), name);
      }
    } finally {
      await t.cleanup();
    }
  });
}

type VectorRecord = Map<string, string[]>;

/** The ```store-vectors block: records of `key: value` lines, separated by blank lines; a key may repeat. */
function vectorRecords(): VectorRecord[] {
  const block = /```store-vectors\n([\s\S]*?)```/.exec(MD);
  assert.ok(block, 'FORMAT.md has no ```store-vectors block');
  return block[1]!.split(/\n\s*\n/).filter((r) => r.trim()).map((rec) => {
    const m: VectorRecord = new Map();
    for (const line of rec.trim().split('\n')) {
      const at = line.indexOf(': ');
      assert.ok(at > 0, `bad vector line: ${line}`);
      const key = line.slice(0, at);
      (m.get(key) ?? m.set(key, []).get(key)!).push(line.slice(at + 2));
    }
    return m;
  });
}

const one = (r: VectorRecord, key: string): string => {
  const v = r.get(key);
  assert.ok(v?.length === 1, `vector needs one "${key}"`);
  return v[0]!;
};

interface ChunkVector {
  name: string;
  codec: CodecName;
  dtype: string | undefined;
  bases: string[];
  depth: number;
  raw: Buffer;
  id: string;
  payload: Buffer;
}

const records = vectorRecords();
const chunkVectors = new Map<string, ChunkVector>(records.filter((r) => r.has('chunk')).map((r) => {
  const name = one(r, 'chunk');
  const codec = one(r, 'codec') as CodecName;
  assert.ok(codec in Codec, `${name}: unknown codec ${codec}`);
  const dtype = one(r, 'dtype');
  const bases = one(r, 'bases');
  return [name, {
    name, codec, dtype: dtype === '-' ? undefined : dtype, bases: bases === '-' ? [] : bases.split(' '), depth: Number(one(r, 'depth')),
    raw: Buffer.from(one(r, 'raw'), 'hex'), id: one(r, 'id'), payload: Buffer.from(one(r, 'payload'), 'hex'),
  }];
}));

/** A vector's `segment` lines as the rows a backend lists. */
function segmentRows(r: VectorRecord): SegmentRow[] {
  return (r.get('segment') ?? []).map((line, ordinal) => {
    const [kind, offset, length, first, count, name, dtype, shape] = line.split(' ');
    return {
      ordinal, kind: segmentKindCode(kind as 'literal' | 'tensor'), tensorName: name ?? null, dtype: dtype ?? null,
      shape: shape ? (JSON.parse(shape) as number[]) : null, fileOffset: Number(offset), length: Number(length), firstChunk: Number(first), chunkCount: Number(count),
    };
  });
}

/** Decodes a vector's payload through the store's decoder with these base bytes (a throw counts as other bytes). */
function decoded(v: ChunkVector, bases: Buffer[]): string {
  const out = Buffer.alloc(v.raw.length);
  try {
    codecDecoder.decodeInto({ id: 0, hash: Buffer.from(v.id, 'hex'), rawSize: v.raw.length, codec: Codec[v.codec], bases: [], data: v.payload }, bases, out);
  } catch (e) {
    return `throws ${(e as Error).message}`;
  }
  return out.toString('hex');
}

for (const v of chunkVectors.values()) {
  test(`FORMAT.md chunk vector ${v.name}: ${v.codec}, ${v.raw.length} raw bytes`, () => {
    assert.equal(chunkHash(v.raw).toString('hex'), v.id, 'id = SHA-256 of the raw bytes');
    const bases = v.bases.map((b) => chunkVectors.get(b));
    assert.ok(bases.every((b) => b !== undefined), 'bases are other chunk vectors');
    const baseRaws = bases.map((b) => b!.raw);
    const id = Codec[v.codec];
    const want = codecUsesBase(id) ? 'one' : codecUsesCastSource(id) ? 'some' : 'none';
    assert.equal(baseRaws.length === 0 ? 'none' : baseRaws.length === 1 && want === 'one' ? 'one' : 'some', want, 'bases the codec needs');
    assert.equal(v.depth, bases.length === 0 ? 0 : 1 + Math.max(...bases.map((b) => b!.depth)), 'depth rule');
    assert.ok(v.depth <= format.MAX_DELTA_DEPTH);
    assert.equal(decoded(v, baseRaws), v.raw.toString('hex'), 'decodes');
    if (new Set(v.bases).size > 1) assert.notEqual(decoded(v, [...baseRaws].reverse()), v.raw.toString('hex'), 'the order of the bases matters');
    const enc = encodeWith(id, {
      raw: v.raw, dtype: v.dtype, base: codecUsesBase(id) ? baseRaws[0] : undefined,
      castSource: codecUsesCastSource(id) ? { dtype: 'F32', raw: Buffer.concat(baseRaws) } : undefined,
    });
    assert.ok(enc, 'the codec applies');
    assert.equal(enc.payload.toString('hex'), v.payload.toString('hex'), 'encodes');
  });
}

/** The whole of a stored file, read back through the store. */
async function readBack(store: Store, name: string, fileId: number): Promise<Buffer> {
  const file = (await store.files(await store.resolve({ name }))).find((f) => f.id === fileId)!;
  const blocks: Buffer[] = [];
  for await (const b of store.readFile(file)) blocks.push(Buffer.from(b));
  return Buffer.concat(blocks);
}

/** Runs fn on a connection of its own to a store's database: rows written or read as the format has them, not through the Store. */
async function withDb<T>(location: string, fn: (b: Backend) => Promise<T>): Promise<T> {
  const b = await openBackend(location);
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

for (const kind of kinds) {
  for (const r of records.filter((x) => x.has('file'))) {
    test(`${kind}: FORMAT.md file vector ${one(r, 'file')}: rows written by hand verify clean and read back byte-identical`, async () => {
      const t = await tempStore(kind);
      try {
        const size = Number(one(r, 'size'));
        const sha = one(r, 'sha256');
        const { fileId } = await withDb(t.path, (b) => b.transaction(async () => {
          const ids = new Map<string, number>();
          for (const v of chunkVectors.values()) {
            const [id] = await b.insertChunks([{
              hash: Buffer.from(v.id, 'hex'), rawSize: v.raw.length, storedSize: v.payload.length, codec: Codec[v.codec],
              bases: v.bases.map((n) => ids.get(n)!), depth: v.depth, data: v.payload,
            }]);
            ids.set(v.name, id!);
          }
          const modelId = await b.insertModel({
            name: 'format-example', version: 1, format: 'raw', baseModelId: null, createdAt: new Date().toISOString(), logicalBytes: size,
            newRawBytes: 0, newStoredBytes: 0, deltaRawBytes: 0, deltaStoredBytes: 0, metadataJson: null,
          });
          const fileId = await b.insertFile({ modelId, path: `${one(r, 'file')}.bin`, size, sha256: Buffer.from(sha, 'hex'), format: 'raw' });
          await b.insertSegments(fileId, segmentRows(r));
          await b.insertFileChunks(fileId, 0, one(r, 'file_chunks').split(' ').map((n) => ids.get(n)!));
          return { modelId, fileId };
        }));
        const report = await t.store.verify(true);
        assert.deepEqual(report.problems, []);
        assert.equal(report.chunksHashed, new Set(one(r, 'file_chunks').split(' ')).size);
        const bytes = await readBack(t.store, 'format-example', fileId);
        assert.equal(bytes.length, size);
        assert.equal(chunkHash(bytes).toString('hex'), sha);
      } finally {
        await t.cleanup();
      }
    });
  }

  for (const r of records.filter((x) => x.has('import'))) {
    test(`${kind}: FORMAT.md import vector ${one(r, 'import')}: the segments and chunks an import writes`, async () => {
      const t = await tempStore(kind);
      try {
        const header = Buffer.from(one(r, 'header'), 'utf8');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(header.length));
        const a = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
        const w = Buffer.from(Float32Array.from({ length: 1040 }, (_, i) => i).buffer);
        const bytes = Buffer.concat([len, header, a, w]);
        assert.equal(bytes.length, Number(one(r, 'size')));
        assert.equal(chunkHash(bytes).toString('hex'), one(r, 'sha256'), 'the file is built as FORMAT.md describes it');
        const path = join(t.dir, 'm.safetensors');
        writeFileSync(path, bytes);
        const chunkSize = Number(one(r, 'chunk_size'));
        await t.store.import(path, { name: 'format-import', chunkSize });
        assert.equal(await withDb(t.path, (b) => b.getSetting(SETTING_CHUNK_SIZE)), String(chunkSize));
        const [file] = await t.store.files(await t.store.resolve({ name: 'format-import' }));
        assert.equal(file!.sha256.toString('hex'), one(r, 'sha256'));
        assert.deepEqual(await t.store.segments(file!), segmentRows(r));
        const chunks = await withDb(t.path, async (b) => b.getChunks(await b.fileChunkIds(file!.id)));
        assert.deepEqual(chunks.map((c) => c.hash.toString('hex')), one(r, 'file_chunks').split(' '));
      } finally {
        await t.cleanup();
      }
    });
  }
}
