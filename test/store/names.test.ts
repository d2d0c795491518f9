/**
 * The name policy (src/store/names.ts) rule by rule, with generated
 * variants (control characters of every class, every reserved word, lengths
 * at their bounds, NFC/NFD pairs), and at the doors it guards in the store:
 * a directory import, migrate, and the stores written before the policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TesseraError } from '../../src/errors.js';
import {
  MODEL_NAME_MAX, MODEL_PART_MAX, PATH_MAX_BYTES, PATH_PART_MAX_BYTES, PROTOCOL_WORDS, ROUTE_WORDS,
  caseTwin, checkModelNameToFind, checkNewFilePath, checkNewModelName, findStoredPath, quoteName, storedPathProblem,
} from '../../src/store/names.js';
import { parseModelRef } from '../../src/store/model-ref.js';
import { Store } from '../../src/store/store.js';
import { NFC_NFD_PAIRS, codePoint, controlChars, shadowingModelNames, utf8OfLength } from '../helpers/hostile-names.js';
import { randomBytes, storeSql, tempDir, tempLocation, tempStore, testBackends } from '../helpers/store-fixtures.js';
import type { BackendKind } from '../helpers/store-fixtures.js';

const RESERVED = [...ROUTE_WORDS, ...PROTOCOL_WORDS];
const kinds = await testBackends();

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TesseraError && e.kind === 'invalid', `an invalid error, not ${String(e)}`);
    return e.message;
  }
  assert.fail('accepted');
}

test('model names: what was valid and safe stays valid', () => {
  for (const name of ['vad', 'silero-vad-v5', 'face_api.1', 'org/name', 'meta-llama/Llama-3.1-8B', 'a/b/c', '9lives', 'A.b-c_d', 'a'.repeat(MODEL_PART_MAX), `${'a'.repeat(MODEL_PART_MAX)}/${'b'.repeat(MODEL_NAME_MAX - MODEL_PART_MAX - 1)}`, 'file', 'Files', 'filesx', 'my-files', 'version', 'v1/infer2']) {
    assert.equal(checkNewModelName(name), name);
    assert.equal(checkModelNameToFind(name), name, 'every new name can be looked up');
  }
});

test('model names: every rule refuses, naming itself', () => {
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['a'.repeat(MODEL_NAME_MAX + 1), new RegExp(`${MODEL_NAME_MAX + 1} characters; at most ${MODEL_NAME_MAX}`)],
    [`${'a'.repeat(MODEL_PART_MAX + 1)}/b`, new RegExp(`${MODEL_PART_MAX + 1} characters; at most ${MODEL_PART_MAX}`)],
    ['a b', /it has " "/],
    ['café', /it has "é"/],
    ['a:b', /it has ":"/],
    ['a\\b', /it has "\\\\"/],
    ['-x', /start with a letter or a digit/],
    ['.x', /start with a letter or a digit/],
    ['/lead', /start with a letter or a digit/],
    ['trail/', /ends with '\/'/],
    ['a//b', /empty part/],
    ['a/./b', /a '\.' part/],
    ['a/.', /a '\.' part/],
    ['a/../b', /'\.\.'/],
    ['a..b', /'\.\.'/],
  ];
  for (const [name, rule] of cases) {
    const m = refusal(() => checkNewModelName(name));
    assert.match(m, /^invalid model name /, name);
    assert.match(m, rule, name);
  }
  for (const { cls, ch } of controlChars()) {
    const m = refusal(() => checkNewModelName(`a${ch}b`));
    assert.ok(!/[\p{Cc}]/u.test(m), `${cls} ${codePoint(ch)}: the message shows it escaped: ${JSON.stringify(m)}`);
  }
});

test('model names: every reserved word is refused as a part, anywhere; the names that shadowed URLs are refused', () => {
  for (const w of RESERVED) {
    for (const name of [w, `m/${w}`, `${w}/m`, `m/${w}/n`]) assert.match(refusal(() => checkNewModelName(name)), new RegExp(`part "${w}" is a word the server's URLs use`), name);
  }
  for (const name of shadowingModelNames(RESERVED)) refusal(() => checkNewModelName(name));
});

test('model names: lookups take any name a store may hold (older ones too), and refuse what none can', () => {
  for (const legacy of ['a/files/b', 'x/versions/1', 'trail/', 'a//b', 'a/./b', 'infer', 'a'.repeat(MODEL_NAME_MAX)]) {
    assert.equal(checkModelNameToFind(legacy), legacy);
    assert.deepEqual(parseModelRef(`${legacy}:2`), { name: legacy, version: 2 });
  }
  for (const bad of ['', 'a b', '/x', 'a..b', 'a'.repeat(MODEL_NAME_MAX + 1), 'a\u0000b']) assert.match(refusal(() => checkModelNameToFind(bad)), /invalid model name/);
});

test('model names differing only in case are twins', () => {
  assert.equal(caseTwin('Llama', ['llama', 'vad']), 'llama');
  assert.equal(caseTwin('llama', ['llama', 'vad']), undefined, 'the same name is not its own twin');
  assert.equal(caseTwin('org/Model', ['ORG/model']), 'ORG/model');
  assert.equal(caseTwin('a', []), undefined);
});

test('file paths: Unicode is welcome, stored NFC; every rule refuses, naming itself', () => {
  for (const p of ['model.onnx', 'dir/sub/w.bin', '模型/权重.safetensors', '🤖.bin', 'a"b', '100%', 'semi;colon', "it's", ' lead space', 'files/versions/infer', utf8OfLength(PATH_PART_MAX_BYTES)]) {
    assert.equal(checkNewFilePath(p), p);
  }
  const deep = Array.from({ length: 4 }, () => utf8OfLength(PATH_PART_MAX_BYTES)).join('/');
  assert.equal(Buffer.byteLength(deep), 4 * PATH_PART_MAX_BYTES + 3);
  assert.equal(checkNewFilePath(deep), deep, `${Buffer.byteLength(deep)} bytes fit in ${PATH_MAX_BYTES}`);
  for (const [nfc, nfd] of NFC_NFD_PAIRS) {
    assert.notEqual(nfc, nfd);
    assert.equal(checkNewFilePath(`d/${nfd}.bin`), `d/${nfc}.bin`);
    assert.equal(checkNewFilePath(`d/${nfc}.bin`), `d/${nfc}.bin`);
  }
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['/etc/passwd', /starts with '\/'/],
    ['dir/', /ends with '\/'/],
    ['a//b', /empty part/],
    ['./a', /a '\.' part/],
    ['a/../b', /a '\.\.' part/],
    ['..', /a '\.\.' part/],
    ['a\\b', /has '\\'/],
    ['\ud800x', /lone surrogate \(U\+D800\)/],
    ['evil\u202egpj.onnx', /invisible character U\+202E/],
    ['a\u2028b', /invisible character U\+2028/],
    [utf8OfLength(PATH_PART_MAX_BYTES + 1), new RegExp(`${PATH_PART_MAX_BYTES + 1} bytes in UTF-8; at most ${PATH_PART_MAX_BYTES}`)],
    [`${deep}/${utf8OfLength(PATH_MAX_BYTES - Buffer.byteLength(deep))}`, new RegExp(`${PATH_MAX_BYTES + 1} bytes in UTF-8; at most ${PATH_MAX_BYTES}`)],
    ['x'.repeat(5000), /5000 bytes in UTF-8/],
  ];
  for (const [p, rule] of cases) {
    const m = refusal(() => checkNewFilePath(p));
    assert.match(m, /^invalid file path /, JSON.stringify(p));
    assert.match(m, rule, JSON.stringify(p));
    assert.ok(m.length < 400, 'a long path is cut short in the message');
  }
  for (const { cls, ch } of controlChars()) {
    const m = refusal(() => checkNewFilePath(`dir/a${ch}b.bin`));
    assert.match(m, new RegExp(`control character ${codePoint(ch).replace('+', '\\+')} \\(${cls}\\)`));
    assert.ok(!/\p{Cc}/u.test(m), `${codePoint(ch)}: escaped in the message`);
  }
});

test('stored paths: the structural rules every store kept; lookups find an NFD path by either spelling', () => {
  for (const p of ['a\u0001b', 'a\\b', 'cafe\u0301', utf8OfLength(300)]) assert.equal(storedPathProblem(p), undefined, JSON.stringify(p));
  for (const p of ['', '/a', 'a//b', '../x', 'a/./b', 'a\0b']) assert.notEqual(storedPathProblem(p), undefined, JSON.stringify(p));
  const files = [{ path: 'cafe\u0301.bin' }, { path: 'x.bin' }];
  assert.equal(findStoredPath(files, 'caf\u00e9.bin'), files[0]);
  assert.equal(findStoredPath(files, 'cafe\u0301.bin'), files[0]);
  assert.equal(findStoredPath(files, 'y.bin'), undefined);
});

test('quoteName escapes what a terminal would act on and cuts long names', () => {
  assert.equal(quoteName('a\u001b[31mb'), '"a\\u001b[31mb"');
  assert.equal(quoteName('x\u202ey'), '"x\\u202ey"');
  assert.equal(quoteName('q"\\'), '"q\\"\\\\"');
  assert.equal(quoteName('\u{e0001}'), '"\\u{e0001}"');
  assert.equal(quoteName('a'.repeat(100), 10), `"${'a'.repeat(10)}…"`);
});

for (const kind of kinds) test(`${kind}: a directory import keeps the policy: control characters and NFC twins refused, NFD stored NFC, a case twin refused`, async () => {
  const t = await tempStore(kind);
  try {
    const put = (dir: string, files: Record<string, Buffer>): string => {
      const root = join(t.dir, dir);
      for (const [p, b] of Object.entries(files)) {
        mkdirSync(join(root, p, '..'), { recursive: true });
        writeFileSync(join(root, p), b);
      }
      return root;
    };
    const b = randomBytes(2000, 1);
    await assert.rejects(t.store.import(put('ctl', { 'ok.bin': b, 'sub/bad\u0007.bin': b }), { name: 'ctl' }), /invalid file path "sub\/bad\\u0007\.bin": it has the control character U\+0007 \(C0\)/);
    await assert.rejects(t.store.import(put('bs', { 'a\\b.bin': b }), { name: 'bs' }), /has '\\'/);
    const [nfc, nfd] = NFC_NFD_PAIRS[0]!;
    const r = await t.store.import(put('nfd', { [`${nfd}/${nfd}.bin`]: b }), { name: 'nfd' });
    assert.deepEqual((await t.store.files(r.model)).map((f) => f.path), [`${nfc}/${nfc}.bin`]);
    await assert.rejects(t.store.import(put('twins', { [`${nfc}.bin`]: b, [`${nfd}.bin`]: b }), { name: 'twins' }), /are one path once normalized to NFC/);
    await assert.rejects(t.store.import(put('ok', { 'a.bin': b }), { name: 'a/files/b' }), /invalid model name "a\/files\/b": its part "files"/);
    await t.store.import(put('ok2', { 'a.bin': b }), { name: 'Llama' });
    await assert.rejects(t.store.import(put('ok3', { 'b.bin': b }), { name: 'llama' }), (e: unknown) => e instanceof TesseraError && e.kind === 'conflict' && /differs from the stored "Llama" only in letter case/.test(e.message));
    await t.store.import(put('ok4', { 'c.bin': b }), { name: 'Llama' });
    assert.equal((await t.store.list()).filter((m) => m.name === 'Llama').length, 2, 'a new version of the name itself is fine');
    assert.equal(await t.store.find({ name: 'ctl' }), undefined, 'a refused import stores nothing');
  } finally {
    await t.cleanup();
  }
});

/** A store holding names written before the policy (renamed behind the importer's back, as an older Tessera stored them). */
async function legacyStore(kind: BackendKind, dir: string): Promise<{ store: Store; path: string; bytes: Buffer; drop: () => Promise<void> }> {
  const { location: path, drop } = tempLocation(kind, dir, 'legacy.db');
  const store = await Store.open(path);
  const bytes = randomBytes(3000, 4);
  const src = join(dir, 'w.bin');
  writeFileSync(src, bytes);
  await store.import(src, { name: 'tmp1' });
  await store.import(src, { name: 'tmp2' });
  await storeSql(path, "UPDATE models SET name = 'a/files/b' WHERE name = 'tmp1' RETURNING id");
  await storeSql(path, "UPDATE models SET name = 'x//y' WHERE name = 'tmp2' RETURNING id");
  await storeSql(path, "UPDATE files SET path = 'dir/cafe\u0301 \u0001.bin' WHERE model_id = (SELECT id FROM models WHERE name = 'x//y') RETURNING id");
  return { store, path, bytes, drop };
}

for (const kind of kinds) test(`${kind}: names stored before the policy: found, shown, exported, removed; migrate copies them as they are and reports them`, async () => {
  const { dir, cleanup } = tempDir();
  const { store, bytes, drop } = await legacyStore(kind, dir);
  try {
    assert.ok(await store.find(parseModelRef('a/files/b')));
    const show = await store.show(parseModelRef('x//y:1'));
    assert.deepEqual(show.files.map((f) => f.path), ['dir/cafe\u0301 \u0001.bin']);
    const out = join(dir, 'out');
    mkdirSync(out);
    await store.export(parseModelRef('x//y'), out);
    assert.ok(readFileSync(join(out, 'dir/cafe\u0301 \u0001.bin')).equals(bytes));
    const target = await Store.open(join(dir, 'target.db'));
    try {
      const r = await Store.migrate(store, target);
      assert.equal(r.modelsCopied, 2);
      assert.deepEqual(r.legacyNames.map((l) => [l.model, l.file ?? null]), [['a/files/b:1', null], ['x//y:1', null], ['x//y:1', 'dir/cafe\u0301 \u0001.bin']]);
      assert.match(r.legacyNames[2]!.problem, /control character U\+0001/);
      assert.deepEqual((await target.files((await target.find({ name: 'x//y' }))!)).map((f) => f.path), ['dir/cafe\u0301 \u0001.bin']);
    } finally {
      await target.close();
    }
    await store.remove(parseModelRef('a/files/b:1'));
    assert.equal(await store.find({ name: 'a/files/b' }), undefined);
  } finally {
    await store.close();
    await drop();
    cleanup();
  }
});

for (const kind of kinds) test(`${kind}: migrate stops before copying anything when the source holds a path no store may hold`, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { store, path, drop } = await legacyStore(kind, dir);
    await storeSql(path, "UPDATE files SET path = '../escape.bin' WHERE model_id = (SELECT id FROM models WHERE name = 'a/files/b') RETURNING id");
    const target = await Store.open(join(dir, 'target.db'));
    try {
      await assert.rejects(Store.migrate(store, target), /a\/files\/b:1 has the file path "\.\.\/escape\.bin", which no store may hold/);
      assert.deepEqual(await target.list(), []);
    } finally {
      await target.close();
      await store.close();
      await drop();
    }
  } finally {
    cleanup();
  }
});
