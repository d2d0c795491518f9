import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative, sep } from 'node:path';
import { FileSource } from '../../io/file-source.js';
import { FormatError } from '../../formats/errors.js';
import { segmentFile } from '../../formats/index.js';
import type { Segment, Segmentation, TensorSegment } from '../../formats/segment.js';

/** One file of a model about to be imported. */
export interface InputFile {
  absPath: string;
  /** Path inside the model, '/'-separated. */
  relPath: string;
  size: number;
  segmentation: Segmentation;
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

/** Segments for a file whose tensors another file describes: the tensors, with literal gaps between. */
export function fillGaps(file: string, size: number, tensors: TensorSegment[]): Segment[] {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  const out: Segment[] = [];
  let pos = 0;
  for (const t of sorted) {
    if (t.offset < pos) throw new FormatError(file, `external tensor "${t.name}" at offset ${t.offset} overlaps the previous one`);
    if (t.offset + t.length > size) {
      throw new FormatError(file, `external tensor "${t.name}" (offset ${t.offset}, length ${t.length}) runs past the end of the file (${size} bytes)`);
    }
    if (t.offset > pos) out.push({ kind: 'literal', offset: pos, length: t.offset - pos });
    out.push(t);
    pos = t.offset + t.length;
  }
  if (pos < size) out.push({ kind: 'literal', offset: pos, length: size - pos });
  return out;
}

function segmentPath(absPath: string): Segmentation {
  const src = new FileSource(absPath);
  try {
    return segmentFile(src, absPath);
  } finally {
    src.close();
  }
}

/**
 * The files of a model: one file, or every regular file below a directory
 * (relative paths kept). ONNX external-data files named by a model file are
 * segmented by the tensors the model file places in them, and are added to a
 * single-file import from beside the model file.
 */
export function collectInputs(path: string): InputFile[] {
  const st = statSync(path);
  const root = st.isDirectory() ? path : dirname(path);
  const rels: string[] = [];
  if (st.isDirectory()) walk(root, root, rels);
  else rels.push(basename(path));
  if (rels.length === 0) throw new Error(`${path}: no files to import`);

  const files = new Map<string, InputFile>();
  const external = new Map<string, { tensors: TensorSegment[]; namedBy: string; format: string }>();
  for (const rel of rels) {
    const absPath = join(root, rel);
    const size = statSync(absPath).size;
    const segmentation = segmentPath(absPath);
    files.set(rel, { absPath, relPath: rel, size, segmentation });
    for (const c of segmentation.companions ?? []) {
      const target = posix.normalize(posix.join(posix.dirname(rel), c.relPath));
      if (target.startsWith('../') || target === '..' || posix.isAbsolute(target)) {
        throw new FormatError(absPath, `external data location "${c.relPath}" points outside the model directory`);
      }
      const e = external.get(target) ?? { tensors: [], namedBy: absPath, format: c.format ?? 'onnx-external-data' };
      e.tensors.push(...c.tensors);
      external.set(target, e);
    }
  }
  for (const [target, e] of external) {
    let f = files.get(target);
    const absPath = join(root, target);
    if (!f) {
      let size: number;
      try {
        size = statSync(absPath).size;
      } catch {
        throw new FormatError(e.namedBy, `external data file "${target}" is missing`);
      }
      f = { absPath, relPath: target, size, segmentation: { format: e.format, segments: [] } };
      files.set(target, f);
    }
    f.segmentation = { format: e.format, segments: fillGaps(absPath, f.size, e.tensors) };
  }
  return [...files.values()].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
}
