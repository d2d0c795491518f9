import { checkModelNameToFind } from '../../store/names.js';
import { unavailableMessage } from '../../store/store.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { invalid, notFound, unavailable } from '../../errors.js';


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
