import type {
  Backend, ChunkInfo, TensorRow, FileRow, GcResult, HashIndexFaults, ModelPageQuery, ModelRow, NewChunk, NewFile, NewModel,
  SegmentRow, ServingConfigRow, SharingRow, StoredChunk, StoreTotals,
} from './backend.js';
import { contentKey } from './backend.js';
import type { CommitGroup, Driver, ListType, Query } from './driver.js';
import { FILE_COLUMNS, MODEL_COLUMNS, SEGMENT_COLUMNS, TENSOR_COLUMNS, batches, fileFromDb, modelFromDb, segmentFromDb, tensorFromDb } from './rows.js';
import type { FileDbRow, ModelDbRow, SegmentDbRow, TensorDbRow } from './rows.js';
import { SEG_TENSOR } from '../store/format.js';

/** Rows per multi-row INSERT: within both databases' limits on bound parameters (SQLite 32766, PostgreSQL 65535). */
const INSERT_ROWS = 1000;

/** A chunk_hashes row `h` that names no chunk of its hash (PostgreSQL's hash table, Dialect.hashTable). */
const DANGLING_HASH = 'NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = h.chunk_id AND c.hash = h.hash)';
/** A chunk `c` whose hash has no chunk_hashes row. */
const UNNAMED_CHUNK = 'NOT EXISTS (SELECT 1 FROM chunk_hashes h WHERE h.hash = c.hash)';

/** The rows an INSERT … RETURNING id, hash stored, as positions in `rows` (of those `batch` holds) with their ids. */
function positionsOf(rows: NewChunk[], batch: number[], got: { id: number; hash: Buffer }[]): { p: number; id: number }[] {
  const at = new Map(batch.map((p) => [rows[p]!.hash.toString('hex'), p]));
  return got.map((g) => ({ p: at.get(g.hash.toString('hex'))!, id: g.id }));
}
/** Chunk ids per payload read (16 MiB of 64 KiB chunks). */
const PAYLOAD_IDS = 256;
/** Chunks GC looks for per round. */
const GC_BATCH = 20000;

/** A chunk's bases in order, as "12,34" (text: one round trip, no array decoding); only chunks with depth > 0 have any. */
const BASES_COLUMN = `CASE WHEN c.depth > 0 THEN (SELECT string_agg(CAST(b.base_id AS TEXT), ',' ORDER BY b.ordinal)
  FROM chunk_bases b WHERE b.chunk_id = c.id) END`;

function parseBases(s: string | null): number[] {
  return s ? s.split(',').map(Number) : [];
}

/** Short placeholder lists, made once: an import asks for the one-row ones thousands of times. */
const shortValueRows = new Map<number, string>();

/** `(?, ?, ?), (?, ?, ?), …`: `rows` rows of `cols` placeholders. */
function valueRows(rows: number, cols: number): string {
  const key = rows * 64 + cols;
  let v = shortValueRows.get(key);
  if (v === undefined) {
    const row = `(${new Array<string>(cols).fill('?').join(', ')})`;
    v = new Array<string>(rows).fill(row).join(', ');
    if (rows <= 16 && cols < 64) shortValueRows.set(key, v);
  }
  return v;
}

/** `order` (positions in `rows`) cut into batches of at most `limit.rows` rows and `limit.bytes` payload bytes (at least one row each). */
function* chunkBatches(rows: NewChunk[], order: number[], limit: { rows: number; bytes: number }): Generator<number[]> {
  let i = 0;
  while (i < order.length) {
    const batch: number[] = [];
    let bytes = 0;
    while (i < order.length && batch.length < limit.rows && (batch.length === 0 || bytes + rows[order[i]!]!.data.length <= limit.bytes)) {
      bytes += rows[order[i]!]!.data.length;
      batch.push(order[i++]!);
    }
    yield batch;
  }
}

interface ChunkPayloadRow { id: number; hash: Buffer; raw_size: number; codec: number; bases: string | null; data: Buffer }
interface ChunkInfoRow { id: number; raw_size: number; stored_size: number; codec: number; depth: number; bases: string | null }

/**
 * The Backend over any SQL database: every data statement the store runs,
 * written once. The SQL both databases speak is the same text (`?`
 * placeholders, `INSERT … ON CONFLICT … RETURNING`, string_agg); the
 * driver (sqlite/, postgres/) runs it, and its dialect supplies the few
 * places where the text differs (lists of values, byte-order collation) and
 * how chunks are batched. Transactions, locks, the bulk read of payloads
 * and reclaiming space are the driver's.
 */
export class SqlBackend implements Backend {
  readonly kind: Backend['kind'];
  readonly location: string;

  constructor(private readonly db: Driver) {
    this.kind = db.kind;
    this.location = db.location;
  }

  private all<R>(text: string, values?: readonly unknown[], name?: string): Promise<R[]> {
    const q: Query = name ? { text, values, name } : { text, values };
    return this.db.query<R>(q);
  }

  /** A write whose answer nothing reads: inside a transaction, not waited for on PostgreSQL (see Driver.execute). */
  private write(text: string, values?: readonly unknown[], name?: string): Promise<void> {
    return this.db.execute(name ? { text, values, name } : { text, values });
  }

  /**
   * Rows of the statement `sql` makes around the condition "`column` is one
   * of `values`", for every value, in batches the dialect can bind.
   */
  private async allIn<R>(sql: (anyOf: string) => string, column: string, values: readonly unknown[], type: ListType, name?: string): Promise<R[]> {
    const out: R[] = [];
    for (const b of batches([...values], this.db.dialect.maxList)) {
      const cond = this.db.dialect.anyOf(column, b, type);
      for (const r of await this.all<R>(sql(cond.sql), cond.values, name)) out.push(r);
    }
    return out;
  }

  private byteOrder(expr: string): string {
    return this.db.dialect.byteOrder(expr);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  explainError(e: unknown): unknown {
    return this.db.explainError(e);
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn, 'shared');
  }

  snapshot<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn, 'snapshot');
  }

  get copyDatabase(): ((path: string) => Promise<void>) | undefined {
    const copy = this.db.copyDatabase;
    return copy ? (path) => copy.call(this.db, path) : undefined;
  }

  commitGroup<T>(group: CommitGroup, fn: () => Promise<T>): Promise<T> {
    return this.db.commitGroup(group, fn);
  }

  dbBytes(): Promise<number> {
    return this.db.dbBytes();
  }

  // models and files

  async findModel(name: string, version?: number): Promise<ModelRow | undefined> {
    const rows = version === undefined
      ? await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ? ORDER BY version DESC LIMIT 1`, [name])
      : await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ? AND version = ?`, [name, version]);
    return rows[0] && modelFromDb(rows[0]);
  }

  async getModel(id: number): Promise<ModelRow | undefined> {
    const rows = await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE id = ?`, [id]);
    return rows[0] && modelFromDb(rows[0]);
  }

  async analyze(): Promise<void> {
    // SQLite's plans are chosen by hand where it matters (INDEXED BY, dialect.ts): statistics would only move them.
    // PostgreSQL: the store's own tables (unqualified: its schema), dead rows made reusable and statistics refreshed.
    if (this.kind === 'postgres') {
      await this.write(`VACUUM (ANALYZE) models, files, segments, file_chunks, chunks, chunk_bases, model_sharing,
          tensor_fingerprints, chunk_sketches, serving_configs, settings, chunk_hashes`);
    }
  }

  async modelsFingerprint(): Promise<string> {
    const [r] = await this.all<{ n: number; top: number; total: number; bad: number }>(`SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS top,
        COALESCE(SUM(id), 0) AS total, COUNT(unavailable) AS bad FROM models`);
    return `${r!.n}:${r!.top}:${r!.total}:${r!.bad}`;
  }

  async modelVersions(name: string): Promise<ModelRow[]> {
    return (await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ? ORDER BY version`, [name])).map(modelFromDb);
  }

  async listModels(): Promise<ModelRow[]> {
    return (await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY ${this.byteOrder('name')}, version`)).map(modelFromDb);
  }

  /** The WHERE conditions and values of a page query's filters. */
  private modelFilters(q: Pick<ModelPageQuery, 'search' | 'format'>): { conds: string[]; values: unknown[] } {
    const conds: string[] = [];
    const values: unknown[] = [];
    if (q.search) {
      conds.push("lower(m.name) LIKE ? ESCAPE '\\'");
      values.push(`%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (q.format) {
      conds.push('m.format = ?');
      values.push(q.format);
    }
    return { conds, values };
  }

  async fileCounts(modelIds: number[]): Promise<Map<number, number>> {
    const rows = await this.allIn<{ model_id: number; n: number }>((anyOf) => `SELECT model_id, COUNT(*) AS n FROM files WHERE ${anyOf} GROUP BY model_id`,
      'model_id', [...new Set(modelIds)], 'bigint');
    return new Map(rows.map((r) => [r.model_id, r.n]));
  }

  async listModelPage(q: ModelPageQuery): Promise<ModelRow[]> {
    const { conds, values } = this.modelFilters(q);
    const name = this.byteOrder('m.name');
    if (q.newestFirst) {
      if (q.beforeId !== undefined) {
        conds.push('m.id < ?');
        values.push(q.beforeId);
      }
    } else if (q.after) {
      conds.push(`(${name}, m.version) > (?, ?)`);
      values.push(q.after.name, q.after.version);
    }
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
    const order = q.newestFirst ? 'm.id DESC' : `${name}, m.version`;
    const rows = await this.all<ModelDbRow>(`SELECT ${MODEL_COLUMNS.split(',').map((c) => `m.${c.trim()}`).join(', ')}
        FROM models m ${where} ORDER BY ${order} LIMIT ?`, [...values, q.limit]);
    return rows.map(modelFromDb);
  }

  async countModelsMatching(q: Pick<ModelPageQuery, 'search' | 'format'>): Promise<number> {
    const { conds, values } = this.modelFilters(q);
    return (await this.all<{ n: number }>(`SELECT COUNT(*) AS n FROM models m ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''}`, values))[0]!.n;
  }

  /** Tells the store's watchers (Driver.watchChanges) that a model changed, at commit. */
  private async notifyName(name: string): Promise<void> {
    const sql = this.db.dialect.notify;
    if (sql) await this.write(sql, [name]);
  }

  private async notifyModel(id: number): Promise<void> {
    const sql = this.db.dialect.notify;
    if (sql) await this.write(sql.replace('?', '(SELECT name FROM models WHERE id = ?)'), [id]);
  }

  watchChanges(onChange: (name: string | undefined) => void): () => Promise<void> {
    return this.db.watchChanges(onChange);
  }

  async insertModel(m: NewModel): Promise<number> {
    const rows = await this.all<{ id: number }>(`INSERT INTO models (name, version, format, base_model_id, created_at, logical_bytes,
        new_raw_bytes, new_stored_bytes, delta_raw_bytes, delta_stored_bytes, metadata_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, [
      m.name, m.version, m.format, m.baseModelId, m.createdAt, m.logicalBytes,
      m.newRawBytes, m.newStoredBytes, m.deltaRawBytes, m.deltaStoredBytes, m.metadataJson]);
    await this.notifyName(m.name);
    return rows[0]!.id;
  }

  async updateModelAccounting(id: number, a: Pick<ModelRow, 'newRawBytes' | 'newStoredBytes' | 'deltaRawBytes' | 'deltaStoredBytes' | 'baseModelId'>): Promise<void> {
    await this.write(`UPDATE models SET new_raw_bytes = ?, new_stored_bytes = ?, delta_raw_bytes = ?, delta_stored_bytes = ?,
        base_model_id = ? WHERE id = ?`, [a.newRawBytes, a.newStoredBytes, a.deltaRawBytes, a.deltaStoredBytes, a.baseModelId, id]);
  }

  async adjustModelAccounting(id: number, d: { newStoredBytes: number; deltaRawBytes: number; deltaStoredBytes: number; baseModelId: number }): Promise<void> {
    await this.write(`UPDATE models SET new_stored_bytes = new_stored_bytes + ?, delta_raw_bytes = delta_raw_bytes + ?,
        delta_stored_bytes = delta_stored_bytes + ?, base_model_id = ? WHERE id = ?`,
    [d.newStoredBytes, d.deltaRawBytes, d.deltaStoredBytes, d.baseModelId, id]);
  }

  async deleteModel(id: number): Promise<void> {
    // The version's serving configuration goes with it, and the model's once no version is left.
    await this.write('DELETE FROM serving_configs WHERE EXISTS (SELECT 1 FROM models m WHERE m.id = ? AND m.name = serving_configs.name AND m.version = serving_configs.version)', [id]);
    await this.write(`DELETE FROM serving_configs WHERE version = 0 AND name = (SELECT name FROM models WHERE id = ?)
        AND NOT EXISTS (SELECT 1 FROM models m WHERE m.name = serving_configs.name AND m.id <> ?)`, [id, id]);
    await this.notifyModel(id);
    // ON DELETE CASCADE removes files, segments and file_chunks; chunks wait for gc.
    await this.write('DELETE FROM models WHERE id = ?', [id]);
  }

  async setModelUnavailable(id: number, reason: string | null): Promise<void> {
    await this.write('UPDATE models SET unavailable = ? WHERE id = ?', [reason, id]);
    await this.notifyModel(id);
  }

  async insertFile(f: NewFile): Promise<number> {
    const rows = await this.all<{ id: number }>('INSERT INTO files (model_id, path, size, sha256, format) VALUES (?, ?, ?, ?, ?) RETURNING id',
      [f.modelId, f.path, f.size, f.sha256, f.format]);
    return rows[0]!.id;
  }

  async listFiles(modelId: number): Promise<FileRow[]> {
    return (await this.all<FileDbRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE model_id = ? ORDER BY ${this.byteOrder('path')}`, [modelId])).map(fileFromDb);
  }

  async filesOfModels(modelIds: number[]): Promise<FileRow[]> {
    return (await this.allIn<FileDbRow>((anyOf) => `SELECT ${FILE_COLUMNS} FROM files WHERE ${anyOf} ORDER BY model_id, ${this.byteOrder('path')}`,
      'model_id', [...new Set(modelIds)], 'bigint')).map(fileFromDb);
  }

  async listAllFiles(): Promise<FileRow[]> {
    return (await this.all<FileDbRow>(`SELECT ${FILE_COLUMNS} FROM files ORDER BY model_id, ${this.byteOrder('path')}`)).map(fileFromDb);
  }

  async storedFileSizes(sizes: number[]): Promise<Set<number>> {
    // One index probe per size: `SELECT DISTINCT size … WHERE size IN (…)` walked every file of a
    // size, and in a store of 100,000 fine-tunes of one shape they all have it (5 ms an import).
    const out = new Set<number>();
    for (const part of batches([...new Set(sizes)], this.db.dialect.maxList)) {
      const rows = await this.all<{ s: number | string }>(`WITH v(s) AS (VALUES ${part.map(() => '(CAST(? AS BIGINT))').join(', ')})
          SELECT s FROM v WHERE EXISTS (SELECT 1 FROM files f WHERE f.size = v.s)`, part);
      for (const r of rows) out.add(Number(r.s));
    }
    return out;
  }

  async filesWithContent(contents: { size: number; sha256: Buffer }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const { anyOf, maxList } = this.db.dialect;
    // Both lists bound the index walk (size first, the index's order); pairs are matched here.
    for (const b of batches(contents, Math.max(1, Math.floor(maxList / 2)))) {
      const bySize = anyOf('f.size', [...new Set(b.map((c) => c.size))], 'bigint');
      const bySha = anyOf('f.sha256', b.map((c) => c.sha256), 'bytea');
      const rows = await this.all<{ id: number | string; size: number | string; sha256: Buffer }>(`SELECT f.id, f.size, f.sha256 FROM files f
          JOIN models m ON m.id = f.model_id WHERE ${bySize.sql} AND ${bySha.sql} AND m.unavailable IS NULL`, [...bySize.values, ...bySha.values]);
      for (const r of rows) {
        const key = contentKey(Number(r.size), r.sha256);
        out.set(key, Math.max(out.get(key) ?? 0, Number(r.id)));
      }
    }
    const wanted = new Set(contents.map((c) => contentKey(c.size, c.sha256)));
    for (const k of out.keys()) if (!wanted.has(k)) out.delete(k);
    return out;
  }

  async insertSegments(fileId: number, rows: SegmentRow[]): Promise<void> {
    for (const b of batches(rows, INSERT_ROWS)) {
      const values: unknown[] = [];
      for (const s of b) {
        values.push(fileId, s.ordinal, s.kind, s.tensorName, s.dtype, s.shape ? JSON.stringify(s.shape) : null,
          s.fileOffset, s.length, s.firstChunk, s.chunkCount);
      }
      await this.write(`INSERT INTO segments (file_id, ordinal, kind, tensor_name, dtype, shape_json, file_offset,
          length, first_chunk, chunk_count) VALUES ${valueRows(b.length, 10)}`, values);
    }
  }

  async listSegments(fileId: number): Promise<SegmentRow[]> {
    return (await this.all<SegmentDbRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE file_id = ? ORDER BY ordinal`, [fileId])).map(segmentFromDb);
  }

  async listSegmentsOf(fileIds: number[]): Promise<Map<number, SegmentRow[]>> {
    const out = new Map<number, SegmentRow[]>(fileIds.map((id) => [id, []]));
    const rows = await this.allIn<SegmentDbRow & { file_id: number | string }>((anyOf) => `SELECT file_id, ${SEGMENT_COLUMNS} FROM segments
        WHERE ${anyOf} ORDER BY file_id, ordinal`, 'file_id', [...new Set(fileIds)], 'bigint', 'tessera_segments_of');
    for (const r of rows) out.get(Number(r.file_id))!.push(segmentFromDb(r));
    return out;
  }

  async copyFileRows(from: number, to: number): Promise<void> {
    await this.write(`INSERT INTO segments (file_id, ordinal, kind, tensor_name, dtype, shape_json, file_offset, length, first_chunk, chunk_count)
        SELECT CAST(? AS BIGINT), ordinal, kind, tensor_name, dtype, shape_json, file_offset, length, first_chunk, chunk_count FROM segments WHERE file_id = ?`, [to, from], 'tessera_copy_segments');
    await this.write('INSERT INTO file_chunks (file_id, ordinal, chunk_id) SELECT CAST(? AS BIGINT), ordinal, chunk_id FROM file_chunks WHERE file_id = ?', [to, from], 'tessera_copy_file_chunks');
  }

  async modelTensors(modelId: number): Promise<TensorRow[]> {
    const rows = await this.all<TensorDbRow>(`SELECT ${TENSOR_COLUMNS} FROM segments s JOIN files f ON f.id = s.file_id
        WHERE f.model_id = ? AND s.kind = ${SEG_TENSOR} ORDER BY ${this.byteOrder('f.path')}, s.ordinal`, [modelId]);
    return rows.map(tensorFromDb);
  }

  async tensorsLike(name: string, shape: number[], dtype: string, limit: number): Promise<TensorRow[]> {
    const rows = await this.all<TensorDbRow>(`SELECT ${TENSOR_COLUMNS} FROM segments s JOIN files f ON f.id = s.file_id
        WHERE s.tensor_name = ? AND s.shape_json = ? AND s.dtype = ? AND s.kind = ${SEG_TENSOR}
        ORDER BY s.file_id DESC LIMIT ?`, [name, JSON.stringify(shape), dtype, Math.max(1, Math.floor(limit))], 'tessera_tensors_like');
    return rows.map(tensorFromDb);
  }

  async modelNamesFolded(name: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>('SELECT DISTINCT name FROM models WHERE lower(name) = lower(?)', [name], 'tessera_names_folded');
    return rows.map((r) => r.name);
  }

  // chunks

  async lookupChunks(hashes: Buffer[]): Promise<(number | undefined)[]> {
    if (hashes.length === 0) return [];
    const from = this.db.dialect.hashTable ? 'chunk_id AS id, hash FROM chunk_hashes' : 'id, hash FROM chunks';
    const rows = await this.allIn<{ id: number; hash: Buffer }>((anyOf) => `SELECT ${from} WHERE ${anyOf}`, 'hash', hashes, 'bytea', 'tessera_lookup');
    const ids = new Map(rows.map((r) => [r.hash.toString('hex'), r.id]));
    return hashes.map((h) => ids.get(h.toString('hex')));
  }

  /**
   * `INSERT … ON CONFLICT (hash) DO NOTHING`, then the ids of the rows that
   * conflicted are selected again: on PostgreSQL another import may be
   * inserting the same chunks (see postgres/driver.ts for how that plays out).
   * Where the hash is unique in `chunk_hashes` (Dialect.hashTable), that
   * insert claims the hash and a new id there, and the claimed chunks then go
   * into `chunks` under their ids: the same waits, on the hash's row.
   */
  async insertChunks(rows: NewChunk[]): Promise<number[]> {
    if (rows.length === 0) return [];
    const { chunkInsert, insertInHashOrder, hashTable } = this.db.dialect;
    const ids = new Array<number | undefined>(rows.length);
    /** Positions (in `rows`) of the rows this call inserted. */
    const inserted: number[] = [];
    const order = rows.map((_, p) => p);
    if (insertInHashOrder) order.sort((a, b) => Buffer.compare(rows[a]!.hash, rows[b]!.hash));
    // Every batch is issued before any answer is awaited: PostgreSQL pipelines them (one round trip in all,
    // the server storing one batch while the next arrives), in order, so rows are still locked in hash order.
    const sent = [...chunkBatches(rows, order, chunkInsert)].map((batch) => (hashTable ? this.claimChunks(rows, batch) : this.insertChunkRows(rows, batch)));
    for (const got of await Promise.all(sent)) {
      for (const { p, id } of got) {
        ids[p] = id;
        inserted.push(p);
      }
    }
    // Rows that conflicted: stored by another import that committed meanwhile (or earlier in this one).
    const missing = order.filter((p) => ids[p] === undefined);
    if (missing.length) {
      const found = await this.lookupChunks(missing.map((p) => rows[p]!.hash));
      missing.forEach((p, j) => (ids[p] = found[j]));
    }
    // Bases only for the rows this call inserted: a chunk stored by someone else keeps its own encoding.
    await this.insertBases(inserted.map((p) => ({ id: ids[p]!, bases: rows[p]!.bases })));
    return ids.map((id, p) => {
      if (id === undefined) throw new Error(`chunk ${rows[p]!.hash.toString('hex')} neither inserted nor found in the store`);
      return id;
    });
  }

  /** One batch of `rows` (positions) into chunks, ON CONFLICT (hash) DO NOTHING: the positions inserted, with their ids. */
  private async insertChunkRows(rows: NewChunk[], batch: number[]): Promise<{ p: number; id: number }[]> {
    const values: unknown[] = [];
    for (const p of batch) {
      const r = rows[p]!;
      values.push(r.hash, r.rawSize, r.storedSize, r.codec, r.depth, r.data);
    }
    const text = `INSERT INTO chunks (hash, raw_size, stored_size, codec, depth, data) VALUES ${valueRows(batch.length, 6)} ON CONFLICT (hash) DO NOTHING`;
    // A one-row batch (every batch on SQLite) needs no hash back to tell which row an id belongs to.
    if (batch.length === 1) {
      const id = await this.db.insertOne({ text, values, name: 'tessera_insert_chunk' });
      return id === undefined ? [] : [{ p: batch[0]!, id }];
    }
    const got = await this.all<{ id: number; hash: Buffer }>(`${text} RETURNING id, hash`, values,
      batch.length <= 16 ? `tessera_insert_chunks_${batch.length}` : undefined);
    return positionsOf(rows, batch, got);
  }

  /**
   * One batch's hashes claimed in chunk_hashes, each with a new id from the
   * chunks' own sequence (ON CONFLICT (hash) DO NOTHING), then the claimed
   * chunks into chunks under those ids: the positions inserted, with their ids.
   */
  private async claimChunks(rows: NewChunk[], batch: number[]): Promise<{ p: number; id: number }[]> {
    const claim = `INSERT INTO chunk_hashes (hash, chunk_id) VALUES ${Array.from(batch, () => "(?, nextval('chunks_id_seq'))").join(', ')}
        ON CONFLICT (hash) DO NOTHING RETURNING chunk_id AS id, hash`;
    const got = await this.all<{ id: number; hash: Buffer }>(claim, batch.map((p) => rows[p]!.hash),
      batch.length <= 16 ? `tessera_claim_chunks_${batch.length}` : undefined);
    const claimed = positionsOf(rows, batch, got);
    await this.insertChunksWithIds(claimed.map(({ p, id }) => ({ id, chunk: rows[p]! })));
    return claimed;
  }

  /** Chunks into chunks under ids handed out already (claimed in chunk_hashes, or a repair's old ones); bases aside. */
  private async insertChunksWithIds(chunks: { id: number; chunk: NewChunk }[]): Promise<void> {
    if (chunks.length === 0) return;
    const values: unknown[] = [];
    for (const { id, chunk: r } of chunks) values.push(id, r.hash, r.rawSize, r.storedSize, r.codec, r.depth, r.data);
    await this.write(`INSERT INTO chunks (id, hash, raw_size, stored_size, codec, depth, data) VALUES ${valueRows(chunks.length, 7)}`, values,
      chunks.length <= 16 ? `tessera_insert_with_ids_${chunks.length}` : undefined);
  }

  /** The chunks' bases, in order, in multi-row INSERTs. */
  private async insertBases(chunks: { id: number; bases: number[] }[]): Promise<void> {
    const triples: number[] = [];
    for (const { id, bases } of chunks) bases.forEach((b, o) => triples.push(id, o, b));
    for (const part of batches(triples, 3 * INSERT_ROWS)) {
      await this.write(`INSERT INTO chunk_bases (chunk_id, ordinal, base_id) VALUES ${valueRows(part.length / 3, 3)}`, part);
    }
  }

  async insertFileChunks(fileId: number, firstOrdinal: number, chunkIds: number[]): Promise<void> {
    const per = 2 * INSERT_ROWS;
    for (let j = 0; j < chunkIds.length; j += per) {
      const part = chunkIds.slice(j, j + per);
      const values: number[] = [];
      part.forEach((c, k) => values.push(fileId, firstOrdinal + j + k, c));
      await this.write(`INSERT INTO file_chunks (file_id, ordinal, chunk_id) VALUES ${valueRows(part.length, 3)}`, values);
    }
  }

  async hasDependents(id: number): Promise<boolean> {
    return (await this.all('SELECT 1 FROM chunk_bases WHERE base_id = ? LIMIT 1', [id], 'tessera_dependents')).length > 0;
  }

  async restoreChunk(id: number, r: NewChunk): Promise<void> {
    await this.insertChunksWithIds([{ id, chunk: r }]);
    // The hash's row usually outlived the chunk's (it names this id); if it went too, it is put back.
    if (this.db.dialect.hashTable) await this.write('INSERT INTO chunk_hashes (hash, chunk_id) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING', [r.hash, id]);
    await this.insertBases([{ id, bases: r.bases }]);
  }

  async hashIndexFaults(): Promise<HashIndexFaults> {
    if (!this.db.dialect.hashTable) return { dangling: 0, danglingIds: [], unnamed: 0, unnamedIds: [] };
    // A few ids and the count, from one scan each (a store whose index went missing has millions).
    const some = async (id: string, from: string): Promise<{ n: number; ids: number[] }> => {
      const rows = await this.all<{ id: number; n: number }>(`SELECT ${id} AS id, COUNT(*) OVER () AS n FROM ${from} LIMIT 5`);
      return { n: rows[0]?.n ?? 0, ids: rows.map((r) => r.id) };
    };
    const [dangling, unnamed] = await Promise.all([
      some('h.chunk_id', `chunk_hashes h WHERE ${DANGLING_HASH}`),
      some('c.id', `chunks c WHERE ${UNNAMED_CHUNK}`),
    ]);
    return { dangling: dangling.n, danglingIds: dangling.ids, unnamed: unnamed.n, unnamedIds: unnamed.ids };
  }

  async fixHashIndex(): Promise<HashIndexFaults> {
    return this.db.transaction(async () => {
      const found = await this.hashIndexFaults();
      if (found.dangling) await this.write(`DELETE FROM chunk_hashes h WHERE ${DANGLING_HASH}`);
      // Of several chunks of one hash (a repair may leave two), the lowest id is named.
      if (found.unnamed) await this.write(`INSERT INTO chunk_hashes (hash, chunk_id) SELECT hash, MIN(id) FROM chunks c WHERE ${UNNAMED_CHUNK} GROUP BY hash`);
      return found;
    }, 'exclusive');
  }

  async rewriteChunk(id: number, e: { codec: number; data: Buffer; storedSize: number; depth: number; bases: number[] }): Promise<void> {
    await this.write('UPDATE chunks SET codec = ?, data = ?, stored_size = ?, depth = ? WHERE id = ?', [e.codec, e.data, e.storedSize, e.depth, id]);
    await this.write('DELETE FROM chunk_bases WHERE chunk_id = ?', [id]);
    await this.insertBases([{ id, bases: e.bases }]);
  }

  async fileChunkIds(fileId: number): Promise<number[]> {
    return this.db.column<number>({ text: 'SELECT chunk_id FROM file_chunks WHERE file_id = ? ORDER BY ordinal', values: [fileId], name: 'tessera_file_chunks' });
  }

  async fileChunkIdsOf(fileIds: number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>(fileIds.map((id) => [id, []]));
    const rows = await this.allIn<{ file_id: number; chunk_id: number }>((anyOf) => `SELECT file_id, chunk_id FROM file_chunks
        WHERE ${anyOf} ORDER BY file_id, ordinal`, 'file_id', [...new Set(fileIds)], 'bigint', 'tessera_file_chunks_of');
    for (const r of rows) out.get(r.file_id)!.push(r.chunk_id);
    return out;
  }

  async fileChunkSizes(fileId: number): Promise<{ ids: number[]; sizes: (number | null)[] }> {
    const rows = await this.all<{ chunk_id: number; raw_size: number | null }>(`SELECT fc.chunk_id, c.raw_size FROM file_chunks fc
        LEFT JOIN ${this.db.dialect.chunkSizes} ON c.id = fc.chunk_id WHERE fc.file_id = ? ORDER BY fc.ordinal`, [fileId]);
    return { ids: rows.map((r) => r.chunk_id), sizes: rows.map((r) => r.raw_size) };
  }

  /** `found` in the order of `ids`; a chunk not found is an error naming the store. */
  private inOrder<T>(ids: number[], found: Map<number, T>): T[] {
    return ids.map((id) => {
      const c = found.get(id);
      if (c === undefined) throw new Error(`chunk ${id} is missing from the store`);
      return c;
    });
  }

  async getChunks(ids: number[]): Promise<StoredChunk[]> {
    const found = new Map<number, StoredChunk>();
    for (const b of batches([...new Set(ids)], Math.min(PAYLOAD_IDS, this.db.dialect.maxList))) {
      const cond = this.db.dialect.anyOf('c.id', b, 'bigint');
      const rows = await this.db.bulkSelect<ChunkPayloadRow>(
        { text: `SELECT c.id, c.hash, c.raw_size, c.codec, ${BASES_COLUMN} AS bases, c.data FROM chunks c WHERE ${cond.sql}`, values: cond.values },
        { id: 'int8', hash: 'bytea', raw_size: 'int4', codec: 'int4', bases: 'text', data: 'bytea' },
      );
      for (const r of rows) found.set(r.id, { id: r.id, hash: r.hash, rawSize: r.raw_size, codec: r.codec, bases: parseBases(r.bases), data: r.data });
    }
    return this.inOrder(ids, found);
  }

  async chunkInfo(ids: number[]): Promise<ChunkInfo[]> {
    const rows = await this.allIn<ChunkInfoRow>((anyOf) => `SELECT c.id, c.raw_size, c.stored_size, c.codec, c.depth, ${BASES_COLUMN} AS bases
        FROM chunks c WHERE ${anyOf}`, 'c.id', [...new Set(ids)], 'bigint', 'tessera_chunk_info');
    const found = new Map(rows.map((r) => [r.id, { id: r.id, rawSize: r.raw_size, storedSize: r.stored_size, codec: r.codec, depth: r.depth, bases: parseBases(r.bases) }]));
    return this.inOrder(ids, found);
  }

  // accounting and maintenance

  async totals(): Promise<StoreTotals> {
    // Side by side: on PostgreSQL each takes a connection of the pool (at 100,000 models the two scans take ~25 ms each).
    const [[m], [c], [d], dbBytes] = await Promise.all([
      this.all<{ models: number; files: number; logical: number }>(`SELECT (SELECT COUNT(*) FROM models) AS models,
        COUNT(*) AS files, COALESCE(SUM(size), 0) AS logical FROM files`),
      this.all<{ chunks: number; raw: number; stored: number }>(`SELECT COUNT(*) AS chunks,
        COALESCE(SUM(raw_size), 0) AS raw, COALESCE(SUM(stored_size), 0) AS stored FROM chunks`),
      this.all<{ raw: number; stored: number }>(`SELECT COALESCE(SUM(raw_size), 0) AS raw,
        COALESCE(SUM(stored_size), 0) AS stored FROM chunks WHERE id IN (SELECT DISTINCT chunk_id FROM chunk_bases)`),
      this.dbBytes(),
    ]);
    return {
      models: m!.models, files: m!.files, logicalBytes: m!.logical, chunks: c!.chunks, uniqueRawBytes: c!.raw,
      storedBytes: c!.stored, deltaRawBytes: d!.raw, deltaStoredBytes: d!.stored, dbBytes,
    };
  }

  async modelOverlaps(modelId: number, holdersPerChunk: number): Promise<{ own: SharingRow; others: SharingRow[] }> {
    const mine = 'SELECT DISTINCT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = ?';
    const sizes = this.db.dialect.chunkSizes;
    const [own] = await this.all<{ bytes: number; chunks: number }>(`SELECT COALESCE(SUM(c.raw_size), 0) AS bytes, COUNT(*) AS chunks
        FROM (${mine}) m JOIN ${sizes} ON c.id = m.chunk_id`, [modelId]);
    const rows = await this.all<{ model_id: number; bytes: number; chunks: number }>(`
      WITH m AS (${mine}), theirs AS (
        SELECT DISTINCT f.model_id, m.chunk_id FROM m ${this.db.dialect.firstHolders(holdersPerChunk)}
        JOIN files f ON f.id = fc.file_id WHERE f.model_id <> ?
      )
      SELECT t.model_id AS model_id, SUM(c.raw_size) AS bytes, COUNT(*) AS chunks
      FROM theirs t JOIN ${sizes} ON c.id = t.chunk_id GROUP BY t.model_id`, [modelId, modelId]);
    return {
      own: { modelId, bytes: own!.bytes, chunks: own!.chunks },
      others: rows.map((r) => ({ modelId: r.model_id, bytes: r.bytes, chunks: r.chunks })),
    };
  }

  async replaceSharing(modelId: number, rows: SharingRow[]): Promise<void> {
    await this.write('DELETE FROM model_sharing WHERE model_id = ?', [modelId]);
    await this.putSharingRows(rows.map((row) => ({ modelId, row })));
  }

  /** Kept rows in, replacing any row of the same pair (multi-row statements). */
  private async putSharingRows(rows: { modelId: number; row: SharingRow }[]): Promise<void> {
    for (const part of batches(rows, INSERT_ROWS)) {
      const values: number[] = [];
      for (const a of part) values.push(a.modelId, a.row.modelId, a.row.bytes, a.row.chunks);
      await this.write(`INSERT INTO model_sharing (model_id, other_id, bytes, chunks) VALUES ${valueRows(part.length, 4)}
          ON CONFLICT (model_id, other_id) DO UPDATE SET bytes = excluded.bytes, chunks = excluded.chunks`, values);
    }
  }

  async sharingLists(modelIds: number[]): Promise<Map<number, SharingRow[]>> {
    const rows = await this.allIn<{ model_id: number; other_id: number; bytes: number; chunks: number }>((anyOf) => `SELECT model_id, other_id, bytes, chunks
        FROM model_sharing WHERE ${anyOf} ORDER BY model_id, bytes DESC, other_id`, 'model_id', [...new Set(modelIds)], 'bigint');
    const out = new Map<number, SharingRow[]>(modelIds.map((id) => [id, []]));
    for (const r of rows) out.get(r.model_id)!.push({ modelId: r.other_id, bytes: r.bytes, chunks: r.chunks });
    return out;
  }

  async sharingListStats(modelIds: number[]): Promise<Map<number, { own: number | null; others: number; weakest: number | null }>> {
    const rows = await this.allIn<{ model_id: number; own: number | null; others: number; weakest: number | null }>((anyOf) => `SELECT model_id,
        MAX(CASE WHEN other_id = model_id THEN bytes END) AS own, SUM(CASE WHEN other_id <> model_id THEN 1 ELSE 0 END) AS others,
        MIN(CASE WHEN other_id <> model_id THEN bytes END) AS weakest
        FROM model_sharing WHERE ${anyOf} GROUP BY model_id`, 'model_id', [...new Set(modelIds)], 'bigint');
    return new Map(rows.map((r) => [r.model_id, { own: r.own, others: r.others, weakest: r.weakest }]));
  }

  async changeSharingRows(add: { modelId: number; row: SharingRow }[], drop: { modelId: number; otherId: number }[]): Promise<void> {
    for (const part of batches(drop, INSERT_ROWS)) {
      const values: number[] = [];
      for (const d of part) values.push(d.modelId, d.otherId);
      await this.write(`DELETE FROM model_sharing WHERE ${part.map(() => '(model_id = ? AND other_id = ?)').join(' OR ')}`, values);
    }
    await this.putSharingRows(add);
  }

  async sharingReferrers(modelId: number): Promise<number[]> {
    return (await this.all<{ model_id: number }>('SELECT model_id FROM model_sharing WHERE other_id = ? AND model_id <> other_id', [modelId]))
      .map((r) => r.model_id);
  }

  async topSharing(limit: number): Promise<{ modelId: number; otherId: number; bytes: number; chunks: number }[]> {
    const rows = await this.all<{ model_id: number; other_id: number; bytes: number; chunks: number }>(`SELECT model_id, other_id, bytes, chunks
        FROM model_sharing WHERE model_id <> other_id ORDER BY bytes DESC, model_id, other_id LIMIT ?`, [limit]);
    return rows.map((r) => ({ modelId: r.model_id, otherId: r.other_id, bytes: r.bytes, chunks: r.chunks }));
  }

  async families(modelIds: number[]): Promise<Map<number, number | null>> {
    const rows = await this.allIn<{ id: number; family_id: number | null }>((anyOf) => `SELECT id, family_id FROM models WHERE ${anyOf}`,
      'id', [...new Set(modelIds)], 'bigint');
    return new Map(rows.map((r) => [r.id, r.family_id]));
  }

  async setFamily(modelId: number, familyId: number): Promise<void> {
    await this.write('UPDATE models SET family_id = ? WHERE id = ?', [familyId, modelId]);
  }

  async largestFamilies(limit: number): Promise<{ familyId: number; members: number }[]> {
    const rows = await this.all<{ family_id: number; members: number }>(`SELECT family_id, COUNT(*) AS members FROM models
        WHERE family_id IS NOT NULL GROUP BY family_id ORDER BY members DESC, family_id LIMIT ?`, [limit]);
    return rows.map((r) => ({ familyId: r.family_id, members: r.members }));
  }

  async familyMembers(familyIds: number[]): Promise<Map<number, number[]>> {
    const rows = await this.allIn<{ id: number; family_id: number }>((anyOf) => `SELECT id, family_id FROM models WHERE ${anyOf} ORDER BY id`,
      'family_id', [...new Set(familyIds)], 'bigint');
    const out = new Map<number, number[]>(familyIds.map((f) => [f, []]));
    for (const r of rows) out.get(r.family_id)!.push(r.id);
    return out;
  }

  async getModels(ids: number[]): Promise<ModelRow[]> {
    return (await this.allIn<ModelDbRow>((anyOf) => `SELECT ${MODEL_COLUMNS} FROM models WHERE ${anyOf}`, 'id', [...new Set(ids)], 'bigint')).map(modelFromDb);
  }

  async commonChunks(chunkIds: number[], commonRefs: number): Promise<Set<number>> {
    const limit = Math.floor(commonRefs) + 1;
    const rows = await this.allIn<{ id: number }>((anyOf) => `SELECT c.id FROM chunks c WHERE ${anyOf}
        AND (SELECT COUNT(*) FROM (SELECT 1 FROM file_chunks x WHERE x.chunk_id = c.id LIMIT ${limit}) n) = ${limit}`, 'c.id', [...new Set(chunkIds)], 'bigint');
    return new Set(rows.map((r) => r.id));
  }

  async chunkModels(chunkIds: number[]): Promise<{ chunkId: number; modelId: number }[]> {
    const rows = await this.allIn<{ chunk_id: number; model_id: number }>((anyOf) => `SELECT DISTINCT fc.chunk_id, f.model_id FROM file_chunks fc
        JOIN files f ON f.id = fc.file_id WHERE ${anyOf}`, 'fc.chunk_id', [...new Set(chunkIds)], 'bigint');
    return rows.map((r) => ({ chunkId: r.chunk_id, modelId: r.model_id }));
  }

  async chunksWithDependents(ids: number[]): Promise<Set<number>> {
    const rows = await this.allIn<{ base_id: number }>((anyOf) => `SELECT DISTINCT base_id FROM chunk_bases WHERE ${anyOf}`, 'base_id', [...new Set(ids)], 'bigint');
    return new Set(rows.map((r) => Number(r.base_id)));
  }

  async chunkSketches(chunkIds: number[], scheme: number): Promise<Map<number, Buffer>> {
    const rows = await this.allIn<{ chunk_id: number; sketch: Buffer }>((anyOf) => `SELECT chunk_id, sketch FROM chunk_sketches
        WHERE scheme = ${Math.trunc(scheme)} AND ${anyOf}`, 'chunk_id', [...new Set(chunkIds)], 'bigint');
    return new Map(rows.map((r) => [Number(r.chunk_id), r.sketch]));
  }

  async putChunkSketches(rows: { chunkId: number; sketch: Buffer }[], scheme: number): Promise<void> {
    for (const b of batches(rows, INSERT_ROWS)) {
      const values: unknown[] = [];
      for (const r of b) values.push(r.chunkId, scheme, r.sketch);
      await this.write(`INSERT INTO chunk_sketches (chunk_id, scheme, sketch) VALUES ${valueRows(b.length, 3)}
          ON CONFLICT (chunk_id, scheme) DO UPDATE SET sketch = excluded.sketch`, values);
    }
  }

  async putTensorFingerprints(rows: { fileId: number; ordinal: number; fingerprint: Buffer }[]): Promise<void> {
    for (const b of batches(rows, INSERT_ROWS)) {
      const values: unknown[] = [];
      for (const r of b) values.push(r.fileId, r.ordinal, r.fingerprint);
      await this.write(`INSERT INTO tensor_fingerprints (file_id, ordinal, fingerprint) VALUES ${valueRows(b.length, 3)}
          ON CONFLICT (file_id, ordinal) DO NOTHING`, values);
    }
  }

  async tensorsByFingerprint(fingerprints: Buffer[]): Promise<Array<TensorRow & { fingerprint: Buffer }>> {
    if (fingerprints.length === 0) return [];
    const rows = await this.allIn<TensorDbRow & { fingerprint: Buffer }>((anyOf) => `SELECT ${TENSOR_COLUMNS}, t.fingerprint FROM tensor_fingerprints t
        JOIN segments s ON s.file_id = t.file_id AND s.ordinal = t.ordinal JOIN files f ON f.id = s.file_id
        WHERE ${anyOf} ORDER BY t.file_id DESC`, 't.fingerprint', fingerprints, 'bytea');
    return rows.map((r) => ({ ...tensorFromDb(r), fingerprint: r.fingerprint }));
  }

  async modelChunkBytes(modelId: number): Promise<{ distinctBytes: number; uniqueBytes: number; chunks: number }> {
    const [r] = await this.all<{ chunks: number; distinct_bytes: number; unique_bytes: number }>(`
      WITH mine AS (
        SELECT DISTINCT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.model_id = ?
      )
      SELECT COUNT(*) AS chunks, COALESCE(SUM(c.raw_size), 0) AS distinct_bytes,
        COALESCE(SUM(CASE WHEN EXISTS (
          SELECT 1 FROM file_chunks fc2 JOIN files f2 ON f2.id = fc2.file_id
          WHERE fc2.chunk_id = m.chunk_id AND f2.model_id <> ?) THEN 0 ELSE c.raw_size END), 0) AS unique_bytes
      FROM mine m JOIN chunks c ON c.id = m.chunk_id`, [modelId, modelId]);
    return { distinctBytes: r!.distinct_bytes, uniqueBytes: r!.unique_bytes, chunks: r!.chunks };
  }

  /**
   * Deletes chunks no file and no live delta references, in a transaction
   * that holds the store exclusively (on PostgreSQL it waits for every
   * transaction in flight; see postgres/driver.ts), then has the database
   * reclaim the space.
   */
  async gc(): Promise<GcResult> {
    const dbBytesBefore = await this.dbBytes();
    let chunks = 0;
    let storedBytes = 0;
    await this.db.transaction(async () => {
      // Run again from the start after a lost race (PostgreSQL): count afresh.
      chunks = 0;
      storedBytes = 0;
      // A delta chunk keeps its bases alive; freeing a delta may orphan its base,
      // so sweep until nothing more goes (bounded by the delta chain depth).
      for (;;) {
        const dead = await this.all<{ id: number; hash: Buffer; stored_size: number }>(`SELECT id, hash, stored_size FROM chunks
            WHERE NOT EXISTS (SELECT 1 FROM file_chunks fc WHERE fc.chunk_id = chunks.id)
              AND NOT EXISTS (SELECT 1 FROM chunk_bases b WHERE b.base_id = chunks.id) LIMIT ${GC_BATCH}`);
        if (dead.length === 0) break;
        await this.allIn((anyOf) => `DELETE FROM chunks WHERE ${anyOf}`, 'id', dead.map((d) => d.id), 'bigint');
        // Their hash rows, found by hash (the key), unless one names another chunk of the same bytes (a repair's).
        if (this.db.dialect.hashTable) {
          await this.allIn((anyOf) => `DELETE FROM chunk_hashes WHERE ${anyOf}
              AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = chunk_hashes.chunk_id)`, 'hash', dead.map((d) => d.hash), 'bytea');
        }
        chunks += dead.length;
        for (const d of dead) storedBytes += d.stored_size;
      }
    }, 'exclusive');
    await this.db.reclaimSpace(chunks);
    return { chunks, storedBytes, dbBytesBefore, dbBytesAfter: await this.dbBytes() };
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.all<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key], 'tessera_get_setting'))[0]?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.write('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async claimSetting(key: string, value: string): Promise<string> {
    // An insert that meets another open transaction's row for the key waits for it (PostgreSQL), and the
    // SELECT, a statement of its own, then sees what that one committed; SQLite has one writer at a time.
    // In a transaction the two go out together (one round trip on PostgreSQL).
    await this.write('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value], 'tessera_claim_setting');
    return (await this.getSetting(key))!;
  }

  async listServingConfigs(name?: string): Promise<ServingConfigRow[]> {
    const rows = await this.all<{ name: string; version: number; config_json: string; updated_at: string }>(
      `SELECT name, version, config_json, updated_at FROM serving_configs ${name === undefined ? '' : 'WHERE name = ?'} ORDER BY ${this.byteOrder('name')}, version`,
      name === undefined ? [] : [name]);
    return rows.map((r) => ({ name: r.name, version: Number(r.version), configJson: r.config_json, updatedAt: r.updated_at }));
  }

  async lockKey(key: string): Promise<void> {
    const sql = this.db.dialect.lockKey;
    if (sql) await this.all(sql, [key]);
  }

  async putServingConfig(name: string, version: number, configJson: string | null): Promise<void> {
    await this.notifyName(name);
    if (configJson === null) {
      await this.write('DELETE FROM serving_configs WHERE name = ? AND version = ?', [name, version]);
      return;
    }
    await this.write(`INSERT INTO serving_configs (name, version, config_json, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (name, version) DO UPDATE SET config_json = excluded.config_json, updated_at = excluded.updated_at`,
    [name, version, configJson, new Date().toISOString()]);
  }
}
