import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { extname, join } from 'node:path';
import type { Router } from '../http/router.js';
import { notFound } from '../../errors.js';

/** Where `npm run build` puts the dashboard (Vite's output): dist/web beside dist/src. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2', '.map': 'application/json',
};

/**
 * The dashboard's static files. Public even under --token-read: they hold no
 * data (the page asks the token of the user and sends it with its API calls).
 * Files are read once and kept: the build is a few hundred KiB. Names are a
 * whitelist pattern (no dots-only segments, no slashes but assets/), so no
 * path leaves the directory.
 */
export function dashboardRoutes(router: Router, dir = DASHBOARD_DIR): void {
  const cache = new Map<string, Promise<Buffer>>();
  const load = (rel: string): Promise<Buffer> => {
    let p = cache.get(rel);
    if (!p) {
      p = readFile(join(dir, rel));
      cache.set(rel, p);
      p.catch(() => cache.delete(rel));
    }
    return p;
  };
  router.add({
    name: 'dashboard', pattern: /^\/(?:(assets\/[A-Za-z0-9_-][A-Za-z0-9._-]*)|([A-Za-z0-9_-][A-Za-z0-9._-]*))?$/,
    methods: {
      GET: {
        public: true,
        handler: async ({ req, res, params }) => {
          const rel = params[0] ?? params[1] ?? 'index.html';
          let body: Buffer;
          try {
            body = await load(rel);
          } catch {
            // Where the dashboard should be is a path of the server's machine: not in the answer.
            if (rel === 'index.html') throw notFound('the dashboard is not built (no dist/web/index.html): run `npm run build`');
            throw notFound(`no such file: /${rel}`);
          }
          res.writeHead(200, {
            'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream',
            'Content-Length': String(body.length),
            // Vite names assets by content hash: they never change under one name.
            'Cache-Control': rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
            'X-Content-Type-Options': 'nosniff',
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
      },
    },
  });
}
