/**
 * src/wire is the code the server and the dashboard share, so it must run in
 * both: no Node imports, no Buffer, nothing imported from outside src/wire
 * (which would pull server code into the page's bundle). The page, in turn,
 * reaches into src/ only through src/wire, and its build type-checks every
 * src/wire file with the DOM's types and no Node's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT, inside, isRelative, show, specifiers, tsFiles } from '../helpers/imports.js';

const WIRE = join(ROOT, 'src', 'wire');
const WEB_SRC = join(ROOT, 'web', 'src');

test('src/wire runs in a browser and in Node: no node: imports, no Buffer, nothing imported from outside src/wire', () => {
  const files = tsFiles(WIRE);
  assert.ok(files.length >= 5, `src/wire has its modules (found ${files.map(show).join(', ')})`);
  const wrong: string[] = [];
  for (const file of files) {
    for (const s of specifiers(file)) {
      if (s.startsWith('node:')) wrong.push(`${show(file)} imports ${s} (Node only)`);
      else if (!isRelative(s)) wrong.push(`${show(file)} imports the package ${s} (outside src/wire)`);
      else if (!inside(WIRE, resolve(dirname(file), s))) wrong.push(`${show(file)} imports ${s}, outside src/wire`);
    }
    if (/\bBuffer\b/.test(readFileSync(file, 'utf8'))) wrong.push(`${show(file)} mentions Buffer (Node only: use Uint8Array)`);
  }
  assert.deepEqual(wrong, []);
});

test('the page imports from src/ only through src/wire', () => {
  const wrong: string[] = [];
  for (const file of tsFiles(WEB_SRC)) {
    for (const s of specifiers(file).filter(isRelative)) {
      const target = resolve(dirname(file), s);
      if (!inside(WEB_SRC, target) && !inside(WIRE, target)) wrong.push(`${show(file)} imports ${s}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('npm run build:web type-checks every src/wire file with the page\'s DOM-only settings', () => {
  const configFile = join(ROOT, 'web', 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (p) => ts.sys.readFile(p));
  assert.equal(read.error, undefined);
  const config = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(configFile));
  assert.ok(!config.options.types?.includes('node'), 'the page\'s build has no Node types');
  const checked = new Set(config.fileNames.map((f) => resolve(f)));
  assert.deepEqual(tsFiles(WIRE).filter((f) => !checked.has(f)).map(show), [], 'web/tsconfig.json includes src/wire');
});
