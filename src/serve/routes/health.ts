import { readFileSync } from 'node:fs';
import type { ServeContext } from '../context.js';
import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';

/** Extensions named in the server metadata (Triton's names where Triton has one). */
export const EXTENSIONS = ['binary_tensor_data', 'model_configuration', 'model_repository', 'parameters', 'tessera_model_files', 'tessera_metrics'];

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const VERSION = packageVersion();

export function healthRoutes(router: Router, ctx: ServeContext): void {
  router.add({ name: 'health_live', pattern: /^\/v2\/health\/live$/, methods: { GET: { handler: ({ res }) => sendJson(res, 200, { live: true }) } } });
  router.add({
    name: 'health_ready', pattern: /^\/v2\/health\/ready$/,
    // Not ready while shutting down, nor before the first read of the store's models is done.
    methods: { GET: { handler: ({ res }) => (ctx.draining || !ctx.catalogLoaded ? sendJson(res, 503, { ready: false }) : sendJson(res, 200, { ready: true })) } },
  });
  router.add({
    name: 'server_metadata', pattern: /^\/v2\/?$/,
    methods: { GET: { handler: ({ res }) => sendJson(res, 200, { name: 'tessera', version: VERSION, extensions: EXTENSIONS }) } },
  });
  router.add({
    name: 'metrics', pattern: /^\/metrics$/,
    methods: {
      GET: {
        handler: async ({ res }) => {
          const text = await ctx.metrics.registry.metrics();
          const body = Buffer.from(text, 'utf8');
          res.writeHead(200, { 'Content-Type': ctx.metrics.registry.contentType, 'Content-Length': String(body.length) });
          res.end(body);
        },
      },
    },
  });
}
