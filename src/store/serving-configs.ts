import type { Backend, ServingConfigRow } from '../backends/backend.js';
import { invalid, notFound } from '../errors.js';
import {
  ServingConfigError, SERVING_CONFIG_KEYS, configProblem, effectiveConfig, parseServingConfigPatch,
} from '../wire/serving-config.js';
import type { ServingConfig, ServingConfigPatch, ServingConfigView } from '../wire/serving-config.js';
import type { ModelRef } from './model-ref.js';

export type { ServingConfigView };

/** The lock key of a model's serving configuration: its changes, and the removal of its versions, take turns (PostgreSQL). */
export const servingConfigLock = (name: string): string => `serving_config:${name}`;

/** A change to one level: keys to set, keys to remove, or everything removed first (reset). */
export interface ServingConfigChange {
  set: ServingConfigPatch;
  unset?: (keyof ServingConfig)[];
  reset?: boolean;
}

/** A stored level's keys; a row that no longer reads (hand-edited) counts as empty rather than stopping the server. */
export function patchOfRow(row: ServingConfigRow | undefined): ServingConfigPatch {
  if (!row) return {};
  try {
    return parseServingConfigPatch(JSON.parse(row.configJson), row.version !== 0).set;
  } catch {
    return {};
  }
}

/** The stored levels by name, then version (0: the model's). */
export function indexConfigs(rows: readonly ServingConfigRow[]): Map<string, Map<number, ServingConfigPatch>> {
  const out = new Map<string, Map<number, ServingConfigPatch>>();
  for (const r of rows) {
    let m = out.get(r.name);
    if (!m) out.set(r.name, (m = new Map()));
    m.set(r.version, patchOfRow(r));
  }
  return out;
}

function view(name: string, version: number | undefined, levels: Map<number, ServingConfigPatch> | undefined): ServingConfigView {
  const model = levels?.get(0) ?? {};
  const own = version !== undefined ? levels?.get(version) ?? {} : undefined;
  const effective = effectiveConfig(model, own);
  const problem = configProblem(effective);
  return { name, ...(version !== undefined ? { version, own } : {}), model, effective, ...(problem ? { problem } : {}) };
}

/** The configuration of a model (ref without version) or of one version; the model must be stored. */
export async function readServingConfig(db: Backend, ref: ModelRef): Promise<ServingConfigView> {
  await checkStored(db, ref);
  const levels = indexConfigs(await db.listServingConfigs(ref.name)).get(ref.name);
  return view(ref.name, ref.version, levels);
}

async function checkStored(db: Backend, ref: ModelRef): Promise<void> {
  if (await db.findModel(ref.name, ref.version)) return;
  if (ref.version !== undefined && (await db.findModel(ref.name))) throw notFound(`no model ${ref.name}:${ref.version} in the store`);
  throw notFound(`no model named "${ref.name}" in the store`);
}

/**
 * Changes one level of a model's configuration, in one transaction: the
 * result must hold together for the model and for every version with keys
 * of its own (e.g. preferred batch sizes within the max batch size).
 */
export async function changeServingConfig(db: Backend, ref: ModelRef, change: ServingConfigChange): Promise<ServingConfigView> {
  if (ref.version !== undefined && change.set.version_policy !== undefined) {
    throw invalid('version_policy applies to the model (every version): set it without a version');
  }
  return db.transaction(async () => {
    await db.lockKey(servingConfigLock(ref.name));
    await checkStored(db, ref);
    const rows = await db.listServingConfigs(ref.name);
    const levels = indexConfigs(rows).get(ref.name) ?? new Map<number, ServingConfigPatch>();
    const level = ref.version ?? 0;
    const next: ServingConfigPatch = change.reset ? {} : { ...levels.get(level) };
    for (const k of change.unset ?? []) delete next[k];
    Object.assign(next, change.set);
    levels.set(level, next);
    for (const [v, own] of levels) {
      const merged = effectiveConfig(levels.get(0), v === 0 ? undefined : own);
      const problem = configProblem(merged);
      if (problem) throw invalid(`serving configuration of ${v === 0 ? ref.name : `${ref.name}:${v}`}: ${problem}`);
    }
    // Keys in a fixed order: the stored JSON reads the same whichever order they were set in.
    const ordered = Object.fromEntries(SERVING_CONFIG_KEYS.filter((k) => next[k] !== undefined).map((k) => [k, next[k]]));
    await db.putServingConfig(ref.name, level, Object.keys(ordered).length ? JSON.stringify(ordered) : null);
    return view(ref.name, ref.version, levels);
  });
}

/** A patch from JSON (a request body, a file), its errors as the store's "invalid". */
export function parsePatchOrInvalid(v: unknown, forVersion: boolean): { set: ServingConfigPatch; unset: (keyof ServingConfig)[] } {
  try {
    return parseServingConfigPatch(v, forVersion);
  } catch (e) {
    if (e instanceof ServingConfigError) throw invalid(`serving configuration: ${e.message}`);
    throw e;
  }
}
