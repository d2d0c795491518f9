import { recordSharing } from '../inspect/sharing-index.js';
import type { Backend, FileRow, ModelRow, NewChunk } from '../../backends/backend.js';
import { encodeChunk } from '../../codec/index.js';
import { chunkHash, MAX_DELTA_DEPTH, SETTING_CHUNK_SIZE } from '../format.js';
import { conflict, invalid } from '../../errors.js';
import { filesByModel } from '../files.js';
import { checkModelNameToFind, filePathProblem, modelNameProblem, quoteName, storedPathProblem } from '../names.js';
import { formatModelRef } from '../model-ref.js';
import type { StoreReaders } from '../read/file-reader.js';
import { DamagedFileError } from '../read/file-reader.js';

/** Chunks read from the source and committed to the target at a time. */
const CHUNK_BATCH = 256;

export interface MigrateProgress {
  /** What happened: a model copied or found already there, or a file verified. */
  event: 'copied' | 'present' | 'verified';
  model: string;
  file?: string;
  chunksCopied?: number;
  chunksPresent?: number;
}

export interface MigrateOptions {
  onProgress?: (p: MigrateProgress) => void;
}

export interface MigrateResult {
  models: number;
  /** Models copied by this run; the others were in the target already (an earlier, interrupted run). */
  modelsCopied: number;
  modelsPresent: number;
  /** Chunks written to the target by this run, and their payload bytes. */
  chunksCopied: number;
  storedBytesCopied: number;
  /** Chunks the target held already (same SHA-256). */
  chunksPresent: number;
  /** Files reconstructed from the target and checked against their SHA-256. */
  filesVerified: number;
  bytesVerified: number;
  /**
   * Names and paths of the source that the name policy (names.ts) refuses
   * for new ones: stored before it, they are copied as they are.
   */
  legacyNames: LegacyName[];
}

/** A stored model name, or a file path of a model, that breaks the name policy. */
export interface LegacyName {
  model: string;
  file?: string;
  problem: string;
}

/**
 * The source's names against the name policy. A name or path stored before
 * the policy is copied as it is (reading and serving it keep working) and
 * reported; one no store may hold (a path that would leave a directory
 * written below, a name the lookups cannot spell) means a damaged or
 * hand-made source: the migration stops before it copies anything.
 */
async function checkNames(src: Backend, models: ModelRow[]): Promise<LegacyName[]> {
  const files = await filesByModel(src);
  const legacy: LegacyName[] = [];
  for (const m of models) {
    const ref = formatModelRef(m.name, m.version);
    const nameProblem = modelNameProblem(m.name);
    if (nameProblem !== undefined) {
      checkModelNameToFind(m.name);
      legacy.push({ model: ref, problem: nameProblem });
    }
    for (const f of files.get(m.id) ?? []) {
      const unsafe = storedPathProblem(f.path);
      if (unsafe !== undefined) throw invalid(`${src.location}: ${ref} has the file path ${quoteName(f.path)}, which no store may hold: ${unsafe}`);
      const problem = filePathProblem(f.path) ?? (f.path.normalize('NFC') !== f.path ? 'it is not in Unicode NFC' : undefined);
      if (problem !== undefined) legacy.push({ model: ref, file: f.path, problem });
    }
  }
  return legacy;
}

/**
 * Copies every model of one store into another, whatever their backends
 * (SQLite → PostgreSQL and back): chunk payloads as stored (no re-encoding,
 * but for a delta the target's deeper chains would push past the depth bound),
 * then each model's rows.
 *
 * - Chunks go in batches, each committed on its own, bases before the deltas
 *   that decode against them. Before a chunk is written its payload is decoded
 *   against its bases as stored in the target and the raw bytes' SHA-256 is
 *   checked against the chunk's hash. A chunk whose hash the target holds
 *   already is not copied again: it is referenced.
 * - A model's rows (model, files, segments, the file's chunk list) commit in
 *   one transaction, so the target never shows half a model. A model whose
 *   name:version is in the target with the same files is skipped; with other
 *   files, the migration stops (the stores disagree).
 * - So a run that stops halfway (crash, Ctrl-C, lost connection) is resumed by
 *   running it again: models and chunks already there are skipped.
 * - Finally every file of every model is reconstructed from the target and its
 *   SHA-256 checked against the digest recorded at import.
 *
 * Chunk ids differ between the stores (each hands out its own); the copy maps
 * them by hash. Chunks no model references (garbage not yet collected) are
 * not copied.
 */
export async function migrateStore(src: Backend, dst: Backend, target: StoreReaders, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const result: MigrateResult = {
    models: 0, modelsCopied: 0, modelsPresent: 0, chunksCopied: 0, storedBytesCopied: 0, chunksPresent: 0, filesVerified: 0, bytesVerified: 0,
    legacyNames: [],
  };
  // By id: the order of import, so a model's files are copied before those of models imported after it.
  const models = (await src.listModels()).sort((a, b) => a.id - b.id);
  result.legacyNames = await checkNames(src, models);

  const srcChunkSize = await src.getSetting(SETTING_CHUNK_SIZE);
  if (srcChunkSize !== undefined) {
    // Claimed in a transaction: an import into the target at the same time cannot fix another size.
    const dstChunkSize = await dst.transaction(() => dst.claimSetting(SETTING_CHUNK_SIZE, srcChunkSize));
    if (dstChunkSize !== srcChunkSize) {
      throw conflict(`${dst.location} cuts tensors into ${dstChunkSize}-byte chunks, ${src.location} into ${srcChunkSize}-byte ones; migrate into a new store`);
    }
  }

  /** Source chunk id → target chunk id. */
  const idMap = new Map<number, number>();
  const reader = target.chunks;
  let copiedNow = 0;
  let presentNow = 0;

  const ensureChunks = async (ids: number[]): Promise<void> => {
    const need = [...new Set(ids)].filter((id) => !idMap.has(id));
    for (let i = 0; i < need.length; i += CHUNK_BATCH) {
      const batch = need.slice(i, i + CHUNK_BATCH).filter((id) => !idMap.has(id));
      if (batch.length === 0) continue;
      const fetched = await src.getChunks(batch);
      // Bases first: a delta is decoded and checked against its bases as the target holds them.
      const bases = fetched.flatMap((c) => c.bases).filter((b) => !idMap.has(b));
      if (bases.length) await ensureChunks(bases);
      // (A base may have been in this batch: copied just now.)
      const chunks = fetched.filter((c) => !idMap.has(c.id));
      const found = await dst.lookupChunks(chunks.map((c) => c.hash));
      // A delta's depth is taken from its bases as the target stores them, not
      // copied from the source: a base the target already held (found by hash,
      // e.g. kept from an earlier migration after the source re-imported it
      // against another base) may sit at another depth there.
      const targetBases = [...new Set(chunks.filter((_, j) => found[j] === undefined).flatMap((c) => c.bases.map((b) => idMap.get(b)!)))];
      const targetDepth = new Map(targetBases.length ? (await dst.chunkInfo(targetBases)).map((b) => [b.id, b.depth]) : []);
      const rows: NewChunk[] = [];
      const rowSrcIds: number[] = [];
      const copy = chunks.filter((_, j) => found[j] === undefined).map((c) => ({ ...c, bases: c.bases.map((b) => idMap.get(b)!) }));
      chunks.forEach((c, j) => {
        if (found[j] === undefined) return;
        idMap.set(c.id, found[j]!);
        presentNow++;
      });
      // Decoded against the target's bases, all of the batch's fetched at once.
      const decoded = await reader.decodeEach(copy);
      for (const [j, c] of copy.entries()) {
        const mapped = c.bases;
        const raw = decoded[j]!;
        if (raw instanceof Error) throw raw;
        if (!chunkHash(raw).equals(c.hash)) {
          throw new Error(`${src.location}: chunk ${c.id} does not decode to its SHA-256 ${c.hash.toString('hex')}; the source store is damaged`);
        }
        const chunkDepth = mapped.length === 0 ? 0 : 1 + Math.max(...mapped.map((b) => targetDepth.get(b)!));
        if (chunkDepth > MAX_DELTA_DEPTH) {
          // The target's chain below this delta is deeper than the source's: stacking it
          // there would break the depth bound, so it is stored self-contained instead.
          const enc = encodeChunk({ raw });
          rows.push({ hash: c.hash, rawSize: c.rawSize, storedSize: enc.payload.length, codec: enc.codec, bases: [], depth: 0, data: enc.payload });
        } else {
          rows.push({ hash: c.hash, rawSize: c.rawSize, storedSize: c.data.length, codec: c.codec, bases: mapped, depth: chunkDepth, data: c.data });
        }
        rowSrcIds.push(c.id);
      }
      if (rows.length) {
        const newIds = await dst.transaction(() => dst.insertChunks(rows));
        rowSrcIds.forEach((id, j) => idMap.set(id, newIds[j]!));
        copiedNow += rows.length;
        result.storedBytesCopied += rows.reduce((n, r) => n + r.storedSize, 0);
      }
    }
  };

  const modelMap = new Map<number, ModelRow>();
  for (const m of models) {
    result.models++;
    const ref = formatModelRef(m.name, m.version);
    const files = await src.listFiles(m.id);
    const existing = await dst.findModel(m.name, m.version);
    if (existing) {
      if (!sameFiles(files, await dst.listFiles(existing.id))) {
        throw conflict(`${ref} exists in ${dst.location} with other files than in ${src.location}; remove it there or migrate into a new store`);
      }
      modelMap.set(m.id, existing);
      result.modelsPresent++;
      opts.onProgress?.({ event: 'present', model: ref });
      continue;
    }
    copiedNow = 0;
    presentNow = 0;
    const chunkLists = new Map<number, number[]>();
    for (const f of files) {
      const ids = await src.fileChunkIds(f.id);
      await ensureChunks(ids);
      chunkLists.set(f.id, ids);
    }
    const target = await dst.transaction(async () => {
      const previous = await dst.findModel(m.name);
      const id = await dst.insertModel({
        name: m.name, version: m.version, format: m.format, baseModelId: null, createdAt: m.createdAt, logicalBytes: m.logicalBytes,
        newRawBytes: m.newRawBytes, newStoredBytes: m.newStoredBytes, deltaRawBytes: m.deltaRawBytes, deltaStoredBytes: m.deltaStoredBytes,
        metadataJson: m.metadataJson,
      });
      for (const f of files) {
        const fileId = await dst.insertFile({ modelId: id, path: f.path, size: f.size, sha256: f.sha256, format: f.format });
        await dst.insertSegments(fileId, await src.listSegments(f.id));
        await dst.insertFileChunks(fileId, 0, chunkLists.get(f.id)!.map((c) => idMap.get(c)!));
      }
      await recordSharing(dst, id, previous?.id);
      return (await dst.getModel(id))!;
    });
    modelMap.set(m.id, target);
    result.modelsCopied++;
    result.chunksCopied += copiedNow;
    result.chunksPresent += presentNow;
    opts.onProgress?.({ event: 'copied', model: ref, chunksCopied: copiedNow, chunksPresent: presentNow });
  }

  // Delta bases last: a model's base may have been imported after it (a half-precision copy rebased on its later float32 source).
  for (const m of models) {
    const t = modelMap.get(m.id)!;
    const base = m.baseModelId === null ? null : modelMap.get(m.baseModelId)?.id ?? null;
    if (t.baseModelId !== base) {
      await dst.transaction(() => dst.updateModelAccounting(t.id, {
        newRawBytes: t.newRawBytes, newStoredBytes: t.newStoredBytes, deltaRawBytes: t.deltaRawBytes, deltaStoredBytes: t.deltaStoredBytes, baseModelId: base,
      }));
    }
  }

  // Serving configurations go with their models (a target's own, for a model it had already, are kept).
  const have = new Set((await dst.listServingConfigs()).map((c) => `${c.version}:${c.name}`));
  for (const c of await src.listServingConfigs()) {
    if (!have.has(`${c.version}:${c.name}`)) await dst.transaction(() => dst.putServingConfig(c.name, c.version, c.configJson));
  }

  // Every file, rebuilt from the target alone, against the digest recorded at import.
  for (const m of models) {
    const t = modelMap.get(m.id)!;
    const ref = formatModelRef(m.name, m.version);
    for (const f of await dst.listFiles(t.id)) {
      try {
        // A whole-file read checks the digest recorded at import.
        for await (const block of target.files.read(f)) void block;
      } catch (e) {
        if (e instanceof DamagedFileError) throw new Error(`${dst.location}: ${ref} ${e.message}`, { cause: e });
        throw e;
      }
      result.filesVerified++;
      result.bytesVerified += f.size;
      opts.onProgress?.({ event: 'verified', model: ref, file: f.path });
    }
  }
  return result;
}

function sameFiles(a: FileRow[], b: FileRow[]): boolean {
  if (a.length !== b.length) return false;
  const byPath = new Map(b.map((f) => [f.path, f]));
  return a.every((f) => {
    const o = byPath.get(f.path);
    return o !== undefined && o.size === f.size && o.sha256.equals(f.sha256);
  });
}
