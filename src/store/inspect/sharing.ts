import type { Backend, ChunkInfo, FileRow, ModelRow, SegmentRow } from '../../backends/backend.js';
import { clusterOrder } from './cluster-order.js';
import { refsById } from '../model-ref.js';
import { chunkInfos } from '../maintain/verify.js';
import type { SharedTensors, SharingMatrix, SharingModel, TensorSharing } from '../../wire/sharing-json.js';
import { SEG_TENSOR } from '../format.js';
import { filesByModel } from '../files.js';

/** The sharing JSON (`tessera sharing --json`, show's tensors) is declared in src/wire, shared with the dashboard. */
export type { SharedTensors, SharingMatrix, SharingModel, TensorSharing };

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

export async function sharingMatrix(backend: Backend): Promise<SharingMatrix> {
  const rows: ModelRow[] = await backend.listModels();
  const refs = refsById(rows);
  // chunk id → model index → tensor names of that model over the chunk.
  const users = new Map<number, Map<number, Set<string>>>();
  const files = await filesByModel(backend);
  for (const [i, m] of rows.entries()) {
    for (const f of files.get(m.id) ?? []) {
      const ids = await backend.fileChunkIds(f.id);
      const names = tensorAt(await backend.listSegments(f.id), ids.length);
      ids.forEach((id, k) => {
        const byModel = users.get(id) ?? users.set(id, new Map()).get(id)!;
        const set = byModel.get(i) ?? byModel.set(i, new Set()).get(i)!;
        const name = names[k];
        if (name) set.add(name);
      });
    }
  }
  const sizes = await chunkInfos(backend, [...users.keys()]);
  const n = rows.length;
  const bytes = rows.map(() => new Array<number>(n).fill(0));
  const names = rows.map(() => rows.map(() => new Set<string>()));
  for (const [id, byModel] of users) {
    const size = sizes.get(id)?.rawSize ?? 0;
    for (const [i, mine] of byModel) {
      for (const j of byModel.keys()) {
        bytes[i]![j]! += size;
        if (i !== j) for (const t of mine) names[i]![j]!.add(t);
      }
    }
  }
  const models: SharingModel[] = rows.map((m, i) => ({
    ref: refs.get(m.id)!, name: m.name, version: m.version, format: m.format, logicalBytes: m.logicalBytes,
    distinctBytes: bytes[i]![i]!, base: m.baseModelId === null ? null : refs.get(m.baseModelId) ?? null,
  }));
  // Similarity: the share of the smaller model that the pair has in common; a model stored as
  // deltas against another is kin to it even when they share no chunk (a fine-tune, a bf16 copy).
  const index = new Map(rows.map((m, i) => [m.id, i]));
  const kin = (i: number, j: number): boolean => index.get(rows[i]!.baseModelId ?? -1) === j || index.get(rows[j]!.baseModelId ?? -1) === i;
  const similarity = bytes.map((row, i) => row.map((b, j) => (i === j ? 1
    : Math.max(b / Math.max(1, Math.min(bytes[i]![i]!, bytes[j]![j]!)), kin(i, j) ? DELTA_KIN : 0))));
  return {
    models,
    order: clusterOrder(similarity, models.map((m) => m.ref)),
    bytes,
    tensors: names.map((row) => row.map((set) => ({ names: [...set].sort().slice(0, NAMES_PER_PAIR), count: set.size }))),
  };
}

/** Per file of a model, per tensor: its size, the bytes only it holds, and what each other model holds of it (`refs`: every model's name:version, by id). */
export async function tensorSharing(backend: Backend, model: ModelRow, files: FileRow[], refs: Map<number, string>): Promise<FileSharing[]> {
  const perFile: { file: FileRow; ids: number[]; segments: SegmentRow[] }[] = [];
  const all = new Set<number>();
  for (const file of files) {
    const ids = await backend.fileChunkIds(file.id);
    perFile.push({ file, ids, segments: await backend.listSegments(file.id) });
    for (const id of ids) all.add(id);
  }
  const others = new Map<number, Set<number>>();
  for (const r of await backend.chunkModels([...all])) {
    if (r.modelId !== model.id) (others.get(r.chunkId) ?? others.set(r.chunkId, new Set()).get(r.chunkId)!).add(r.modelId);
  }
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
