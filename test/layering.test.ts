/**
 * The rules the layout keeps (README, Development), checked on the source
 * tree: the Store is the only door to stored data, the environment is read
 * at the CLI's edge only, and the benchmarks stand on their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT, inside, isRelative, show, specifiers, tsFiles } from './helpers/imports.js';

const SRC = join(ROOT, 'src');

/** Relative imports of the files below `dir` that land inside `target`. */
function importsInto(dir: string, target: string): string[] {
  const out: string[] = [];
  for (const file of tsFiles(dir)) {
    for (const s of specifiers(file).filter(isRelative)) {
      if (inside(target, resolve(dirname(file), s))) out.push(`${show(file)} imports ${s}`);
    }
  }
  return out;
}

test('the CLI, the server and the dashboard reach stored data only through the Store: nothing outside src/store imports src/backends', () => {
  const backends = join(SRC, 'backends');
  const wrong = ['cli', 'serve', 'wire', 'formats', 'codec', 'chunking', 'io'].flatMap((d) => importsInto(join(SRC, d), backends));
  assert.deepEqual(wrong, []);
});

test('the environment is read in one place, src/cli/config.ts', () => {
  const readers = tsFiles(SRC).filter((f) => /\bprocess\.env\b/.test(readFileSync(f, 'utf8'))).map(show);
  assert.deepEqual(readers, [join('src', 'cli', 'config.ts')]);
});

test('bench/ does not import from test/', () => {
  assert.deepEqual(importsInto(join(ROOT, 'bench'), join(ROOT, 'test')), []);
});

test('every SQL statement is in src/backends: no SQL text in the store, the server or the CLI', () => {
  const sql = /[`'"]\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b/;
  const wrong = ['store', 'serve', 'cli'].flatMap((d) => tsFiles(join(SRC, d))).filter((f) => sql.test(readFileSync(f, 'utf8'))).map(show);
  assert.deepEqual(wrong, []);
});
