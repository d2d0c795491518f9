import { createHash } from 'node:crypto';
import type { FileRow } from '../../store/store.js';

/**
 * The git-shaped identities the Hub API hands out, derived from what a
 * version stores (hub.md has the layouts and a test vector). Nothing here is
 * stored: the same version always gets the same ids.
 */

/** The Git LFS pointer file the Hub shows for a large file: its text, byte size and git blob id. */
export interface LfsPointer {
  text: string;
  size: number;
  /** The pointer's git blob SHA-1: a tree entry's `oid`. */
  oid: string;
}

/** The git blob id of `content`: SHA-1 over "blob <length>\0" and the bytes. */
export function gitBlobOid(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function lfsPointer(sha256Hex: string, size: number): LfsPointer {
  const text = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex}\nsize ${size}\n`;
  const bytes = Buffer.from(text, 'utf8');
  return { text, size: bytes.length, oid: gitBlobOid(bytes) };
}

/**
 * A version's commit id: SHA-1 over the repo name, the version number and
 * every file's path, size and SHA-256 in path order (bytewise). Another
 * version with the same files still gets another id (its number differs),
 * and removing an older version changes no other version's id (no parent
 * is hashed).
 */
export function commitId(name: string, version: number, files: readonly Pick<FileRow, 'path' | 'size' | 'sha256'>[]): string {
  const h = createHash('sha1').update(`tessera-commit 1\nrepo ${name}\nversion ${version}\n`);
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  for (const f of sorted) h.update(`${f.sha256.toString('hex')} ${f.size} ${f.path}\n`);
  return h.digest('hex');
}

/** The Hub's `_id` of a repo (a 24-hex object id there): the first 24 hex digits of the name's SHA-1. */
export function repoObjectId(name: string): string {
  return createHash('sha1').update(`tessera-repo 1\n${name}`).digest('hex').slice(0, 24);
}
