import type { IncomingMessage } from 'node:http';
import { invalid } from '../../errors.js';
import { findStoredPath } from '../../store/names.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { readBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import { publicOrigin } from '../http/public-origin.js';
import type { Router } from '../http/router.js';
import { HubNotFound } from '../hub/errors.js';
import { modelInfo } from '../hub/model-info.js';
import type { HubModelInfo } from '../hub/model-info.js';
import { REPO_PATTERN as REPO, checkRepoId, checkRepoPath, resolveRevision } from '../hub/repos.js';
import { RepoTree } from '../hub/tree.js';
import type { CommitRef, TreeEntry } from '../hub/tree.js';
import { download } from './files.js';
import { checkServable } from './lookup.js';

/**
 * The Hugging Face Hub's HTTP API, as its clients call it (hub.md): file
 * downloads by repo, revision and path; model listing and info; a revision's
 * tree and paths-info. Set HF_ENDPOINT (huggingface_hub), `hubUrl`
 * (@huggingface/hub) or `env.remoteHost` (transformers.js) to the server.
 */

/** Most entries one page of a listing holds (the Hub's own page size for a tree). */
const PAGE_MAX = 1000;
/** Largest paths-info request body, and most paths in it. */
const PATHS_INFO_BODY_MAX = 1 << 20;
const PATHS_INFO_MAX = 10_000;

/** `limit` from a query: 1..PAGE_MAX, PAGE_MAX when absent. */
function pageLimit(url: URL): number {
  const text = url.searchParams.get('limit');
  if (text === null) return PAGE_MAX;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < 1) throw invalid(`invalid limit "${text.slice(0, 20)}": expected a positive integer`);
  return Math.min(PAGE_MAX, Number(text));
}

/** The offset a `cursor` names (base64url of a decimal offset, as this server hands them out). */
function pageStart(url: URL): number {
  const cursor = url.searchParams.get('cursor');
  if (cursor === null) return 0;
  const text = /^[A-Za-z0-9_-]{1,16}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  if (!/^[0-9]{1,9}$/.test(text)) throw invalid('invalid cursor: pass back the one a Link header gave');
  return Number(text);
}

/** One page of `items`; a Link header to the next page when there is one (the clients follow rel="next"). */
function page<T>(req: IncomingMessage, url: URL, items: T[]): { items: T[]; headers: Record<string, string> } {
  const start = pageStart(url);
  const limit = pageLimit(url);
  const slice = items.slice(start, start + limit);
  if (start + limit >= items.length) return { items: slice, headers: {} };
  const next = new URL(url.pathname + url.search, publicOrigin(req));
  next.searchParams.set('cursor', Buffer.from(String(start + limit), 'latin1').toString('base64url'));
  return { items: slice, headers: { Link: `<${next.href}>; rel="next"` } };
}

/** A boolean parameter as the clients spell it: `true` (JS), `True` (Python), `1`. */
const truthy = (text: string | null): boolean => text === '1' || text === 'true' || text === 'True';
const flag = (url: URL, name: string): boolean => truthy(url.searchParams.get(name));

const commitRef = (v: CatalogVersion, commit: string): CommitRef => ({ id: commit, title: `Version ${v.model.version}`, date: v.model.createdAt });

/** GET /api/models: each repo (its latest version), filtered by search (in the id), author and tags, sorted by id (or lastModified, createdAt). */
function listModels(ctx: ServeContext, url: URL): HubModelInfo[] {
  const search = (url.searchParams.get('search') ?? '').toLowerCase();
  const author = url.searchParams.get('author');
  const tags = url.searchParams.getAll('filter');
  const full = flag(url, 'full') || url.searchParams.getAll('expand').includes('siblings');
  const byRepo = new Map<string, CatalogVersion[]>();
  for (const v of ctx.catalog.all()) {
    if (v.model.name.split('/').length > 2) continue;
    const list = byRepo.get(v.model.name) ?? [];
    list.push(v);
    byRepo.set(v.model.name, list);
  }
  let out = [...byRepo.values()].map((versions) => modelInfo(versions[versions.length - 1]!, versions[0]!, versions.map((v) => v.model.version), { siblings: full }))
    .filter((m) => (search === '' || m.id.toLowerCase().includes(search))
    && (author === null || m.author === author)
    && tags.every((t) => m.tags.includes(t)));
  const sort = url.searchParams.get('sort') ?? 'id';
  const key = sort === 'lastModified' || sort === 'createdAt' ? sort : 'id';
  out = out.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
  if (url.searchParams.get('direction') === '-1') out.reverse();
  return out;
}

/** The paths a paths-info request names: JSON {"paths": […]} (@huggingface/hub) or a form with paths=… (huggingface_hub). */
function parsePathsInfo(body: Buffer, contentType: string | undefined): { paths: string[]; expand: boolean } {
  let paths: unknown;
  let expand: unknown = false;
  if ((contentType ?? '').startsWith('application/json')) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalid('paths-info: the body is not JSON');
    }
    if (typeof json !== 'object' || json === null) throw invalid('paths-info: expected {"paths": [...]}');
    ({ paths, expand } = json as { paths?: unknown; expand?: unknown });
  } else {
    const form = new URLSearchParams(body.toString('utf8'));
    paths = form.getAll('paths');
    expand = truthy(form.get('expand'));
  }
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw invalid('paths-info: "paths" must be a list of strings');
  if (paths.length > PATHS_INFO_MAX) throw invalid(`paths-info: ${paths.length} paths; at most ${PATHS_INFO_MAX} per request`);
  return { paths: paths as string[], expand: expand === true };
}

export function hubRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    // Not under /api/ (as on the Hub, "api" is no namespace): /api/models/resolve/revision/main is repo "resolve"'s info.
    name: 'hub_resolve', pattern: new RegExp(String.raw`^\/(?!api\/)(?:models\/)?${REPO}\/(?:resolve|raw)\/([^/]+)\/(.+)$`),
    methods: {
      GET: {
        handler: async ({ req, res, params }) => {
          const repo = checkRepoId(params[0]);
          const path = checkRepoPath(params[2]);
          const { version, commit } = await resolveRevision(ctx, repo, params[1]);
          const file = findStoredPath(version.files, path);
          if (!file) throw new HubNotFound('EntryNotFound', `Entry not found: ${repo} at ${commit} (version ${version.model.version}) has no file "${path.slice(0, 200)}"`);
          checkServable(ctx, version);
          const sha = `"${file.sha256.toString('hex')}"`;
          await download(ctx, version, file, req, res, { 'X-Repo-Commit': commit, 'X-Linked-Etag': sha, 'X-Linked-Size': String(file.size) });
        },
      },
    },
  });
  router.add({
    name: 'hub_models', pattern: /^\/api\/models\/?$/,
    methods: {
      GET: {
        handler: async ({ req, res, url }) => {
          await ctx.catalog.refreshIfOlder(2000);
          const { items, headers } = page(req, url, listModels(ctx, url));
          sendJson(res, 200, items, headers);
        },
      },
    },
  });
  router.add({
    name: 'hub_model', pattern: new RegExp(String.raw`^\/api\/models\/${REPO}(?:\/revision\/([^/]+))?\/?$`),
    methods: {
      GET: {
        handler: async ({ res, params, url }) => {
          const repo = checkRepoId(params[0]);
          const { version, versions } = await resolveRevision(ctx, repo, params[1]);
          sendJson(res, 200, modelInfo(version, versions[0]!, versions.map((v) => v.model.version), { blobs: flag(url, 'blobs') }));
        },
      },
    },
  });
  // paths-info before the tree: /api/models/a/tree/paths-info/main is repo "a/tree"'s paths-info, not a tree at revision "paths-info".
  router.add({
    name: 'hub_paths_info', pattern: new RegExp(String.raw`^\/api\/models\/${REPO}\/paths-info\/([^/]+)$`),
    methods: {
      POST: {
        handler: async ({ req, res, params }) => {
          const repo = checkRepoId(params[0]);
          const body = await readBody(req, PATHS_INFO_BODY_MAX);
          const { paths, expand } = parsePathsInfo(body, req.headers['content-type']);
          const { version, commit } = await resolveRevision(ctx, repo, params[1]);
          const tree = new RepoTree(version.files);
          const last = expand ? commitRef(version, commit) : undefined;
          // As the Hub: a path that is not there is left out, not an error.
          const out: TreeEntry[] = [];
          for (const p of paths) {
            const e = tree.entry(p.replace(/\/$/, ''), last);
            if (e) out.push(e);
          }
          sendJson(res, 200, out);
        },
      },
    },
  });
  router.add({
    name: 'hub_tree', pattern: new RegExp(String.raw`^\/api\/models\/${REPO}\/tree\/([^/]+)(?:\/(.*))?$`),
    methods: {
      GET: {
        handler: async ({ req, res, params, url }) => {
          const repo = checkRepoId(params[0]);
          const folder = params[2] === undefined || params[2] === '' ? '' : checkRepoPath(params[2].replace(/\/$/, ''));
          const { version, commit } = await resolveRevision(ctx, repo, params[1]);
          const last = flag(url, 'expand') ? commitRef(version, commit) : undefined;
          const entries = new RepoTree(version.files).list(folder, flag(url, 'recursive'), last);
          if (!entries) throw new HubNotFound('EntryNotFound', `Entry not found: ${repo} at ${commit} has no folder "${folder.slice(0, 200)}"`);
          const { items, headers } = page(req, url, entries);
          sendJson(res, 200, items, headers);
        },
      },
    },
  });
}
