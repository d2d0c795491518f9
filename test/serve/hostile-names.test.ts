/**
 * Names a hostile client sends through the HTTP API: model names that would
 * shadow other URLs, file paths with control characters, Unicode that needs
 * escaping in headers, NFD spellings, paths too long for a file system.
 * Every one is refused with a 400 naming the rule, or stored and served back
 * under a header every client can read.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { VAD_MODELS, randomBytes } from '../helpers/store-fixtures.js';
import { codePoint, controlChars, shadowingModelNames, utf8OfLength } from '../helpers/hostile-names.js';
import { PROTOCOL_WORDS, ROUTE_WORDS } from '../../src/store/names.js';
import { http, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';

const RESERVED = [...ROUTE_WORDS, ...PROTOCOL_WORDS];

let s: TestServer;
const body = randomBytes(3000, 7);
before(async () => {
  s = await serveModels([['a', VAD_MODELS[1]!]]);
});
after(async () => {
  await s.close();
});

const enc = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
const put = (name: string, path: string, data: Buffer = body): ReturnType<typeof http> =>
  http(`${s.url}/v2/models/${encodeURIComponent(name)}/files/${enc(path)}`, { method: 'PUT', body: data });

test('model names that would shadow other URLs are refused at upload, with the rule they break', async () => {
  // ".." alone cannot be sent: a URL parser drops it as a dot segment, even percent-encoded.
  for (const name of shadowingModelNames(RESERVED).filter((n) => n !== '..')) {
    const r = await put(name, 'c.bin');
    assert.equal(r.status, 400, `${name}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, /invalid model name/, name);
  }
  // A file path may hold those words: it comes last in the URL.
  const ok = await put('m', 'files/versions/infer.bin');
  assert.equal(ok.status, 201, ok.body.toString());
  assert.ok((await http(`${s.url}/v2/models/m/files/files/versions/infer.bin`)).body.equals(body));
  // So the file URL of model "a" answers for model "a" only.
  const shadow = await http(`${s.url}/v2/models/a/files/b/files/c.onnx`);
  assert.equal(shadow.status, 404);
  assert.match(shadow.json<{ error: string }>().error, /model a:1 has no file "b\/files\/c\.onnx"/);
});

test('file paths with a control character of any class are refused, naming the character', async () => {
  for (const { cls, ch } of controlChars()) {
    if (ch === '\0') continue; // refused before too (and by every file system)
    const r = await put('ctl', `bad${ch}name.bin`);
    assert.equal(r.status, 400, `${cls} ${codePoint(ch)}: ${r.body.toString()}`);
    assert.match(r.json<{ error: string }>().error, /control character/, codePoint(ch));
  }
  assert.equal((await http(`${s.url}/v2/models/ctl`)).status, 404, 'nothing was stored');
});

test('over-long paths are a 400 naming the limit, never a file-system error or the temporary directory', async () => {
  assert.equal((await put('long', utf8OfLength(255))).status, 201, '255 bytes in one segment fit');
  for (const p of [utf8OfLength(256), `d/${utf8OfLength(300)}`, 'x'.repeat(5000), `${'a'.repeat(200)}/`.repeat(6) + 'f.bin']) {
    const r = await put('long2', p);
    assert.equal(r.status, 400, r.body.toString());
    const error = r.json<{ error: string }>().error;
    assert.match(error, /bytes/);
    assert.doesNotMatch(error, /ENAMETOOLONG|tessera-upload-|\/tmp\//);
  }
});

