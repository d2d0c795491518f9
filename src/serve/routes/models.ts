import { nextPageHeaders, parsePageQuery } from './model-pages.js';
import { parseVersionCursor } from '../../store/model-ref.js';
import { keyOf } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { invalid } from '../../errors.js';
import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import { findInferable, findVersion, modelState, notServed } from './lookup.js';
import { batchingProblem, configParameters, platformOf, tritonConfig } from './serving-config.js';
import type { OipMetadata } from '../../wire/oip.js';
import { lossyOfVersion, lossyParameters } from '../lossy.js';

/** The platform name the protocol's metadata uses for onnxruntime (Triton's). */
export const PLATFORM = 'onnxruntime_onnx';

/** `<name>[/versions/<v>]` after /v2/models/: the name may contain '/', so it is the shortest prefix the rest of the pattern allows. */
export const MODEL = String.raw`\/v2\/models\/(.+?)(?:\/versions\/([^/]+))?`;

export function modelRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    name: 'model_list', pattern: /^\/v2\/models\/?$/,
    methods: {
      GET: {
        // A page at a time (limit, after, search: model-pages.ts), `next` and a Link header naming the next.
        handler: async ({ req, res, url }) => {
          const q = parsePageQuery(url);
          if (q.newestFirst) throw invalid('order: this list is in name order only');
          const after = q.after === undefined ? undefined : parseVersionCursor(q.after, 'after');
          await ctx.catalog.refreshIfOlder(500);
          const page = ctx.catalog.page({ limit: q.limit, search: q.search, after },
            (v) => q.format === undefined || v.model.format === q.format);
          sendJson(res, 200, {
            models: page.versions.map((v) => {
              const lossy = lossyOfVersion(v);
              return {
                name: v.model.name, version: String(v.model.version), format: v.model.format, bytes: v.model.logicalBytes,
                files: v.files.map((f) => f.path), ...(lossy ? { lossy_from: lossy.from } : {}), ...modelState(ctx, v),
              };
            }),
            next: page.next,
          }, nextPageHeaders(req, url, page.next));
        },
      },
    },
  });
  router.add({
    name: 'model_ready', model: true, pattern: new RegExp(`^${MODEL}\\/ready$`),
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const v = await findVersion(ctx, params[0], params[1]);
          await ctx.catalog.refreshConfigsIfOlder();
          const why = notServed(ctx, v);
          const ready = !ctx.draining && why === undefined && ctx.inference.servable(v);
          sendJson(res, ready ? 200 : 400, { name: v.model.name, version: String(v.model.version), ready, ...(ready ? {} : { reason: why ?? modelState(ctx, v).reason }) });
        },
      },
    },
  });
  router.add({
    name: 'model_config', model: true, pattern: new RegExp(`^${MODEL}\\/config$`),
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const v = await findInferable(ctx, params[0], params[1]);
          sendJson(res, 200, await tritonConfig(ctx, v, await ctx.inference.signature(v)));
        },
      },
    },
  });
  router.add({
    name: 'model_metadata', model: true, pattern: new RegExp(`^${MODEL}\\/?$`),
    methods: {
      GET: {
        handler: async ({ res, params }) => {
          const v = await findInferable(ctx, params[0], params[1]);
          const sig = await ctx.inference.signature(v);
          const c = ctx.catalog.config(v.model.name, v.model.version);
          const lossy = lossyOfVersion(v);
          sendJson(res, 200, {
            name: v.model.name, versions: ctx.catalog.served(v.model.name).map(String), platform: platformOf(ctx, v),
            inputs: sig.inputs, outputs: sig.outputs,
            parameters: {
              version: String(v.model.version), files: v.files.length, bytes: v.model.logicalBytes,
              ...configParameters(c, ctx.inference.isEnsemble(v) ? 'an ensemble is not batched itself: its steps are' : batchingProblem(ctx, v, sig)),
              // A lossy version says so to every client that reads its metadata; a lossless one has no lossy_* parameter.
              ...(lossy ? lossyParameters(lossy) : {}),
            },
          } satisfies OipMetadata);
        },
      },
      DELETE: {
        write: true,
        handler: async ({ res, params }) => {
          if (params[1] === undefined) throw invalid('name the version to delete: DELETE /v2/models/<name>/versions/<version>');
          const v = await findVersion(ctx, params[0], params[1]);
          await ctx.writes.run(async () => {
            ctx.inference.forget(v);
            await ctx.store.remove({ name: v.model.name, version: v.model.version });
            await ctx.catalog.reloadName(v.model.name);
          });
          sendJson(res, 200, { deleted: keyOf(v.model), note: 'its chunks stay in the store until `tessera gc`' });
        },
      },
    },
  });
}
