import type { Backend, ChunkInfo, FileRow, HashIndexFaults, ModelRow } from '../../backends/backend.js';
import type { StoreReaders } from '../read/file-reader.js';
import { DamagedFileError } from '../read/file-reader.js';
import { formatModelRef } from '../model-ref.js';
import { filesByModel } from '../files.js';
import { chunkHash, MAX_DELTA_DEPTH } from '../format.js';

/** One thing wrong with the store, and the models it affects. */
export interface Problem {
  kind: 'missing-chunk' | 'missing-base' | 'depth' | 'size' | 'segments' | 'chunk-hash' | 'chunk-decode' | 'file-hash' | 'hash-index';
  message: string;
  /** Models affected (none for a fault of the hash index: no stored file reads through it). */
  models: string[];
  /** Chunk ids at fault (missing, or failing to decode to their hash); empty for problems of a file's structure or of the hash index. */
  chunks: number[];
}

export interface VerifyReport {
  models: number;
  files: number;
  chunks: number;
  /** Chunks decoded and hashed (deep only). */
  chunksHashed: number;
  /** Files reconstructed and hashed (deep only). */
  filesHashed: number;
  problems: Problem[];
}

/** Chunk ids per query. */
const BATCH = 256;

/**
 * Checks the store's structure: every file's chunks exist and add up to its
 * size, its segments tile the file and point inside its chunk list, every
 * delta's bases exist, depths follow the bases and stay within the bound.
 * With `deep`, also decodes every chunk (its SHA-256 must be its id) and
 * rebuilds every file (its SHA-256 must be the one recorded at import).
 */
export async function verifyStore(backend: Backend, readers: StoreReaders, deep: boolean): Promise<VerifyReport> {
  const report: VerifyReport = { models: 0, files: 0, chunks: 0, chunksHashed: 0, filesHashed: 0, problems: [] };
  /** Models referencing each chunk, directly or as a base (for problem reports). */
  const users = new Map<number, Set<string>>();
  const fileList: { model: ModelRow; ref: string; file: FileRow }[] = [];
  const files = await filesByModel(backend);
  for (const model of await backend.listModels()) {
    report.models++;
    const ref = formatModelRef(model.name, model.version);
    for (const file of files.get(model.id) ?? []) {
      report.files++;
      fileList.push({ model, ref, file });
      const ids = await backend.fileChunkIds(file.id);
      for (const id of ids) (users.get(id) ?? users.set(id, new Set()).get(id)!).add(ref);
      const infos = await chunkInfos(backend, ids);
      const missing = ids.filter((id) => !infos.has(id));
      if (missing.length) {
        report.problems.push({ kind: 'missing-chunk', message: `${ref} ${file.path}: ${missing.length} chunk(s) missing from the store (e.g. ${missing[0]})`, models: [ref], chunks: missing });
        continue;
      }
      const total = ids.reduce((n, id) => n + infos.get(id)!.rawSize, 0);
      if (total !== file.size) report.problems.push({ kind: 'size', message: `${ref} ${file.path}: chunks add up to ${total} bytes, the file has ${file.size}`, models: [ref], chunks: [] });
      let pos = 0;
      for (const s of await backend.listSegments(file.id)) {
        if (s.fileOffset !== pos || s.firstChunk < 0 || s.firstChunk + s.chunkCount > ids.length) {
          report.problems.push({ kind: 'segments', message: `${ref} ${file.path}: segment ${s.ordinal} (offset ${s.fileOffset}, chunks ${s.firstChunk}+${s.chunkCount}) does not fit the file`, models: [ref], chunks: [] });
          break;
        }
        pos += s.length;
      }
      if (pos !== file.size && report.problems.at(-1)?.kind !== 'segments') {
        report.problems.push({ kind: 'segments', message: `${ref} ${file.path}: segments cover ${pos} of ${file.size} bytes`, models: [ref], chunks: [] });
      }
    }
  }
  // Bases, transitively: each must exist, and depth = 1 + the deepest base's depth, within the bound.
  const seen = new Map<number, ChunkInfo>();
  let frontier = [...users.keys()];
  while (frontier.length) {
    const infos = await chunkInfos(backend, frontier);
    const next: number[] = [];
    for (const id of frontier) {
      const info = infos.get(id);
      if (!info) continue;
      seen.set(id, info);
      for (const b of info.bases) {
        for (const m of users.get(id) ?? []) (users.get(b) ?? users.set(b, new Set()).get(b)!).add(m);
        if (!seen.has(b) && !next.includes(b)) next.push(b);
      }
    }
    const baseInfos = await chunkInfos(backend, next);
    for (const b of next) {
      if (!baseInfos.has(b)) {
        const dependents = [...seen.values()].filter((c) => c.bases.includes(b)).map((c) => c.id);
        report.problems.push({ kind: 'missing-base', message: `base chunk ${b} of chunk(s) ${dependents.slice(0, 3).join(', ')} is missing`, models: [...(users.get(b) ?? [])], chunks: [b] });
      }
    }
    frontier = next.filter((b) => baseInfos.has(b));
  }
  for (const info of seen.values()) {
    // A recorded depth may exceed the chain's (repair shortens chains by storing re-supplied chunks whole);
    // below it, the encoder could build chains past the bound.
    const want = info.bases.length === 0 ? 0 : 1 + Math.max(...info.bases.map((b) => seen.get(b)?.depth ?? 0));
    if (info.depth < want || info.depth > MAX_DELTA_DEPTH) {
      report.problems.push({ kind: 'depth', message: `chunk ${info.id} records depth ${info.depth}, its bases make it ${want} (bound ${MAX_DELTA_DEPTH})`, models: [...(users.get(info.id) ?? [])], chunks: [] });
    }
  }
  report.chunks = seen.size;
  report.problems.push(...hashIndexProblems(await backend.hashIndexFaults()));
  if (!deep) return report;
  // Deep checks go on past missing chunks: repair needs every chunk that fails to decode.

  const ids = [...seen.keys()];
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = await backend.getChunks(ids.slice(i, i + BATCH));
    const decoded = await readers.chunks.decodeEach(batch);
    for (const [k, c] of batch.entries()) {
      const models = [...(users.get(c.id) ?? [])];
      const raw = decoded[k]!;
      if (raw instanceof Error) {
        report.problems.push({ kind: 'chunk-decode', message: `chunk ${c.id} does not decode: ${raw.message}`, models, chunks: [c.id] });
      } else if (!chunkHash(raw).equals(c.hash)) {
        report.problems.push({ kind: 'chunk-hash', message: `chunk ${c.id} decodes to bytes whose SHA-256 is not its id`, models, chunks: [c.id] });
      }
      report.chunksHashed++;
    }
  }
  for (const { ref, file } of fileList) {
    try {
      // A whole-file read checks the digest itself.
      for await (const block of readers.files.read(file)) void block;
    } catch (e) {
      const message = e instanceof DamagedFileError ? `${ref} ${file.path}: rebuilds to other bytes than were imported` : `${ref} ${file.path}: cannot be rebuilt: ${(e as Error).message}`;
      report.problems.push({ kind: 'file-hash', message, models: [ref], chunks: [] });
    }
    report.filesHashed++;
  }
  return report;
}

/** What a disagreement between PostgreSQL's chunk_hashes and chunks means, as problems (no model is affected). */
export function hashIndexProblems(f: HashIndexFaults): Problem[] {
  const out: Problem[] = [];
  if (f.dangling) {
    out.push({ kind: 'hash-index', message: `${f.dangling} hash row(s) of chunk_hashes name a chunk that is not in the store under that hash (e.g. chunk ${f.danglingIds[0]}): an import of those bytes would reference it; \`tessera repair\` removes them`, models: [], chunks: [] });
  }
  if (f.unnamed) {
    out.push({ kind: 'hash-index', message: `${f.unnamed} chunk(s) have no row in chunk_hashes (e.g. chunk ${f.unnamedIds[0]}): their bytes would be stored again; \`tessera repair\` adds them`, models: [], chunks: [] });
  }
  return out;
}

/** chunkInfo for the ids that exist (a missing id is left out rather than thrown). */
export async function chunkInfos(backend: Backend, ids: number[]): Promise<Map<number, ChunkInfo>> {
  const out = new Map<number, ChunkInfo>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += BATCH) {
    const batch = unique.slice(i, i + BATCH);
    try {
      for (const c of await backend.chunkInfo(batch)) out.set(c.id, c);
    } catch {
      // Some id is missing: ask one by one to tell which.
      for (const id of batch) {
        try {
          const [c] = await backend.chunkInfo([id]);
          if (c) out.set(c.id, c);
        } catch {
          /* missing */
        }
      }
    }
  }
  return out;
}
