import type { Backend, FileRow } from '../backends/backend.js';

/** Every model's files, by model id, from one query (never a query per model). */
export async function filesByModel(db: Backend): Promise<Map<number, FileRow[]>> {
  const out = new Map<number, FileRow[]>();
  for (const f of await db.listAllFiles()) (out.get(f.modelId) ?? out.set(f.modelId, []).get(f.modelId)!).push(f);
  return out;
}
