import { invalid } from '../../errors.js';
import type { CatalogVersion } from '../catalog.js';
import type { ServeContext } from '../context.js';
import { commitId } from './commits.js';
import { HubNotFound } from './errors.js';

/**
 * Repos and revisions (hub.md): a stored model whose name has one or two
 * parts is a repo (`name`, `org/name`); each version is a revision, named by
 * its number or its commit id; `main` and `HEAD` are the latest version.
 */

/** A repo id in a route pattern: one or two parts (checkRepoId checks the parts). */
export const REPO_PATTERN = String.raw`([^/]+(?:\/[^/]+)?)`;

/** One part of a repo id, as the Hub allows it: letters, digits, '.', '_', '-', at most 96 characters. */
const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
/** Longest revision a request may name (a branch name on the Hub is at most 255 bytes). */
const REVISION_MAX = 255;
/** Longest file path a request may name. */
const PATH_MAX = 4096;

/** The repo id from a URL (percent-decoded), or `invalid` saying why it cannot be one. */
export function checkRepoId(text: string | undefined): string {
  const repo = text ?? '';
  const parts = repo.split('/');
  if (parts.length > 2 || !parts.every((p) => REPO_PART.test(p)) || repo.includes('..') || repo.includes('--')) {
    throw invalid(`invalid repo id "${repo.slice(0, 200).replace(/[^\x20-\x7e]/g, '?')}": expected name or namespace/name, each part letters, digits, '.', '_', '-' (at most 96), no '..' or '--'`);
  }
  return repo;
}

/** A file or folder path inside a repo from a URL, or `invalid`: no empty, '.' or '..' parts, no NUL, not absolute. */
export function checkRepoPath(text: string | undefined): string {
  const path = text ?? '';
  if (path.length > PATH_MAX) throw invalid(`path is ${path.length} characters; at most ${PATH_MAX}`);
  if (path.includes('\0') || path.includes('\\')) throw invalid('path has a NUL or backslash');
  if (path.split('/').some((p) => p === '' || p === '.' || p === '..')) throw invalid(`invalid path "${path.slice(0, 200)}": empty, '.' or '..' parts`);
  return path;
}

const commits = new WeakMap<CatalogVersion, string>();

/** A version's commit id (commits.ts), computed once per catalog entry. */
export function commitOf(v: CatalogVersion): string {
  let id = commits.get(v);
  if (id === undefined) {
    id = commitId(v.model.name, v.model.version, v.files);
    commits.set(v, id);
  }
  return id;
}

/** Every version of a repo, oldest first: RepoNotFound when there is none. */
export async function repoVersions(ctx: ServeContext, repo: string): Promise<CatalogVersion[]> {
  // Another process may have imported it since the catalog was read.
  if (!ctx.catalog.has(repo)) await ctx.catalog.refreshFor(repo);
  const versions = ctx.catalog.versions(repo).map((n) => ctx.catalog.find(repo, n)!);
  if (versions.length === 0) throw new HubNotFound('RepoNotFound', `Repository not found: no model named "${repo}" in this store`);
  return versions;
}

export interface Revision {
  version: CatalogVersion;
  commit: string;
  /** Every version of the repo, oldest first. */
  versions: CatalogVersion[];
}

/** The version a revision names: `main` or `HEAD` (the latest), a version number or a commit id; RevisionNotFound otherwise. */
export async function resolveRevision(ctx: ServeContext, repo: string, revisionText: string | undefined): Promise<Revision> {
  const revision = revisionText ?? 'main';
  if (revision.length > REVISION_MAX) throw invalid(`revision is ${revision.length} characters; at most ${REVISION_MAX}`);
  let versions = await repoVersions(ctx, repo);
  let found: CatalogVersion | undefined;
  if (revision === 'main' || revision === 'HEAD') {
    found = versions[versions.length - 1];
  } else if (/^[1-9][0-9]{0,8}$/.test(revision)) {
    const n = Number(revision);
    if (!ctx.catalog.find(repo, n)) {
      await ctx.catalog.refreshFor(repo, n);
      versions = await repoVersions(ctx, repo);
    }
    found = ctx.catalog.find(repo, n);
  } else if (/^[0-9a-f]{40}$/.test(revision)) {
    found = versions.find((v) => commitOf(v) === revision);
  }
  if (!found) {
    const shown = revision.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
    throw new HubNotFound('RevisionNotFound', `Invalid rev id: ${shown} (repo "${repo}" has versions ${versions.map((v) => v.model.version).join(', ')}, 'main' and their commit ids)`);
  }
  return { version: found, commit: commitOf(found), versions };
}
