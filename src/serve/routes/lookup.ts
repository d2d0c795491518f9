import { checkModelNameToFind } from '../../store/names.js';
import { unavailableMessage } from '../../store/store.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { invalid, notFound, unavailable } from '../../errors.js';
import { describePolicy } from '../../wire/serving-config.js';
import type { ModelState } from '../runtime/model-manager.js';


export function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw invalid(`invalid model version "${text}": expected a positive integer`);
  return Number(text);
}

/** A model name from a URL, to look up: any name a store may hold (names stored before the name policy too). */
export function checkName(name: string | undefined): string {
  if (name === undefined) throw invalid('no model name');
  return checkModelNameToFind(name);
}

/** A model version from the URL's name and optional version: 400 for a malformed one, 404 for an unknown one. */
export async function findVersion(ctx: ServeContext, nameText: string | undefined, versionText: string | undefined): Promise<CatalogVersion> {
  const name = checkName(nameText);
  const version = parseVersion(versionText);
  let v = ctx.catalog.find(name, version);
  if (!v) {
    // Another process may have imported it since the catalog was read.
    await ctx.catalog.refreshFor(name, version);
    v = ctx.catalog.find(name, version);
  }
  if (v) return v;
  if (!ctx.catalog.has(name)) throw notFound(`no model named "${name}"`);
  throw notFound(`model "${name}" has no version ${version}; it has ${ctx.catalog.versions(name).join(', ')}`);
}

/**
 * A version whose bytes may be served: 503 for one `tessera repair` marked
 * unavailable (some chunk is missing or fails its hash), never wrong bytes.
 */
export async function findServable(ctx: ServeContext, nameText: string | undefined, versionText: string | undefined): Promise<CatalogVersion> {
  const v = await findVersion(ctx, nameText, versionText);
  checkServable(ctx, v);
  return v;
}

/** Refuses (503) a version `tessera repair` marked unavailable. */
export function checkServable(ctx: ServeContext, v: CatalogVersion): void {
  const why = unavailableMessage(v.model);
  if (why === undefined) return;
  ctx.log('unavailable', `refused ${v.model.name}:${v.model.version}: marked unavailable (${v.model.unavailable})`);
  throw unavailable(why);
}

/** What a model's version policy serves, in words: "its version policy serves the latest version (version 2)". */
function policyServes(ctx: ServeContext, name: string): string {
  const served = ctx.catalog.served(name);
  const policy = describePolicy(ctx.catalog.config(name, 0).version_policy);
  return `its version policy serves ${policy} (${served.length ? `version ${served.join(', ')}` : 'none stored'})`;
}

/** Why a version is not served for inference (its model's version policy), or undefined when it is. */
export function notServed(ctx: ServeContext, v: CatalogVersion): string | undefined {
  if (ctx.catalog.served(v.model.name).includes(v.model.version)) return undefined;
  return `version ${v.model.version} of "${v.model.name}" is not served: ${policyServes(ctx, v.model.name)}`;
}

/**
 * The version an inference, metadata or readiness request names, among those
 * the model's version policy serves: no version means the latest served one.
 * 404 for a version the policy leaves out; 503 for one marked unavailable.
 */
export async function findInferable(ctx: ServeContext, nameText: string | undefined, versionText: string | undefined): Promise<CatalogVersion> {
  await ctx.catalog.refreshConfigsIfOlder();
  let v = await findVersion(ctx, nameText, versionText);
  if (versionText === undefined) {
    const latest = ctx.catalog.served(v.model.name).at(-1);
    if (latest === v.model.version) {
      checkServable(ctx, v);
      return v;
    }
    if (latest === undefined) throw notFound(`no version of "${v.model.name}" is served: ${policyServes(ctx, v.model.name)}`);
    v = ctx.catalog.find(v.model.name, latest)!;
  }
  const why = notServed(ctx, v);
  if (why !== undefined) throw notFound(why);
  checkServable(ctx, v);
  return v;
}

/** A version's state for the repository index and model lists: its policy first, then the runtime's view. */
export function modelState(ctx: ServeContext, v: CatalogVersion): { state: ModelState; reason: string } {
  const why = notServed(ctx, v);
  if (why !== undefined) return { state: 'UNAVAILABLE', reason: why };
  return ctx.inference.state(v);
}
