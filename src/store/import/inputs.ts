import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative, sep } from 'node:path';
import { FileSource } from '../../io/file-source.js';
import { FormatError } from '../../formats/errors.js';
import { segmentFile } from '../../formats/index.js';
import type { Segment, Segmentation, TensorSegment } from '../../formats/segment.js';
import type { SegmentRow } from '../../backends/backend.js';
import { invalid } from '../../errors.js';
import { checkNewFilePath, filePathProblem, quoteName } from '../names.js';

/** One file of a model about to be imported. */
export interface InputFile {
  absPath: string;
  /** Path inside the model, '/'-separated, NFC (names.ts): the stored path. */
  relPath: string;
  /** What messages call the file: its path as given (the CLI), or its path inside the model (an upload). */
  label: string;
  size: number;
  segmentation: Segmentation;
  /**
   * The file is a stored file's bytes (a Hub commit keeps most files of the
   * version before): its rows are copied from that file, its bytes never read.
   */
  stored?: { fileId: number; sha256: Buffer; segments: SegmentRow[] };
}

/** Most files a directory import takes; a guard against pointing at `/` by mistake. */
const MAX_FILES = 100_000;

function walk(root: string, dir: string, out: string[]): void {
  for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) walk(root, p, out);
    else if (ent.isFile() || (ent.isSymbolicLink() && statSync(p).isFile())) out.push(relative(root, p).split(sep).join('/'));
    if (out.length > MAX_FILES) throw new Error(`${root}: more than ${MAX_FILES} files; import a smaller directory`);
  }
}

/**
 * Segments for a file whose tensors other files describe: the tensors, with
 * literal gaps between. A range named twice (two ONNX files sharing one
 * external data file, or tied weights) is one segment; a partial overlap is
 * an error.
 */
export function fillGaps(file: string, size: number, tensors: TensorSegment[]): Segment[] {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset || a.length - b.length);
  const out: Segment[] = [];
  let pos = 0;
  let last: TensorSegment | undefined;
  for (const t of sorted) {
    if (last && t.offset === last.offset && t.length === last.length) continue;
    if (t.offset < pos) throw new FormatError(file, `external tensor "${t.name}" at offset ${t.offset} overlaps the previous one`);
    if (t.offset + t.length > size) {
      throw new FormatError(file, `external tensor "${t.name}" (offset ${t.offset}, length ${t.length}) runs past the end of the file (${size} bytes)`);
    }
    if (t.offset > pos) out.push({ kind: 'literal', offset: pos, length: t.offset - pos });
    out.push(t);
    last = t;
    pos = t.offset + t.length;
  }
  if (pos < size) out.push({ kind: 'literal', offset: pos, length: size - pos });
  return out;
}

/** The file's segments; a reader's complaint names the file by `label` (the reader knows it by its path on disk). */
function segmentPath(absPath: string, label: string): Segmentation {
  const src = new FileSource(absPath);
  try {
    return segmentFile(src, absPath);
  } catch (e) {
    if (e instanceof FormatError && e.file === absPath && label !== absPath) throw new FormatError(label, e.cause_);
    throw e;
  } finally {
    src.close();
  }
}

export interface CollectOptions {
  /**
   * Stored paths the model gets from elsewhere (a Hub commit's unchanged
   * files, reused by their rows): an external data file named by a file on
   * disk may be one of them instead of being on disk.
   */
  provided?: ReadonlySet<string>;
  /**
   * Name files in messages by their path inside the model, not by where they
   * are on disk: an upload's files sit in the server's temporary directory,
   * which is none of the client's business.
   */
  relativeNames?: boolean;
}

/**
 * The files of a model: one file, or every regular file below a directory
 * (relative paths kept). ONNX external-data files named by a model file are
 * segmented by the tensors the model file places in them, and are added to a
 * single-file import from beside the model file. Every path inside the model
 * must keep the name policy (names.ts) and is stored NFC.
 */
export function collectInputs(path: string, opts: CollectOptions = {}): InputFile[] {
  const st = statSync(path);
  const root = st.isDirectory() ? path : dirname(path);
  const rels: string[] = [];
  if (st.isDirectory()) walk(root, root, rels);
  else rels.push(basename(path));
  if (rels.length === 0) throw new Error(`${path}: no files to import`);
  const label = (stored: string, onDisk: string): string => (opts.relativeNames ? stored : join(root, onDisk));

  /** By stored (NFC) path. */
  const files = new Map<string, InputFile>();
  const onDiskOf = new Map<string, string>();
  const external = new Map<string, { tensors: TensorSegment[]; namedBy: string; onDisk: string; format: string }>();
  for (const rel of rels) {
    const relPath = checkNewFilePath(rel);
    const twin = onDiskOf.get(relPath);
    if (twin !== undefined) throw invalid(`${quoteName(twin)} and ${quoteName(rel)} are one path once normalized to NFC; rename one`);
    onDiskOf.set(relPath, rel);
    const absPath = join(root, rel);
    const name = label(relPath, rel);
    const f: InputFile = { absPath, relPath, label: name, size: statSync(absPath).size, segmentation: segmentPath(absPath, name) };
    files.set(relPath, f);
    for (const c of f.segmentation.companions ?? []) {
      const onDisk = posix.normalize(posix.join(posix.dirname(rel), c.relPath));
      if (onDisk.startsWith('../') || onDisk === '..' || posix.isAbsolute(onDisk)) {
        throw new FormatError(name, `external data location ${quoteName(c.relPath)} points outside the model directory`);
      }
      // The companion is stored under this path: it keeps the policy like any other.
      const target = onDisk.normalize('NFC');
      const why = filePathProblem(target);
      if (why !== undefined) throw new FormatError(name, `external data location ${quoteName(c.relPath)}: ${why}`);
      const e = external.get(target) ?? { tensors: [], namedBy: name, onDisk, format: c.format ?? 'onnx-external-data' };
      e.tensors.push(...c.tensors);
      external.set(target, e);
    }
  }
  for (const [target, e] of external) {
    let f = files.get(target);
    // Stored already and reused as it is: its rows stand, whatever this file says of its ranges.
    if (!f && opts.provided?.has(target)) continue;
    if (!f) {
      const absPath = join(root, e.onDisk);
      let size: number;
      try {
        size = statSync(absPath).size;
      } catch {
        throw new FormatError(e.namedBy, `external data file "${target}" is missing`);
      }
      f = { absPath, relPath: target, label: label(target, e.onDisk), size, segmentation: { format: e.format, segments: [] } };
      files.set(target, f);
    }
    f.segmentation = { format: e.format, segments: fillGaps(f.label, f.size, e.tensors) };
  }
  return [...files.values()].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}
