import type { ServeContext } from '../context.js';
import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import { parsePageQuery, nextPageHeaders } from './model-pages.js';
import { invalid } from '../../errors.js';
import type { SharingMatrix } from '../../wire/sharing-json.js';
import type { StoreStats } from '../../wire/store-json.js';
import { checkName, parseVersion } from './lookup.js';

/**
 * The store as the CLI prints it with --json, for the dashboard and scripts:
 * /api/stats = `tessera stats --json` without the store's location, /api/store/models = `tessera ls --json`
 * (paged: limit, after, search, format, order), /api/stats/models = `stats` rows a page at a time,
 * /api/store/models/{name}[/versions/{v}] = `tessera show --json`,
 * /api/sharing = `tessera sharing --json`. Reads wait for the server's own
 * write in progress, so they never see half an upload.
 */
export function apiRoutes(router: Router, ctx: ServeContext): void {
  const read = <T>(fn: () => Promise<T>): Promise<T> => ctx.writes.run(fn);
  // The sharing matrix reads every model's chunk list: computed once per catalog state.
  let sharing: { generation: number; value: Promise<SharingMatrix> } | undefined;

  router.add({
    name: 'api_stats', pattern: /^\/api\/stats$/,
    methods: {
      GET: {
        handler: async ({ res, url }) => {
          // All of `tessera stats --json` but the store's location: a path (or host) of the server's machine.
          const all = url.searchParams.get('all');
          if (all !== null && all !== 'true' && all !== 'false') throw invalid('all: expected true or false');
          const { location: _, ...stats } = await read(() => ctx.store.stats({ all: all === 'true' }));
          sendJson(res, 200, stats satisfies StoreStats);
        },
      },
    },
  });
  router.add({
    name: 'api_models', pattern: /^\/api\/store\/models$/,
    methods: {
      GET: {
        // `tessera ls --json`, a page at a time (model-pages.ts): a Link header names the next page.
        handler: async ({ req, res, url }) => {
          const page = await read(() => ctx.store.listPage(parsePageQuery(url)));
          sendJson(res, 200, page.models, { ...nextPageHeaders(req, url, page.next), 'X-Total-Count': String(page.total) });
        },
      },
    },
  });
  router.add({
    name: 'api_stats_models', pattern: /^\/api\/stats\/models$/,
    methods: {
      GET: {
        // Per-model `stats` rows a page at a time, with the next page's cursor (the dashboard's model list).
        handler: async ({ req, res, url }) => {
          const page = await read(() => ctx.store.statsPage(parsePageQuery(url)));
          sendJson(res, 200, page, nextPageHeaders(req, url, page.next));
        },
      },
    },
  });
  router.add({
    name: 'api_model', model: true, pattern: /^\/api\/store\/models\/([^/]+)(?:\/versions\/([^/]+))?$/,
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const name = checkName(params[0]);
          const version = parseVersion(params[1]);
          sendJson(res, 200, await read(() => ctx.store.show({ name, version })));
        },
      },
    },
  });
  router.add({
    name: 'api_sharing', pattern: /^\/api\/sharing$/,
    methods: {
      GET: {
        handler: async ({ res }) => {
          await ctx.catalog.refreshIfOlder(2000);
          if (!sharing || sharing.generation !== ctx.catalog.generation) {
            const value = read(() => ctx.store.sharing());
            sharing = { generation: ctx.catalog.generation, value };
            value.catch(() => (sharing = undefined));
          }
          sendJson(res, 200, await sharing.value);
        },
      },
    },
  });
}
