import { createHash } from 'node:crypto';
import type { FileRow } from '../../store/store.js';
import { lfsPointer } from './commits.js';

/** A tree entry as GET /api/models/{repo}/tree/{revision} and paths-info answer it. */
export interface TreeEntry {
  type: 'file' | 'directory';
  /** A file's: its LFS pointer's git blob id; a folder's: an id of what it holds. */
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: string };
}

/** What `expand` adds: the commit that last touched the entry (here: the version itself). */
export interface CommitRef {
  id: string;
  title: string;
  date: string;
}

/**
 * Every file of a version is shown as an LFS file (hub.md): its `oid` is the
 * git blob id of its pointer, `lfs.oid` its SHA-256, which is also the ETag a
 * download answers with. Tessera keeps no git blob ids, and the pointer's is
 * derived from what it keeps.
 */
export function fileEntry(f: Pick<FileRow, 'path' | 'size' | 'sha256'>, last?: CommitRef): TreeEntry {
  const sha = f.sha256.toString('hex');
  const pointer = lfsPointer(sha, f.size);
  return { type: 'file', oid: pointer.oid, size: f.size, path: f.path, lfs: { oid: sha, size: f.size, pointerSize: pointer.size }, ...(last ? { lastCommit: last } : {}) };
}

/** A version's files and the folders their paths imply, in path order (a folder before what it holds). */
export class RepoTree {
  private readonly files = new Map<string, FileRow>();
  /** Folder path ('' for the root) to the names directly inside it. */
  private readonly children = new Map<string, Set<string>>([['', new Set()]]);

  constructor(files: readonly FileRow[]) {
    for (const f of files) {
      this.files.set(f.path, f);
      const parts = f.path.split('/');
      for (let i = 0; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/');
        const here = parts.slice(0, i + 1).join('/');
        if (!this.children.has(parent)) this.children.set(parent, new Set());
        this.children.get(parent)!.add(here);
        if (i < parts.length - 1 && !this.children.has(here)) this.children.set(here, new Set());
      }
    }
  }

  isFolder(path: string): boolean {
    return this.children.has(path);
  }

  /** The entry at `path`, file or folder, or undefined. */
  entry(path: string, last?: CommitRef): TreeEntry | undefined {
    const f = this.files.get(path);
    if (f) return fileEntry(f, last);
    if (path !== '' && this.isFolder(path)) return this.folderEntry(path, last);
    return undefined;
  }

  /** What a folder holds: its direct entries, or (recursive) every entry below it; undefined when it is no folder. */
  list(folder: string, recursive: boolean, last?: CommitRef): TreeEntry[] | undefined {
    if (!this.isFolder(folder)) return undefined;
    return this.paths(folder, recursive).map((p) => this.entry(p, last)!);
  }

  /** The paths below a folder in tree order (each folder before what it holds, siblings bytewise). */
  private paths(folder: string, recursive: boolean): string[] {
    const out: string[] = [];
    const visit = (dir: string): void => {
      for (const p of [...this.children.get(dir)!].sort(byPath)) {
        out.push(p);
        if (recursive && this.isFolder(p)) visit(p);
      }
    };
    visit(folder);
    return out;
  }

  /** Folder ids by path: a recursive listing asks for each folder's, and each one covers every file below it. */
  private readonly folderOids = new Map<string, string>();

  private folderEntry(path: string, last?: CommitRef): TreeEntry {
    let oid = this.folderOids.get(path);
    if (oid === undefined) {
      // An id that changes when anything below the folder does (a git tree id would need the blobs' own ids).
      const h = createHash('sha1').update(`tessera-tree 1\n${path}\n`);
      for (const p of this.paths(path, true)) {
        const f = this.files.get(p);
        if (f) h.update(`${f.sha256.toString('hex')} ${f.size} ${f.path}\n`);
      }
      oid = h.digest('hex');
      this.folderOids.set(path, oid);
    }
    return { type: 'directory', oid, size: 0, path, ...(last ? { lastCommit: last } : {}) };
  }
}

const byPath = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
