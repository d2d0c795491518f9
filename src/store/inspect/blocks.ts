/**
 * A model's float tensors as blocks (tensor-aligned chunks), for approximate
 * deduplication (src/approx): the blocks of one model, the stored blocks of
 * the models related to it, and what each of the model's blocks costs. A
 * block is the store's chunk on purpose: a block replaced by a stored one
 * becomes that chunk exactly, so the lossy version needs no bytes for it.
 */
import type { Backend } from '../../backends/backend.js';
import type { ChunkReader } from '../read/chunk-reader.js';

/** Tensor dtypes whose blocks approx compares and replaces. */
export const BLOCK_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16']);

export interface StoredBlock {
  /** The stored model the block belongs to. */
  modelId: number;
  tensor: string;
  dtype: string;
  /** Offset of the block from its tensor's first byte. */
  tensorOffset: number;
  rawSize: number;
  chunkId: number;
}

/** A block of a model's file: where it sits in the file too. */
export interface FileBlock extends StoredBlock {
  fileId: number;
  fileOffset: number;
}

/** How many same-named tensors are asked for per tensor of the model when looking for related models (an index walk each). */
const RELATED_PER_TENSOR = 64;

/** A tensor as blocks are cut from it: where its chunks are in its file's list, and where it starts in the file. */
interface BlockTensor {
  modelId: number;
  fileId: number;
  name: string;
  dtype: string;
  length: number;
  firstChunk: number;
  chunkCount: number;
  fileOffset: number;
}

/**
 * The blocks of the given tensors, in tensor and offset order. A tensor off
 * the store's chunk grid (a TF.js weight cut at a shard boundary: its chunks
 * are not chunkSize pieces from its first byte) gives none.
 */
async function blocksOf(db: Backend, tensors: BlockTensor[], chunkSize: number): Promise<FileBlock[]> {
  const chunkIds = await db.fileChunkIdsOf([...new Set(tensors.map((t) => t.fileId))]);
  const out: FileBlock[] = [];
  for (const t of tensors) {
    if (!BLOCK_DTYPES.has(t.dtype) || t.chunkCount !== Math.ceil(t.length / chunkSize)) continue;
    const ids = chunkIds.get(t.fileId) ?? [];
    for (let k = 0; k < t.chunkCount; k++) {
      const tensorOffset = k * chunkSize;
      out.push({
        modelId: t.modelId, fileId: t.fileId, tensor: t.name, dtype: t.dtype, tensorOffset,
        rawSize: Math.min(chunkSize, t.length - tensorOffset), chunkId: ids[t.firstChunk + k]!, fileOffset: t.fileOffset + tensorOffset,
      });
    }
  }
  return out;
}

/** The float blocks of one file of a model, with their offsets in the file: from its segments, each its own (names need not be unique). */
export async function fileBlocks(db: Backend, modelId: number, fileId: number, chunkSize: number): Promise<FileBlock[]> {
  const tensors: BlockTensor[] = [];
  for (const s of await db.listSegments(fileId)) {
    if (s.tensorName === null || s.dtype === null) continue;
    tensors.push({ modelId, fileId, name: s.tensorName, dtype: s.dtype, length: s.length, firstChunk: s.firstChunk, chunkCount: s.chunkCount, fileOffset: s.fileOffset });
  }
  return blocksOf(db, tensors, chunkSize);
}

/**
 * The float blocks of the stored models that share at least one tensor
 * (name, shape, dtype) with `tensors`, other than the models in `exclude`:
 * the model's family. Found through the tensor index, so the cost follows
 * the family's size, not the store's; at most `maxModels` models, newest first.
 */
export async function relatedBlocks(db: Backend, tensors: { name: string; shape: number[]; dtype: string }[], exclude: ReadonlySet<number>, chunkSize: number, maxModels: number): Promise<StoredBlock[]> {
  const related = new Set<number>();
  for (const t of tensors) {
    if (!BLOCK_DTYPES.has(t.dtype)) continue;
    for (const like of await db.tensorsLike(t.name, t.shape, t.dtype, RELATED_PER_TENSOR)) {
      if (!exclude.has(like.modelId)) related.add(like.modelId);
    }
  }
  const models = [...related].sort((a, b) => b - a).slice(0, maxModels);
  const out: StoredBlock[] = [];
  for (const id of models) out.push(...await blocksOf(db, (await db.modelTensors(id)).map((t) => ({ ...t, fileOffset: 0 })), chunkSize));
  return out;
}

/**
 * Per chunk of a model: how often the model holds it (in all its files: a
 * chunk another file holds too stays needed), and what replacing it would
 * free: its stored bytes when no model outside `owners` references it and
 * nothing decodes against it, else 0. `owners` is the model and its own lossy versions: a user keeps one
 * of them, so a lossy version made earlier (at another bound) does not make
 * the original's chunks look needed.
 */
export async function chunkCosts(db: Backend, owners: ReadonlySet<number>, modelId: number): Promise<Map<number, { uses: number; freed: number }>> {
  const files = await db.listFiles(modelId);
  const uses = new Map<number, number>();
  for (const ids of (await db.fileChunkIdsOf(files.map((f) => f.id))).values()) for (const id of ids) uses.set(id, (uses.get(id) ?? 0) + 1);
  const ids = [...uses.keys()];
  const shared = new Set((await db.chunkModels(ids)).filter((r) => !owners.has(r.modelId)).map((r) => r.chunkId));
  const bases = await db.chunksWithDependents(ids);
  return new Map((await db.chunkInfo(ids)).map((c) => [c.id, { uses: uses.get(c.id)!, freed: shared.has(c.id) || bases.has(c.id) ? 0 : c.storedSize }]));
}

/** Chunks decoded per query when sketching. */
const SKETCH_BATCH = 256;

/**
 * Each chunk's sketch under `scheme`: kept ones from the store, the others
 * computed by `compute` from the chunk's raw bytes and kept for the next run
 * (a family's blocks are decoded once, not at every approx). The cache is
 * best effort: a chunk gc removed meanwhile makes its write fail, and the
 * sketches are returned all the same.
 */
export async function chunkSketches(db: Backend, chunks: ChunkReader, ids: number[], scheme: number, compute: (raw: Buffer, chunkId: number) => Buffer): Promise<Map<number, Buffer>> {
  const out = await db.chunkSketches(ids, scheme);
  const missing = [...new Set(ids)].filter((id) => !out.has(id));
  for (let i = 0; i < missing.length; i += SKETCH_BATCH) {
    const batch = missing.slice(i, i + SKETCH_BATCH);
    const raws = await chunks.read(batch);
    const rows = batch.map((chunkId, k) => ({ chunkId, sketch: compute(raws[k]!, chunkId) }));
    for (const r of rows) out.set(r.chunkId, r.sketch);
    await db.transaction(() => db.putChunkSketches(rows, scheme)).catch(() => {});
  }
  return out;
}
