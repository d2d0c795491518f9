import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalid, preconditionFailed } from '../../errors.js';
import type { FileRow } from '../../store/store.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import type { CommitRequest } from './commit-ops.js';
import { HubNotFound } from './errors.js';
import { commitOf } from './repos.js';

/** Where a file of the new version comes from. */
type Source =
  | { kind: 'stored'; file: FileRow }
  | { kind: 'bytes'; content: Buffer }
  | { kind: 'staged'; path: string; oid: string; size: number };

/** A stored file with this SHA-256 and size, in any model: an LFS object the store holds already needs no upload. */
export function storedObject(ctx: ServeContext, oid: string, size: number): FileRow | undefined {
  for (const v of ctx.catalog.all()) {
    const f = v.files.find((x) => x.size === size && x.sha256.toString('hex') === oid);
    if (f) return f;
  }
  return undefined;
}

/**
 * Applies a commit to a repo as its next version: the latest version's files
 * (none for a new repo), changed by the operations, imported as one model
 * version (deduplicated like any import). Under the server's write lock; a
 * failure changes nothing. Only new bytes are written to a temporary folder
 * and read by the import; a file kept from the version before (or an LFS
 * object the store holds) has its rows copied, its bytes neither read nor
 * written: a commit costs what it changes.
 */
export async function applyCommit(ctx: ServeContext, repo: string, commit: CommitRequest): Promise<{ version: CatalogVersion; created: boolean }> {
  return ctx.writes.run(async () => {
    await ctx.catalog.reloadName(repo);
    const latest = ctx.catalog.find(repo);
    if (commit.parentCommit !== undefined && (!latest || commitOf(latest) !== commit.parentCommit)) {
      throw preconditionFailed(`parent commit ${commit.parentCommit} is not the head of ${repo} (${latest ? commitOf(latest) : 'no commit yet'}): fetch the repo again`);
    }
    const tree = new Map<string, Source>((latest?.files ?? []).map((f) => [f.path, { kind: 'stored', file: f }]));
    for (const op of commit.ops) {
      if (op.kind === 'file') tree.set(op.path, { kind: 'bytes', content: op.content });
      else if (op.kind === 'lfsFile') {
        const staged = ctx.lfs.path(op.oid, op.size);
        const stored = staged ? undefined : storedObject(ctx, op.oid, op.size);
        if (staged) tree.set(op.path, { kind: 'staged', path: staged, oid: op.oid, size: op.size });
        else if (stored) tree.set(op.path, { kind: 'stored', file: stored });
        else throw invalid(`${op.path}: LFS object ${op.oid} (${op.size} bytes) was not uploaded; upload it through the LFS batch endpoint first`);
      } else if (op.kind === 'deletedFile') {
        if (!tree.delete(op.path)) throw new HubNotFound('EntryNotFound', `cannot delete "${op.path}": ${repo} has no such file`);
      } else {
        const prefix = `${op.path}/`;
        const under = [...tree.keys()].filter((p) => p.startsWith(prefix));
        if (under.length === 0) throw new HubNotFound('EntryNotFound', `cannot delete folder "${op.path}": ${repo} has no file under it`);
        for (const p of under) tree.delete(p);
      }
    }
    if (tree.size === 0) throw invalid(`the commit would leave ${repo} without files; a version holds at least one`);
    for (const p of tree.keys()) {
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const folder = parts.slice(0, i).join('/');
        if (tree.has(folder)) throw invalid(`"${folder}" would be both a file and a folder`);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'tessera-commit-'));
    try {
      const root = join(dir, 'model');
      mkdirSync(root);
      const reuse: { relPath: string; file: FileRow }[] = [];
      for (const [p, src] of tree) {
        if (src.kind === 'stored') {
          reuse.push({ relPath: p, file: src.file });
          continue;
        }
        const dest = join(root, ...p.split('/'));
        mkdirSync(dirname(dest), { recursive: true });
        if (src.kind === 'bytes') writeFileSync(dest, src.content);
        else copyFileSync(src.path, dest);
      }
      const r = await ctx.store.import(root, { name: repo, relativeNames: true, reuse });
      await ctx.catalog.reloadName(repo);
      for (const src of tree.values()) if (src.kind === 'staged') ctx.lfs.release(src.oid, src.size);
      return { version: ctx.catalog.find(repo, r.model.version)!, created: r.created };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
