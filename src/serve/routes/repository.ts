import type { IncomingMessage, ServerResponse } from 'node:http';
import { keyOf } from '../catalog.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { invalid } from '../../errors.js';
import { readBody } from '../http/body.js';
import { bodyCost } from '../http/inflight.js';
import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import { parseJsonBody } from '../oip/json-limits.js';
import { checkName, findInferable, findVersion, modelState, parseVersion } from './lookup.js';
import { parsePatchOrInvalid } from '../../store/serving-configs.js';
import { parseVersionCursor } from '../../store/model-ref.js';
import { MAX_PAGE } from '../../wire/store-json.js';
import { API_PAGE } from './model-pages.js';

/** An optional JSON object body (Triton sends `{}` or `{"parameters": …}`, or nothing), counted against --max-inflight while the request runs. */
async function optionalObject(ctx: ServeContext, req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
  const hold = ctx.inflight.holdFor(res);
  const body = await readBody(req, 1 << 20, (n) => hold.reserve(bodyCost(n)));
  if (body.length === 0) return {};
  const v = parseJsonBody(body, ctx.opts.maxJsonDepth);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('the request body must be a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Tessera's paging of the index (Triton's has none): `limit` (1..MAX_PAGE,
 * default API_PAGE), `after` (name:version, the X-Tessera-Next-After of the
 * page before), `search` (names holding the text, any letter case).
 */
function indexQuery(body: Record<string, unknown>): { limit: number; after?: { name: string; version: number }; search?: string } {
  const limit = body.limit ?? API_PAGE;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid(`"limit" must be a whole number from 1 to ${MAX_PAGE}`);
  if (body.after !== undefined && (typeof body.after !== 'string' || body.after.length > 1024)) throw invalid('"after" must be a string: the X-Tessera-Next-After of the page before');
  const after = typeof body.after === 'string' ? parseVersionCursor(body.after, '"after"') : undefined;
  if (body.search !== undefined && (typeof body.search !== 'string' || body.search.length > 256)) throw invalid('"search" must be a string of at most 256 characters');
  return { limit, after, search: typeof body.search === 'string' && body.search !== '' ? body.search.toLowerCase() : undefined };
}

/** Triton's model repository extension: index, load, unload. */
export function repositoryRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    name: 'repository_index', pattern: /^\/v2\/repository\/index$/,
    methods: {
      POST: {
        handler: async ({ req, res }) => {
          const body = await optionalObject(ctx, req, res);
          if (body.ready !== undefined && typeof body.ready !== 'boolean') throw invalid('"ready" must be true or false');
          const q = indexQuery(body);
          await ctx.catalog.refresh();
          const rows = new Map<CatalogVersion, { state: string; reason: string }>();
          const stateOf = (v: CatalogVersion) => rows.get(v) ?? rows.set(v, modelState(ctx, v)).get(v)!;
          const page = ctx.catalog.page(q, (v) => !body.ready || stateOf(v).state === 'READY');
          const out = page.versions.map((v) => ({ name: v.model.name, version: String(v.model.version), ...stateOf(v) }));
          // Triton's index has no pages: the next one's cursor rides in a header (and in the next request's body as `after`).
          sendJson(res, 200, out, page.next ? { 'X-Tessera-Next-After': page.next } : {});
        },
      },
    },
  });
  router.add({
    name: 'repository_load', model: true, pattern: /^\/v2\/repository\/models\/(.+?)(?:\/versions\/([^/]+))?\/(load|unload)$/,
    methods: {
      POST: {
        write: true,
        handler: async ({ req, res, params }) => {
          await optionalObject(ctx, req, res);
          if (params[2] === 'load') {
            const v = await findInferable(ctx, params[0], params[1]);
            await ctx.inference.load(v);
            sendJson(res, 200, { name: v.model.name, version: String(v.model.version), state: 'READY' });
            return;
          }
          // Unload: the named version, or every loaded version of the name.
          const name = checkName(params[0]);
          const targets = params[1] !== undefined ? [await findVersion(ctx, name, params[1])] : ctx.catalog.versions(name).map((n) => ctx.catalog.find(name, n)!);
          if (targets.length === 0) await findVersion(ctx, name, undefined);
          const unloaded = targets.filter((v) => ctx.models.unload(v)).map((v) => keyOf(v.model));
          sendJson(res, 200, { name, unloaded });
        },
      },
    },
  });
  router.add({
    name: 'repository_config', model: true, pattern: /^\/v2\/repository\/models\/(.+?)(?:\/versions\/([^/]+))?\/config$/,
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const name = checkName(params[0]);
          sendJson(res, 200, await ctx.store.servingConfig({ name, version: parseVersion(params[1]) }));
        },
      },
      // The body: the keys to set at this level (null removes one); {"reset": true, …} removes the rest first.
      PUT: {
        write: true,
        handler: async ({ req, res, params }) => {
          const name = checkName(params[0]);
          const version = parseVersion(params[1]);
          const body = await optionalObject(ctx, req, res);
          const reset = body.reset;
          if (reset !== undefined && typeof reset !== 'boolean') throw invalid('"reset" must be true or false');
          const { reset: _r, ...keys } = body;
          const { set, unset } = parsePatchOrInvalid(keys, version !== undefined);
          const view = await ctx.writes.run(async () => {
            const r = await ctx.store.configure({ name, version }, { set, unset, reset: reset === true });
            await ctx.catalog.refreshConfigsNow();
            return r;
          });
          sendJson(res, 200, view);
        },
      },
    },
  });
}
