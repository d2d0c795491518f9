import type { Database as Db } from 'better-sqlite3';
import { APPLIED_VERSION, CREATE_MIGRATIONS_TABLE, applyMigrations } from '../migrations.js';

/**
 * SQLite schema, as numbered migrations: a store records the last one it ran
 * in `schema_migrations`, and opening an older store runs the rest.
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    format TEXT NOT NULL,
    base_model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    logical_bytes INTEGER NOT NULL,
    new_raw_bytes INTEGER NOT NULL DEFAULT 0,
    new_stored_bytes INTEGER NOT NULL DEFAULT 0,
    delta_raw_bytes INTEGER NOT NULL DEFAULT 0,
    delta_stored_bytes INTEGER NOT NULL DEFAULT 0,
    metadata_json TEXT,
    UNIQUE (name, version)
  );
  CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    format TEXT NOT NULL,
    UNIQUE (model_id, path)
  );
  CREATE TABLE segments (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    tensor_name TEXT,
    dtype TEXT,
    shape_json TEXT,
    file_offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    first_chunk INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    PRIMARY KEY (file_id, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX segments_tensor ON segments(tensor_name) WHERE tensor_name IS NOT NULL;
  CREATE TABLE chunks (
    -- AUTOINCREMENT: an id is never reused after gc, so caches keyed by chunk id never go stale.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash BLOB NOT NULL UNIQUE,
    raw_size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    codec INTEGER NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL
  );
  CREATE TABLE chunk_bases (
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    base_id INTEGER NOT NULL REFERENCES chunks(id),
    PRIMARY KEY (chunk_id, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX chunk_bases_base ON chunk_bases(base_id);
  CREATE TABLE file_chunks (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    chunk_id INTEGER NOT NULL REFERENCES chunks(id),
    PRIMARY KEY (file_id, ordinal)
  ) WITHOUT ROWID;
  CREATE INDEX file_chunks_chunk ON file_chunks(chunk_id);
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: a model `tessera repair` could not make whole is marked unavailable
  // (the reason), so nothing serves or exports wrong bytes; NULL = available.
  `
  ALTER TABLE models ADD COLUMN unavailable TEXT;
  `,
  // 3: lookups at import that cost the same in a store of any size: stored
  // tensors by name, shape and dtype, newest file first (base selection), and
  // model names regardless of letter case.
  `
  DROP INDEX segments_tensor;
  CREATE INDEX segments_tensor ON segments(tensor_name, shape_json, dtype, file_id) WHERE tensor_name IS NOT NULL;
  CREATE INDEX models_name_folded ON models(lower(name));
  `,
  // 4: a file's layout (each chunk's raw size, in file order) from a small
  // index instead of the chunk rows, whose leaf pages lie between their
  // payloads' overflow pages all over the file: 16k chunks of a 1 GiB file
  // took 181 ms from the rows in a new process, 24 ms from this index. The
  // planner keeps the rowid lookup unless told (INDEXED BY, sqlite/dialect.ts).
  `
  CREATE INDEX chunks_raw_size ON chunks(id, raw_size);
  `,
  // 5: each model's serving configuration (src/wire/serving-config.ts), the
  // keys set at one level: version 0 for the model (every version), else that
  // version's own. Removing a version removes its row; removing a model's last
  // version removes the model's row (Backend.deleteModel).
  `
  CREATE TABLE serving_configs (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    config_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
  );
  `,
  // 6: sketches of float blocks (tensor chunks) that approximate dedup
  // (src/approx) has computed, so that a family's blocks are decoded once,
  // not at every run: 8 bytes, or none for a block that has no sketch (NaN,
  // all zeros). `scheme` names how it was computed, by the dtype the bytes
  // were read as (approx.md): one chunk may have a row per scheme. Derived
  // data: gc drops a chunk's rows with the chunk, migrate does not copy them.
  `
  CREATE TABLE chunk_sketches (
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    scheme INTEGER NOT NULL,
    sketch BLOB NOT NULL,
    PRIMARY KEY (chunk_id, scheme)
  );
  `,
  // 7: the value fingerprint (src/codec/fingerprint.ts) of each float tensor
  // an import stored new, so that a later import finds by index a stored
  // tensor holding the same values in another axis order (PERMUTE). Derived
  // data: a file's rows go with it; migrate does not copy them.
  `
  CREATE TABLE tensor_fingerprints (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    PRIMARY KEY (file_id, ordinal)
  );
  CREATE INDEX tensor_fingerprints_fingerprint ON tensor_fingerprints(fingerprint);
  `,
  // 8: stored files by content, so that an import finds a file some model
  // already holds byte for byte (a package version repeats most files of the
  // one before) and takes its rows instead of cutting and hashing it again:
  // by size first (is there any candidate at all), then size and SHA-256.
  `
  CREATE INDEX files_content ON files(size, sha256);
  `,
  // 9: what models share, kept up to date at import and removal instead of
  // computed from every chunk list (src/store/inspect/sharing-index.ts): each
  // model's row with itself (its distinct raw bytes) and with the
  // SHARING_TOP models it shares most with; and the family each model joined
  // at import (the heatmap groups a big store by it). An empty store's index
  // is complete; a store that has models builds it at first use. The chunk
  // size index also covers stored sizes: the store's totals (`stats`) read
  // it instead of every chunk row, whose small payloads sit inline (100,000
  // models: 110 ms → 9 ms).
  `
  CREATE TABLE model_sharing (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    other_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    bytes INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    PRIMARY KEY (model_id, other_id)
  ) WITHOUT ROWID;
  CREATE INDEX model_sharing_other ON model_sharing(other_id);
  CREATE INDEX model_sharing_bytes ON model_sharing(bytes DESC, model_id, other_id) WHERE model_id <> other_id;
  ALTER TABLE models ADD COLUMN family_id INTEGER;
  CREATE INDEX models_family ON models(family_id);
  INSERT INTO settings (key, value) SELECT 'sharing_index', '1' WHERE NOT EXISTS (SELECT 1 FROM models);
  DROP INDEX chunks_raw_size;
  CREATE INDEX chunks_raw_size ON chunks(id, raw_size, stored_size);
  `,
  // 10: PostgreSQL moves the hash's uniqueness to a table of its own
  // (chunk_hashes, for a distributed layout); one SQLite file is never
  // distributed, so chunks keeps its UNIQUE (hash) and the number only keeps
  // the two schemas' versions in step.
  `
  SELECT 1;
  `,
];

function appliedVersion(db: Db): number {
  return (db.prepare(APPLIED_VERSION).get() as { v: number | null }).v ?? 0;
}

/**
 * Brings the store's tables up to date. Opening a current store only reads;
 * when migrations are due they run under the write lock (BEGIN IMMEDIATE),
 * after reading the version again: another process may have run them while
 * this one waited.
 */
export async function migrateSqlite(db: Db): Promise<void> {
  db.exec(CREATE_MIGRATIONS_TABLE);
  if (appliedVersion(db) === MIGRATIONS.length) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    await applyMigrations(MIGRATIONS, appliedVersion(db), async (sql, values) => {
      if (values) db.prepare(sql).run(...values);
      else db.exec(sql);
    });
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
