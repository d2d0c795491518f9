import type { Backend, ChunkInfo, TensorRow } from '../../backends/backend.js';
import { sameShape } from './encoder.js';
import type { ModelTensors, TensorShape } from './encoder.js';
import { codecUsesBase, codecUsesCastSource, encodeChunk } from '../../codec/index.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import { MAX_DELTA_DEPTH } from '../format.js';

/** Half-precision copies of one tensor considered (newest first). */
const HALF_COPIES = 8;
/** Half-precision tensors whose probes are fetched together (at most 3 chunks each: the probe and its F32 source). */
const PROBE_GROUP = 64;

export interface RebaseResult {
  chunks: number;
  /** Payload bytes saved. */
  savedBytes: number;
}

/**
 * When a float32 model arrives after a half-precision copy of it (hubs ship
 * both, in any order), the copy's chunks were stored on their own. This
 * re-encodes them as cast deltas against the new F32 chunks when that is
 * smaller, so the store ends up the same size whichever came first. A chunk
 * already cast against another F32 model is rewritten when the new one
 * predicts it better (a bf16 copy of checkpoint 3 first meets checkpoint 1).
 * A chunk's raw bytes, hence its id, never change; F32 chunks never depend on
 * half-precision ones, so no cycle can form; a chunk other deltas depend on is
 * rewritten only if its depth does not grow, so their depths stay true.
 */
export async function rebaseHalfCopies(
  backend: Backend, reader: ChunkReader, modelId: number, chunkSize: number, probe: TensorShape | undefined, tensorsOf: ModelTensors,
): Promise<RebaseResult> {
  const result: RebaseResult = { chunks: 0, savedBytes: 0 };
  if (chunkSize % 2 !== 0 || !probe) return result;
  const alike = (t: TensorRow): boolean => t.chunkCount === Math.ceil(t.length / chunkSize);
  // The new model's largest F32 tensor asks first, by name, shape and dtype
  // (index walks, a bounded number each): a store without a half copy of it
  // (nearly always) costs two lookups.
  const found = (await Promise.all(['F16', 'BF16'].map((dtype) => backend.tensorsLike(probe.name, probe.shape, dtype, HALF_COPIES)))).flat();
  const halfModels = new Set(found.filter((h) => h.modelId !== modelId && alike(h)).map((h) => h.modelId));
  if (halfModels.size === 0) return result;
  // The new model's own, read now that they are stored (not through tensorsOf, which may have kept an earlier answer).
  const f32 = (await backend.modelTensors(modelId)).filter((t) => t.dtype === 'F32' && alike(t));
  const byName = new Map(f32.map((t) => [t.name, t]));
  // The copies: the half-precision tensors of the models holding one of the probe, matched by name and shape.
  const halves: TensorRow[] = [];
  for (const list of await Promise.all([...halfModels].map((m) => tensorsOf(m)))) {
    for (const h of list) {
      const t = byName.get(h.name);
      if ((h.dtype === 'F16' || h.dtype === 'BF16') && t !== undefined && sameShape(t.shape, h.shape) && alike(h)) halves.push(h);
    }
  }
  const fileIds = new Map<number, number[]>();
  const idsOf = async (t: TensorRow): Promise<number[]> => {
    let ids = fileIds.get(t.fileId);
    if (!ids) fileIds.set(t.fileId, (ids = await backend.fileChunkIds(t.fileId)));
    return ids.slice(t.firstChunk, t.firstChunk + t.chunkCount);
  };
  const done = new Set<number>();
  // Most candidates are no better (another checkpoint of the same names, the
  // same source again): one probe piece decides before the whole tensor is decoded.
  const probeAt = (infos: ChunkInfo[]): number => infos.findIndex((info) => !done.has(info.id) && mayRewrite(info) && info.storedSize > info.rawSize / 64);
  // The chunk rows of PROBE_GROUP halves at a time, and the bytes their probes read, are fetched
  // together (a query per tensor is a round trip each on PostgreSQL); the group bounds what is held.
  const infoOf = new Map<number, ChunkInfo>();
  const probed = new Map<number, Buffer>();
  const prefetch = async (group: TensorRow[]): Promise<void> => {
    infoOf.clear();
    probed.clear();
    const ids: number[] = [];
    for (const h of group) {
      ids.push(...(await idsOf(h)));
      await idsOf(byName.get(h.name)!);
    }
    for (const info of await backend.chunkInfo([...new Set(ids)])) infoOf.set(info.id, info);
    const want: number[] = [];
    for (const h of group) {
      const infos = (await idsOf(h)).map((id) => infoOf.get(id)!);
      const probe = probeAt(infos);
      const baseIds = probe < 0 ? [] : (await idsOf(byName.get(h.name)!)).slice(2 * probe, 2 * probe + 2);
      if (baseIds.length > 0 && !baseIds.some((b) => infos[probe]!.bases.includes(b))) want.push(infos[probe]!.id, ...baseIds);
    }
    const wanted = [...new Set(want)];
    (await reader.read(wanted)).forEach((b, i) => probed.set(wanted[i]!, b));
  };
  // A probe whose chunks were not fetched (a chunk rewritten meanwhile moved it) reads them now.
  const read = async (ids: number[]): Promise<Buffer[]> => (ids.every((id) => probed.has(id)) ? ids.map((id) => probed.get(id)!) : reader.read(ids));
  for (const [k, h] of halves.entries()) {
    if (k % PROBE_GROUP === 0) await prefetch(halves.slice(k, k + PROBE_GROUP));
    const src = await idsOf(byName.get(h.name)!);
    const ids = await idsOf(h);
    const infos = ids.map((id) => infoOf.get(id)!);
    const probe = probeAt(infos);
    if (probe < 0 || !(await improves(read, h.dtype, infos[probe]!, src.slice(2 * probe, 2 * probe + 2)))) continue;
    let saved = 0;
    let raw = 0;
    let stored = 0;
    for (let i = 0; i < ids.length; i++) {
      const info = infos[i]!;
      if (done.has(info.id) || !mayRewrite(info)) continue;
      const baseIds = src.slice(2 * i, 2 * i + 2);
      if (baseIds.length === 0 || baseIds.some((b) => info.bases.includes(b))) continue;
      const baseInfo = await backend.chunkInfo(baseIds);
      const depth = 1 + Math.max(...baseInfo.map((b) => b.depth));
      if (depth > MAX_DELTA_DEPTH || (depth > info.depth && (await backend.hasDependents(info.id)))) continue;
      const rawBytes = (await reader.read([info.id]))[0]!;
      const parts = await reader.read(baseIds);
      const enc = encodeChunk({ raw: rawBytes, dtype: h.dtype, castSource: { dtype: 'F32', raw: parts.length === 1 ? parts[0]! : Buffer.concat(parts) } });
      if (!enc.usesCastSource || enc.payload.length >= info.storedSize) continue;
      await backend.rewriteChunk(info.id, { codec: enc.codec, data: enc.payload, storedSize: enc.payload.length, depth, bases: baseIds });
      done.add(info.id);
      saved += info.storedSize - enc.payload.length;
      // Bytes already counted as delta move to the new delta; others become delta.
      if (info.bases.length === 0) {
        raw += info.rawSize;
        stored += enc.payload.length;
      } else {
        stored -= info.storedSize - enc.payload.length;
      }
    }
    if (saved > 0) {
      // The copy's own accounting moves the bytes from "compressed" to "delta".
      await backend.adjustModelAccounting(h.modelId, { newStoredBytes: -saved, deltaRawBytes: raw, deltaStoredBytes: stored, baseModelId: modelId });
      result.chunks += ids.length;
      result.savedBytes += saved;
    }
  }
  return result;
}

/** Self-contained chunks and cast deltas may be re-cast; XOR/integer deltas are left alone. */
function mayRewrite(info: ChunkInfo): boolean {
  return !codecUsesBase(info.codec) && (info.bases.length === 0 || codecUsesCastSource(info.codec));
}

/** Whether casting from these F32 chunks stores the chunk in fewer bytes than now. */
async function improves(read: (ids: number[]) => Promise<Buffer[]>, dtype: string, info: ChunkInfo, baseIds: number[]): Promise<boolean> {
  if (baseIds.length === 0 || baseIds.some((b) => info.bases.includes(b))) return false;
  const [raw] = await read([info.id]);
  const parts = await read(baseIds);
  const enc = encodeChunk({ raw: raw!, dtype, castSource: { dtype: 'F32', raw: parts.length === 1 ? parts[0]! : Buffer.concat(parts) } });
  return enc.usesCastSource && enc.payload.length < info.storedSize;
}
