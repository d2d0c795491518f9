import type { Backend, ChunkInfo, FileRow, ModelRow, SegmentRow, SharingRow } from '../../backends/backend.js';
import { clusterOrder } from './cluster-order.js';
import { refsById } from '../model-ref.js';
import { chunkInfos } from '../maintain/verify.js';
import type { SharedPair, SharedTensors, SharingMatrix, SharingModel, TensorSharing } from '../../wire/sharing-json.js';
import { SEG_TENSOR } from '../format.js';
import { filesByModel } from '../files.js';
import { formatModelRef } from '../model-ref.js';
import { COMMON_CHUNK_REFS, ensureSharingIndex } from './sharing-index.js';

/** The sharing JSON (`tessera sharing --json`, show's tensors) is declared in src/wire, shared with the dashboard. */
export type { SharedPair, SharedTensors, SharingMatrix, SharingModel, TensorSharing };

/** One file of a model: its segments, and its tensors with what they share. */
export interface FileSharing {
  file: FileRow;
  segments: SegmentRow[];
  tensors: TensorSharing[];
}

export const NAMES_PER_PAIR = 8;
/** Similarity given to a model and its delta base (as if they shared half their bytes). */
const DELTA_KIN = 0.5;

/** For each chunk ordinal of a file, the tensor it belongs to (null: header or other literal bytes). */
function tensorAt(segments: SegmentRow[], chunks: number): (string | null)[] {
  const out = new Array<string | null>(chunks).fill(null);
  for (const s of segments) {
    if (s.kind !== SEG_TENSOR) continue;
    for (let k = s.firstChunk; k < s.firstChunk + s.chunkCount && k < chunks; k++) out[k] = s.tensorName ?? '';
  }
  return out;
}

/** Models (or, in a bigger store, families) the heatmap shows at most. */
export const HEATMAP_MODELS = 48;
/** Members of a family whose kept rows the family heatmap reads (the oldest: the family's core). */
const FAMILY_SAMPLE = 64;

/** A model's files as chunk ids with the tensor over each, read once per model however many pairs ask. */
type ChunkLists = (id: number) => Promise<{ ids: number[]; names: (string | null)[] }[]>;

function chunkLists(backend: Backend, files: Map<number, FileRow[]>): ChunkLists {
  const cache = new Map<number, Promise<{ ids: number[]; names: (string | null)[] }[]>>();
  return (id) => {
    let p = cache.get(id);
    if (!p) {
      p = Promise.all((files.get(id) ?? []).map(async (f) => {
        const ids = await backend.fileChunkIds(f.id);
        return { ids, names: tensorAt(await backend.listSegments(f.id), ids.length) };
      }));
      cache.set(id, p);
    }
    return p;
  };
}

/** Tensor names of model `a` over the chunks it shares with `b`. */
async function sharedTensorNames(lists: ChunkLists, a: number, b: number): Promise<Set<string>> {
  const theirs = new Set((await lists(b)).flatMap((f) => f.ids));
  const out = new Set<string>();
  for (const f of await lists(a)) f.ids.forEach((id, k) => { if (theirs.has(id) && f.names[k]) out.add(f.names[k]!); });
  return out;
}

/** Shared bytes of i and j by the kept rows (either direction; both are the same figure); i = j: the model's own distinct bytes. */
function pairBytes(lists: Map<number, SharingRow[]>, i: number, j: number): number {
  return lists.get(i)?.find((r) => r.modelId === j)?.bytes ?? lists.get(j)?.find((r) => r.modelId === i)?.bytes ?? 0;
}

/**
 * What the models share, from the kept index (sharing-index.ts): every
 * model × model when the store holds at most HEATMAP_MODELS, else its
 * HEATMAP_MODELS largest families × families (each cell the most two of
 * their members share), ordered so that kin sit together.
 */
export async function sharingMatrix(backend: Backend): Promise<SharingMatrix> {
  await ensureSharingIndex(backend);
  const totalModels = await backend.countModelsMatching({});
  if (totalModels > HEATMAP_MODELS) return familyMatrix(backend, totalModels);
  const rows: ModelRow[] = await backend.listModels();
  const refs = refsById(rows);
  const lists = await backend.sharingLists(rows.map((m) => m.id));
  const chunks = chunkLists(backend, await filesByModel(backend));
  const n = rows.length;
  const bytes = rows.map((a) => rows.map((b) => pairBytes(lists, a.id, b.id)));
  const names = await Promise.all(rows.map((a, i) => Promise.all(rows.map(async (b, j) => (i === j || bytes[i]![j]! === 0
    ? new Set<string>() : sharedTensorNames(chunks, a.id, b.id))))));
  const models: SharingModel[] = rows.map((m, i) => ({
    ref: refs.get(m.id)!, name: m.name, version: m.version, format: m.format, logicalBytes: m.logicalBytes,
    distinctBytes: bytes[i]![i]!, base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null,
  }));
  const index = new Map(rows.map((m, i) => [m.id, i]));
  const kin = (i: number, j: number): boolean => index.get(rows[i]!.baseModelId ?? -1) === j || index.get(rows[j]!.baseModelId ?? -1) === i;
  return {
    grouping: 'models', totalModels: n, models,
    order: clusterOrder(similarities(bytes, kin), models.map((m) => m.ref)),
    bytes,
    tensors: names.map((row) => row.map((set) => ({ names: [...set].sort().slice(0, NAMES_PER_PAIR), count: set.size }))),
  };
}

/**
 * Similarity: the share of the smaller one that the pair has in common; a
 * model stored as deltas against another is kin to it even when they share
 * no chunk (a fine-tune, a bf16 copy).
 */
function similarities(bytes: number[][], kin: (i: number, j: number) => boolean): number[][] {
  return bytes.map((row, i) => row.map((b, j) => (i === j ? 1
    : Math.max(b / Math.max(1, Math.min(bytes[i]![i]!, bytes[j]![j]!)), kin(i, j) ? DELTA_KIN : 0))));
}

/** The largest families × families: each family shown as its first model, with its member count. */
async function familyMatrix(backend: Backend, totalModels: number): Promise<SharingMatrix> {
  const families = await backend.largestFamilies(HEATMAP_MODELS);
  const members = await backend.familyMembers(families.map((f) => f.familyId));
  const sampled = families.map((f) => (members.get(f.familyId) ?? []).slice(0, FAMILY_SAMPLE));
  const firsts = await backend.getModels(sampled.map((m) => m[0]!).filter((id) => id !== undefined));
  const byId = new Map(firsts.map((m) => [m.id, m]));
  const familyOf = new Map<number, number>();
  sampled.forEach((ids, f) => ids.forEach((id) => familyOf.set(id, f)));
  const lists = await backend.sharingLists([...familyOf.keys()]);
  const n = families.length;
  const bytes = families.map(() => new Array<number>(n).fill(0));
  const baseFamily = new Array<number | undefined>(n);
  for (const [id, rows] of lists) {
    const f = familyOf.get(id)!;
    for (const r of rows) {
      const g = r.modelId === id ? f : familyOf.get(r.modelId);
      if (g === undefined) continue;
      bytes[f]![g] = Math.max(bytes[f]![g]!, r.bytes);
      bytes[g]![f] = Math.max(bytes[g]![f]!, r.bytes);
    }
  }
  const models: SharingModel[] = families.map((fam, f) => {
    const m = byId.get(sampled[f]![0]!)!;
    baseFamily[f] = m.baseModelId === null ? undefined : familyOf.get(m.baseModelId);
    return {
      ref: formatModelRef(m.name, m.version), name: m.name, version: m.version, format: m.format, logicalBytes: m.logicalBytes,
      distinctBytes: bytes[f]![f]!, base: null, members: fam.members,
    };
  });
  return {
    grouping: 'families', totalModels, models,
    order: clusterOrder(similarities(bytes, (i, j) => baseFamily[i] === j || baseFamily[j] === i), models.map((m) => m.ref)),
    bytes,
    tensors: models.map(() => models.map(() => ({ names: [], count: 0 }))),
  };
}

/** The `limit` pairs of models that share the most bytes (`tessera sharing`), with the tensors of the first over them. */
export async function topSharedPairs(backend: Backend, limit: number): Promise<SharedPair[]> {
  await ensureSharingIndex(backend);
  const seen = new Set<string>();
  const pairs: { a: number; b: number; bytes: number; chunks: number }[] = [];
  // Each pair may be kept in both directions: twice the rows give `limit` pairs.
  for (const r of await backend.topSharing(2 * limit)) {
    const key = r.modelId < r.otherId ? `${r.modelId}:${r.otherId}` : `${r.otherId}:${r.modelId}`;
    if (seen.has(key) || pairs.length >= limit) continue;
    seen.add(key);
    pairs.push({ a: Math.min(r.modelId, r.otherId), b: Math.max(r.modelId, r.otherId), bytes: r.bytes, chunks: r.chunks });
  }
  const ids = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const models = new Map((await backend.getModels(ids)).map((m) => [m.id, m]));
  const own = await backend.sharingLists(ids);
  const files = new Map<number, FileRow[]>();
  for (const f of await backend.filesOfModels(ids)) (files.get(f.modelId) ?? files.set(f.modelId, []).get(f.modelId)!).push(f);
  const chunks = chunkLists(backend, files);
  const distinct = (id: number): number => pairBytes(own, id, id);
  return Promise.all(pairs.map(async (p) => {
    const names = await sharedTensorNames(chunks, p.a, p.b);
    const a = models.get(p.a)!;
    const b = models.get(p.b)!;
    return {
      a: formatModelRef(a.name, a.version), b: formatModelRef(b.name, b.version), bytes: p.bytes, chunks: p.chunks,
      smallerBytes: Math.min(distinct(p.a), distinct(p.b)),
      tensors: { names: [...names].sort().slice(0, NAMES_PER_PAIR), count: names.size },
    };
  }));
}

/**
 * Per file of a model, per tensor: its size, the bytes only it holds, and
 * what each other model holds of it. Chunks more than COMMON_CHUNK_REFS file
 * chunk rows hold (zero blocks) count as shared but are not attributed to
 * models: listing their holders would cost what the store's size costs.
 */
export async function tensorSharing(backend: Backend, model: ModelRow, files: FileRow[]): Promise<FileSharing[]> {
  const perFile: { file: FileRow; ids: number[]; segments: SegmentRow[] }[] = [];
  const all = new Set<number>();
  for (const file of files) {
    const ids = await backend.fileChunkIds(file.id);
    perFile.push({ file, ids, segments: await backend.listSegments(file.id) });
    for (const id of ids) all.add(id);
  }
  const common = await backend.commonChunks([...all], COMMON_CHUNK_REFS);
  const others = new Map<number, Set<number>>();
  for (const id of common) others.set(id, new Set());
  for (const r of await backend.chunkModels([...all].filter((id) => !common.has(id)))) {
    if (r.modelId !== model.id) (others.get(r.chunkId) ?? others.set(r.chunkId, new Set()).get(r.chunkId)!).add(r.modelId);
  }
  const refs = refsById(await backend.getModels([...new Set([...others.values()].flatMap((s) => [...s]))]));
  const sizes: Map<number, ChunkInfo> = await chunkInfos(backend, [...all]);
  return perFile.map(({ file, ids, segments }) => ({
    file, segments,
    tensors: segments.filter((s) => s.kind === SEG_TENSOR).map((s) => {
      const chunks = new Set(ids.slice(s.firstChunk, s.firstChunk + s.chunkCount));
      let unique = 0;
      const shared = new Map<number, number>();
      for (const id of chunks) {
        const size = sizes.get(id)?.rawSize ?? 0;
        const users = others.get(id);
        if (!users) unique += size;
        else for (const m of users) shared.set(m, (shared.get(m) ?? 0) + size);
      }
      return {
        file: file.path, name: s.tensorName ?? '', dtype: s.dtype ?? '', shape: s.shape ?? [], bytes: s.length, chunks: s.chunkCount,
        uniqueBytes: unique,
        sharedWith: [...shared].map(([m, b]) => ({ model: refs.get(m) ?? String(m), bytes: b })).sort((a, b) => b.bytes - a.bytes || (a.model < b.model ? -1 : 1)),
      };
    }),
  }));
}
