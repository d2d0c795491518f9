import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './segments.js';

/** The repository root, for the tests that read the source tree. */
export const ROOT = repoRoot();

/** Every .ts file below `dir`, sorted. */
export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)).sort();
}

/** Every module a file names: import, export … from, import(), require(). */
export function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

export const inside = (dir: string, path: string): boolean => path === dir || path.startsWith(dir + sep);
export const isRelative = (s: string): boolean => s.startsWith('./') || s.startsWith('../');
export const show = (file: string): string => relative(ROOT, file);
