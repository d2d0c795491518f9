/**
 * The installable package: a tarball that `npm install -g` (or `npm install`
 * into another project) takes offline, running no install script and
 * downloading nothing.
 *
 *   npm run package [-- --out DIR]    → DIR/tessera-<version>-<platform>-<arch>-node<major>.tgz
 *
 * Why not plain `npm pack`: installing that tarball runs its dependencies'
 * install scripts in the installing project, where this repository's .npmrc
 * is not read. onnxruntime-node's postinstall then fetches CUDA libraries
 * from NuGet on linux/x64 (and fails the whole install without network);
 * better-sqlite3 and zstd-napi try GitHub for prebuilt binaries, then
 * compile from source; this package compiles its own addon.
 *
 * So every runtime dependency is bundled (`bundleDependencies`), copied from
 * this checkout's node_modules as `npm install` built them, for the platform,
 * CPU and Node.js major this runs on (better-sqlite3's addon is tied to the
 * Node.js ABI), with the package's own addon prebuilt. In the bundled copies
 * the install scripts are removed and `gypfile` is false (npm runs the
 * scripts of bundled packages too, and `node-gyp rebuild` for any package
 * with a binding.gyp and no install script), and what does not run is left
 * out: other platforms' onnxruntime binaries, C sources, build
 * intermediates, source maps. The package states `os`, `cpu` and `engines`
 * so that npm refuses it (or warns) elsewhere.
 *
 * The staged package is checked before packing: every bundled package's
 * `main` resolves, the addons are there.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SILERO_FILES } from '../src/cli/demo-models.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  name: string;
  version: string;
  main?: string;
  files?: string[];
  scripts?: Record<string, string>;
  gypfile?: boolean;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** What of a bundled native package is kept: its JS, the addon npm built, its licence texts. */
const NATIVE_KEEP: Record<string, string[]> = {
  'better-sqlite3': ['lib', 'build/Release/better_sqlite3.node', 'LICENSE', 'README.md', 'package.json'],
  'zstd-napi': ['dist', 'binding.js', 'binding.d.ts', 'build/Release/binding.node', 'LICENSE', 'NOTICE', 'README.md', 'package.json'],
};

/** Scripts npm runs at install time (lifecycle), removed from bundled copies. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

function readJson(path: string): PackageJson {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Dependencies of bundled packages that only their install scripts use
 * (fetching or compiling an addon, which the bundle ships built): left out,
 * and out of the copies' package.json, so npm does not look for them.
 */
const INSTALL_ONLY: Record<string, string[]> = {
  'better-sqlite3': ['prebuild-install'],
  'zstd-napi': ['prebuild-install', 'node-addon-api', '@types/node'],
  'onnxruntime-node': ['adm-zip', 'global-agent'],
};

interface LsNode { path?: string; dependencies?: Record<string, LsNode> }

/** Directories of the production dependency tree, as npm resolved it here (nested ones included), without INSTALL_ONLY. */
function productionDirs(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json', '--long'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  const dirs = new Set<string>();
  const walk = (node: LsNode, name: string): void => {
    for (const [dep, child] of Object.entries(node.dependencies ?? {})) {
      if (INSTALL_ONLY[name]?.includes(dep) || !child.path || dirs.has(child.path)) continue;
      dirs.add(child.path);
      walk(child, dep);
    }
  };
  walk(JSON.parse(out) as LsNode, '');
  return [...dirs];
}

/** Whether `rel` (a path inside package `name`) is kept in the bundle. */
function keep(name: string, rel: string): boolean {
  if (rel === '') return true;
  const parts = rel.split(sep);
  // Nested dependencies are listed (and copied) on their own.
  if (parts[0] === 'node_modules') return false;
  if (rel.endsWith('.map')) return false;
  if (name === 'onnxruntime-node' && parts[0] === 'bin' && parts.length >= 3) {
    // bin/napi-v6/<platform>/<arch>: this machine's only.
    if (parts[2] !== process.platform) return false;
    if (parts.length >= 4 && parts[3] !== process.arch) return false;
  }
  const list = NATIVE_KEEP[name];
  if (list) return list.some((k) => k === rel || k.startsWith(`${rel}${sep}`) || rel.startsWith(`${k}${sep}`));
  return true;
}

/** The bundled copy's package.json: nothing runs at install; `files` covers what was kept. */
function neutralize(dir: string): void {
  const path = join(dir, 'package.json');
  const pkg = readJson(path);
  for (const s of INSTALL_SCRIPTS) delete pkg.scripts?.[s];
  for (const d of INSTALL_ONLY[pkg.name] ?? []) delete pkg.dependencies?.[d];
  pkg.gypfile = false;
  const list = NATIVE_KEEP[pkg.name];
  if (list) pkg.files = list.filter((f) => f !== 'package.json');
  writeJson(path, pkg);
}

function checkStage(stage: string, deps: string[]): void {
  for (const name of deps) {
    const dir = join(stage, 'node_modules', name);
    const pkg = readJson(join(dir, 'package.json'));
    const main = pkg.main ?? 'index.js';
    if (!existsSync(join(dir, main)) && !existsSync(join(dir, `${main}.js`)) && !pkg.exports) throw new Error(`bundled ${name}: main ${main} is missing`);
  }
  const addons = [
    'build/Release/tessera_planes.node',
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    'node_modules/zstd-napi/build/Release/binding.node',
    `node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`,
  ];
  for (const a of addons) if (!existsSync(join(stage, a))) throw new Error(`the staged package lacks ${a}`);
}

export function packRelease(outDir: string, log: (line: string) => void = () => {}): string {
  const pkg = readJson(join(ROOT, 'package.json'));
  for (const need of ['dist/src/cli/main.js', 'dist/web/index.html', 'build/Release/tessera_planes.node']) {
    if (!existsSync(join(ROOT, need))) throw new Error(`${need} is missing: run \`npm install\` (which builds) first`);
  }
  const stage = mkdtempSync(join(tmpdir(), 'tessera-pack-'));
  try {
    for (const p of ['bin', 'dist/src', 'dist/web', 'build/Release/tessera_planes.node', 'README.md', 'LICENSE', 'SECURITY.md']) {
      cpSync(join(ROOT, p), join(stage, p), { recursive: true, filter: (src) => !src.endsWith('.map') });
    }
    // The demo's Silero models (a devDependency in a checkout), with where they come from.
    const vad = join(ROOT, 'node_modules/@ricky0123/vad-web');
    for (const f of SILERO_FILES) {
      if (!existsSync(join(vad, 'dist', f))) throw new Error(`${join(vad, 'dist', f)} is missing: run \`npm install\` first`);
      cpSync(join(vad, 'dist', f), join(stage, 'demo-models', f));
    }
    const vadPkg = readJson(join(vad, 'package.json'));
    writeFileSync(join(stage, 'demo-models', 'NOTICE'), `${SILERO_FILES.join(', ')}: Silero VAD (https://github.com/snakers4/silero-vad, MIT licence),\n`
      + `as shipped in the npm package ${vadPkg.name}@${vadPkg.version} (${String(vadPkg.license)} licence).\n`);
    const deps = Object.keys(pkg.dependencies ?? {});
    const dirs = productionDirs();
    for (const dir of dirs) {
      const rel = relative(ROOT, dir);
      const name = readJson(join(dir, 'package.json')).name;
      cpSync(dir, join(stage, rel), { recursive: true, filter: (src) => keep(name, relative(dir, src)) });
      neutralize(join(stage, rel));
    }
    const abi = process.versions.node.split('.')[0]!;
    const staged: PackageJson = {
      name: pkg.name,
      version: pkg.version,
      description: pkg.description,
      license: pkg.license,
      type: pkg.type,
      bin: pkg.bin,
      main: pkg.main,
      types: pkg.types,
      // better-sqlite3's addon is built for this Node.js major's ABI.
      engines: { node: `>=${abi} <${Number(abi) + 1}` },
      os: [process.platform],
      cpu: [process.arch],
      files: ['bin', 'dist/src', 'dist/web', 'build/Release/tessera_planes.node', 'demo-models', 'SECURITY.md'],
      dependencies: pkg.dependencies,
      bundleDependencies: deps,
    };
    writeJson(join(stage, 'package.json'), staged);
    checkStage(stage, deps);
    mkdirSync(outDir, { recursive: true });
    log(`staged ${dirs.length} bundled packages in ${stage}; packing …`);
    const made = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8' }).trim().split('\n').at(-1)!;
    const target = join(outDir, `${pkg.name}-${pkg.version}-${process.platform}-${process.arch}-node${abi}.tgz`);
    renameSync(join(outDir, basename(made)), target);
    return target;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: '.' } } });
  const started = performance.now();
  const tarball = packRelease(resolve(values.out!), (l) => console.log(l));
  const size = statSync(tarball).size;
  console.log(`${tarball} (${(size / 1e6).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const shown = relative(process.cwd(), tarball);
  console.log(`install it with: npm install -g ${shown.startsWith('..') ? tarball : `./${shown}`}`);
}

