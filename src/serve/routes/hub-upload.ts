import type { IncomingMessage } from 'node:http';
import { conflict, invalid } from '../../errors.js';
import { checkNewModelName } from '../../store/names.js';
import type { ServeContext } from '../context.js';
import { readBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import { publicOrigin } from '../http/public-origin.js';
import type { Router } from '../http/router.js';
import { applyCommit, storedObject } from '../hub/apply-commit.js';
import { commitOp, parseCommit } from '../hub/commit-ops.js';
import type { CommitOp } from '../hub/commit-ops.js';
import { HubNotFound } from '../hub/errors.js';
import { REPO_PATTERN as REPO, checkRepoId, commitOf } from '../hub/repos.js';

/**
 * The Hub's upload flow, as @huggingface/hub's createRepo, uploadFile(s),
 * deleteFile(s) and commit call it (hub.md): preupload says which files go
 * by LFS; the LFS batch answers an upload href per object not held yet
 * (basic transfer, to this server); the NDJSON commit makes the repo's next
 * version. Every step but the object PUT needs the write token; the PUT's
 * href carries a ticket the batch call issued.
 */

/** Largest JSON body of createRepo, preupload and the LFS batch. */
const JSON_BODY_MAX = 4 << 20;
/** Most files or objects one preupload or batch call names. */
const OBJECTS_MAX = 10_000;
/** A file above this size, or whose first bytes hold a NUL, goes by LFS (the Hub's own rule: 10 MB, or binary). */
const LFS_ABOVE = 10 * 1000 * 1000;

/** The .gitattributes of a new repo: the Hub's LFS rules for model files, shortened. */
const GITATTRIBUTES = ['*.bin', '*.ckpt', '*.gguf', '*.h5', '*.msgpack', '*.npy', '*.npz', '*.onnx', '*.ot', '*.pb', '*.pt', '*.pth', '*.safetensors', '*.tflite', '*.zip', '*.zst']
  .map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join('');

async function readJson(req: IncomingMessage, what: string): Promise<Record<string, unknown>> {
  const body = await readBody(req, JSON_BODY_MAX);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid(`${what}: the body is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null)) throw invalid(`${what} must be a list of objects`);
  if (v.length > OBJECTS_MAX) throw invalid(`${what}: ${v.length} entries; at most ${OBJECTS_MAX}`);
  return v as Record<string, unknown>[];
}

/** Only the main branch takes commits: a version is the only kind of revision Tessera has. */
function checkBranch(rev: string | undefined): void {
  if (rev !== 'main') throw new HubNotFound('RevisionNotFound', `commits go to "main" only (got "${(rev ?? '').slice(0, 80)}"): each commit is the repo's next version`);
}

export function hubUploadRoutes(router: Router, ctx: ServeContext): void {
  router.add({
    name: 'hub_create_repo', pattern: /^\/api\/repos\/create$/,
    methods: {
      POST: {
        write: true,
        handler: async ({ req, res }) => {
          const body = await readJson(req, 'create repo');
          if (body.type !== undefined && body.type !== 'model') throw invalid(`repo type "${String(body.type)}": this server keeps models only`);
          if (typeof body.name !== 'string') throw invalid('create repo: "name" must be a string');
          const org = body.organization;
          if (org !== undefined && org !== null && typeof org !== 'string') throw invalid('create repo: "organization" must be a string');
          const repo = checkNewModelName(checkRepoId(org ? `${org}/${body.name}` : body.name));
          await ctx.catalog.refreshFor(repo);
          if (ctx.catalog.has(repo)) throw conflict(`You already created this model repo: ${repo}`);
          // As on the Hub, a new repo has an initial commit: its .gitattributes (and the files given), as version 1.
          const given = body.files === undefined ? [] : list(body.files, 'create repo: "files"').map((f, i) => commitOp('file', f, `create repo: files[${i}]`));
          const attributes: CommitOp = { kind: 'file', path: '.gitattributes', content: Buffer.from(GITATTRIBUTES) };
          await applyCommit(ctx, repo, { summary: 'initial commit', ops: [attributes, ...given] });
          sendJson(res, 200, { url: `${publicOrigin(req)}/${repo}`, name: repo, id: repo });
        },
      },
    },
  });
  router.add({
    name: 'hub_preupload', pattern: new RegExp(String.raw`^\/api\/models\/${REPO}\/preupload\/([^/]+)$`),
    methods: {
      POST: {
        write: true,
        handler: async ({ req, res, params }) => {
          checkRepoId(params[0]);
          checkBranch(params[1]);
          const body = await readJson(req, 'preupload');
          const files = list(body.files, 'preupload: "files"').map((f) => {
            if (typeof f.path !== 'string' || typeof f.size !== 'number') throw invalid('preupload: each file needs "path" and "size"');
            const sample = typeof f.sample === 'string' ? Buffer.from(f.sample, 'base64') : Buffer.alloc(0);
            return { path: f.path, uploadMode: f.size > LFS_ABOVE || sample.includes(0) ? 'lfs' : 'regular', shouldIgnore: false };
          });
          sendJson(res, 200, { files, commitOid: null });
        },
      },
    },
  });
  router.add({
    name: 'hub_lfs_batch', pattern: new RegExp(String.raw`^\/(?!api\/)(?:models\/)?${REPO}\.git\/info\/lfs\/objects\/batch$`),
    methods: {
      POST: {
        write: true,
        handler: async ({ req, res, params }) => {
          checkRepoId(params[0]);
          const body = await readJson(req, 'LFS batch');
          if (body.operation !== 'upload') throw invalid('LFS batch: only "upload" is taken (downloads go through /resolve/)');
          const objects = list(body.objects, 'LFS batch: "objects"').map((o) => {
            if (typeof o.oid !== 'string' || !/^[0-9a-f]{64}$/.test(o.oid)) throw invalid('LFS batch: each object needs "oid", a SHA-256 in lowercase hex');
            if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw invalid('LFS batch: each object needs "size", a non-negative integer');
            const held = ctx.lfs.has(o.oid, o.size) || storedObject(ctx, o.oid, o.size) !== undefined;
            if (held) return { oid: o.oid, size: o.size, authenticated: true };
            const href = `${publicOrigin(req)}/api/lfs-upload/${ctx.lfs.ticket(o.oid, o.size)}`;
            return { oid: o.oid, size: o.size, authenticated: true, actions: { upload: { href, expires_in: 3600 } } };
          });
          sendJson(res, 200, { transfer: 'basic', objects, hash_algo: 'sha256' }, { 'Content-Type': 'application/vnd.git-lfs+json' });
        },
      },
    },
  });
  router.add({
    // The href a batch call handed out: the ticket in it is the credential (the client sends no token to it).
    name: 'hub_lfs_upload', pattern: /^\/api\/lfs-upload\/([0-9a-f]{32})$/,
    methods: {
      PUT: {
        public: true,
        handler: async ({ req, res, params }) => {
          await ctx.lfs.receive(params[0]!, req);
          sendJson(res, 200, {});
        },
      },
    },
  });
  router.add({
    name: 'hub_commit', pattern: new RegExp(String.raw`^\/api\/models\/${REPO}\/commit\/([^/]+)$`),
    methods: {
      POST: {
        write: true,
        handler: async ({ req, res, params }) => {
          const repo = checkNewModelName(checkRepoId(params[0]));
          checkBranch(params[1]);
          const commit = parseCommit(await readBody(req, ctx.opts.maxUploadBytes));
          const { version } = await applyCommit(ctx, repo, commit);
          const oid = commitOf(version);
          sendJson(res, 200, { success: true, commitOid: oid, commitUrl: `${publicOrigin(req)}/${repo}/commit/${oid}`, hookOutput: '', pullRequestUrl: null });
        },
      },
    },
  });
}
