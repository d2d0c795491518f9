import type { Dialect, ListType } from '../driver.js';

/** SQLite's limit on bound parameters per statement is 32766; stay well below. */
const MAX_LIST = 500;

/** Where SQLite's SQL differs from the shared text. */
export const sqliteDialect: Dialect = {
  anyOf(column: string, values: readonly unknown[], _type: ListType) {
    return { sql: `${column} IN (${values.map(() => '?').join(',')})`, values: [...values] };
  },
  maxList: MAX_LIST,
  // SQLite's default collation (BINARY) compares UTF-8 bytes already.
  byteOrder: (expr) => expr,
  // One chunk per INSERT: a multi-row INSERT of 64 KiB payloads measured slower here
  // (4000 chunks: ~500 ms one per statement, 650-1200 ms 64 to 1000 per statement).
  chunkInsert: { rows: 1, bytes: Infinity },
  // One writer at a time: chunks go in file order, so that a file's chunks have neighbouring ids and pages.
  insertInHashOrder: false,
  hashTable: false,
  // The planner would look each size up in the chunk's own row (migration 4 says why not).
  chunkSizes: 'chunks c INDEXED BY chunks_raw_size',
  // No LATERAL: the limit-th holding file's id bounds a range of the chunk_id index (whose entries end in file_id).
  firstHolders: (limit) => `JOIN file_chunks fc ON fc.chunk_id = m.chunk_id AND fc.file_id <= COALESCE((SELECT DISTINCT x.file_id
    FROM file_chunks x WHERE x.chunk_id = m.chunk_id ORDER BY x.file_id LIMIT 1 OFFSET ${Math.floor(limit) - 1}), ${Number.MAX_SAFE_INTEGER})`,
};
