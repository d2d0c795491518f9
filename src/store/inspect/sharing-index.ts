import type { Backend, SharingRow } from '../../backends/backend.js';
import { SETTING_SHARING_INDEX } from '../format.js';

/**
 * What models share, kept in the store (table model_sharing, FORMAT.md) and
 * brought up to date by each import and removal, so that no reader has to
 * gather every model's chunk list (fine for 20 models, not for 100,000).
 *
 * Each model keeps a row with itself (its distinct raw bytes) and one with
 * each of the SHARING_TOP models it shares the most bytes with. An import
 * computes its model's list from its own chunks, looking at the first
 * HOLDERS_PER_CHUNK files holding each (the lowest file ids: a family's
 * first models, which hold what its later ones share), then enters the model
 * into its closest partners' lists where it ranks. A removal drops the model's rows and
 * recomputes the lists that named it. Every step costs what the model's own
 * chunks cost, whatever the size of the store: a chunk that all 100,000
 * models hold (a shared header) costs what one two models hold costs. The
 * price: a partner is seen only through chunks where it is among the first
 * holders, so in a family bigger than that a later member's list names the
 * family's first members, and the bytes it shares with a later sibling may
 * count only the chunks few others hold.
 *
 * Two imports of different names committing at the same moment on
 * PostgreSQL may each miss the other (each computes before the other
 * commits; imports of one name take turns, names.ts modelWriteLock);
 * `tessera sharing --rebuild` recomputes every list.
 */

/** Partners kept per model. */
export const SHARING_TOP = 16;
/** Partners (the closest first) whose lists a new model may enter. */
const PARTNERS_ASKED = 2 * SHARING_TOP;
/** Files holding a chunk (the lowest ids) that an import looks at for partners. */
export const HOLDERS_PER_CHUNK = 32;
/** References (file chunk rows) beyond which `show` does not attribute a chunk to the models holding it. */
export const COMMON_CHUNK_REFS = 1000;
/** Share of the smaller model's distinct bytes that makes two models one family. */
export const FAMILY_SHARE = 0.5;

const byBytes = (a: SharingRow, b: SharingRow): number => b.bytes - a.bytes || a.modelId - b.modelId;

/** The kept rows of a model from its overlaps: its own row first, then its top partners. */
function keptRows(modelId: number, own: SharingRow, others: SharingRow[]): SharingRow[] {
  return [{ ...own, modelId }, ...[...others].sort(byBytes).slice(0, SHARING_TOP)];
}

/**
 * Keeps what a model just stored (inside its import's transaction) shares:
 * its own list, its place in its partners' lists, and its family.
 */
export async function recordSharing(db: Backend, modelId: number, previousId?: number): Promise<void> {
  const { own, others, mine } = await keepOwn(db, modelId);
  // Enter this model into each partner's list where it ranks. A new model's id is the highest, so
  // on equal bytes it ranks last: it enters a full list only by sharing more than the list's weakest.
  // Only its closest partners are asked: the list of a model further away is unlikely to take it.
  const closest = others.slice(0, PARTNERS_ASKED);
  const stats = await db.sharingListStats(closest.map((o) => o.modelId));
  const add: { modelId: number; row: SharingRow }[] = [];
  const displacing: number[] = [];
  for (const o of closest) {
    const s = stats.get(o.modelId);
    const row = { modelId, bytes: o.bytes, chunks: o.chunks };
    if (!s || s.others < SHARING_TOP) add.push({ modelId: o.modelId, row });
    else if (o.bytes > s.weakest!) {
      add.push({ modelId: o.modelId, row });
      displacing.push(o.modelId);
    }
  }
  // Those lists drop their weakest row (the last by byBytes: fewest bytes, then highest id).
  const drop: { modelId: number; otherId: number }[] = [];
  for (const [id, rows] of await db.sharingLists(displacing)) {
    const theirs = rows.filter((r) => r.modelId !== id).sort(byBytes);
    if (theirs.length >= SHARING_TOP) drop.push({ modelId: id, otherId: theirs[theirs.length - 1]!.modelId });
  }
  await db.changeSharingRows(add, drop);
  await db.setFamily(modelId, await familyFor(db, modelId, own, mine.slice(1), stats, previousId));
}

/** Computes and keeps a model's own list (its rows only): its overlaps, largest first, and the rows kept. */
async function keepOwn(db: Backend, modelId: number): Promise<{ own: SharingRow; others: SharingRow[]; mine: SharingRow[] }> {
  const { own, others } = await db.modelOverlaps(modelId, HOLDERS_PER_CHUNK);
  others.sort(byBytes);
  const mine = keptRows(modelId, own, others);
  await db.replaceSharing(modelId, mine);
  return { own, others, mine };
}

/**
 * The family a new model joins: its previous version's, else its delta
 * base's, else that of the model it shares most with when they share at
 * least FAMILY_SHARE of the smaller one; else it starts its own.
 */
async function familyFor(db: Backend, modelId: number, own: SharingRow, top: SharingRow[],
  stats: Map<number, { own: number | null }>, previousId?: number): Promise<number> {
  const model = await db.getModel(modelId);
  const kin = [previousId, model?.baseModelId ?? undefined].filter((id): id is number => id !== undefined);
  const partner = top.find((p) => p.bytes >= FAMILY_SHARE * Math.max(1, Math.min(own.bytes, stats.get(p.modelId)?.own ?? 0)));
  if (partner) kin.push(partner.modelId);
  if (kin.length === 0) return modelId;
  const families = await db.families(kin);
  for (const id of kin) {
    const f = families.get(id);
    if (f !== undefined) return f ?? id;
  }
  return modelId;
}

/**
 * Removes a model (inside the caller's transaction) and mends the lists
 * that named it: a list that lost a partner takes the next one in.
 */
export async function removeWithSharing(db: Backend, modelId: number): Promise<void> {
  const referrers = await db.sharingReferrers(modelId);
  await db.deleteModel(modelId);
  for (const id of referrers) await keepOwn(db, id);
}

/**
 * Builds every model's list when the store has models but no complete index
 * (made before schema 9, or `rebuild`), in one transaction: models in
 * import order, each as if it had just been imported.
 */
export async function ensureSharingIndex(db: Backend, rebuild = false): Promise<void> {
  if (!rebuild && (await db.getSetting(SETTING_SHARING_INDEX)) !== undefined) return;
  await db.transaction(async () => {
    if (!rebuild && (await db.getSetting(SETTING_SHARING_INDEX)) !== undefined) return;
    // Every model present: each list is its own top partners among them all, no entering needed.
    // Families in import order, each as its import would have chosen (from the lists kept so far).
    const models = (await db.listModels()).sort((a, b) => a.id - b.id);
    const latestBefore = new Map<string, number>();
    for (const m of models) await keepOwn(db, m.id);
    for (const m of models) {
      const lists = await db.sharingLists([m.id]);
      const mine = lists.get(m.id) ?? [];
      const own = mine.find((r) => r.modelId === m.id) ?? { modelId: m.id, bytes: 0, chunks: 0 };
      const top = mine.filter((r) => r.modelId !== m.id && r.modelId < m.id);
      await db.setFamily(m.id, await familyFor(db, m.id, own, top, await db.sharingListStats(top.map((r) => r.modelId)), latestBefore.get(m.name)));
      latestBefore.set(m.name, m.id);
    }
    await db.setSetting(SETTING_SHARING_INDEX, '1');
  });
}
