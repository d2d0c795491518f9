/**
 * Names a hostile client sends through the HTTP API: model names that would
 * shadow other URLs, file paths with control characters, Unicode that needs
 * escaping in headers, NFD spellings, paths too long for a file system.
 * Every one is refused with a 400 naming the rule, or stored and served back
 * under a header every client can read.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VAD_MODELS, randomBytes, storeSql } from '../helpers/store-fixtures.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AWKWARD_FILE_NAMES, NFC_NFD_PAIRS, codePoint, controlChars, shadowingModelNames, utf8OfLength } from '../helpers/hostile-names.js';
import { PROTOCOL_WORDS, ROUTE_WORDS } from '../../src/store/names.js';
import { sendError } from '../../src/serve/http/respond.js';
import { http, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { rawExchange } from './raw-http.js';

const RESERVED = [...ROUTE_WORDS, ...PROTOCOL_WORDS];

let s: TestServer;
const body = randomBytes(3000, 7);
const onnx = readFileSync(VAD_MODELS[1]!);
before(async () => {
  s = await serveModels([['a', VAD_MODELS[1]!]]);
});
after(async () => {
  await s.close();
});

const enc = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
const put = (name: string, path: string, data: Buffer = body): ReturnType<typeof http> =>
  http(`${s.url}/v2/models/${encodeURIComponent(name)}/files/${enc(path)}`, { method: 'PUT', body: data });

/** The file name a Content-Disposition header gives: RFC 8187's filename* when present, else the quoted filename. */
export function dispositionName(header: string): { name: string; fallback: string } {
  const star = /filename\*=UTF-8''([^;\s]+)/i.exec(header);
  const plain = /filename="((?:[^"\\]|\\.)*)"/.exec(header);
  assert.ok(plain, `no filename in ${header}`);
  const fallback = plain[1]!.replace(/\\(.)/g, '$1');
  return { name: star ? decodeURIComponent(star[1]!) : fallback, fallback };
}

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

test('Unicode and awkward file names upload, and download with an ASCII-only RFC 6266 / 8187 Content-Disposition', async () => {
  for (const [i, name] of AWKWARD_FILE_NAMES.entries()) {
    // An .onnx name gets ONNX bytes (the reader refuses others).
    const data = name.endsWith('.onnx') ? onnx : body;
    const r = await put(`uni-${i}`, `dir/${name}`, data);
    assert.equal(r.status, 201, `${name}: ${r.body.toString()}`);
    const d = await http(`${s.url}/v2/models/uni-${i}/files/${enc(`dir/${name}`)}`);
    assert.equal(d.status, 200, `${name}: ${d.body.toString()}`);
    assert.ok(d.body.equals(data));
    const cd = d.headers.get('content-disposition')!;
    assert.match(cd, /^attachment; filename="/);
    assert.ok(/^[\x20-\x7e]*$/.test(cd), `${name}: the header is printable ASCII: ${cd}`);
    const { name: got, fallback } = dispositionName(cd);
    assert.equal(got, name.normalize('NFC'), cd);
    assert.ok(!/[%"\\;]/.test(fallback), `the fallback has no character a client could misread: ${fallback}`);
  }
  // The status line stays honest: a raw GET of a non-Latin-1 name gets "200 OK".
  const raw = await rawExchange(s.server.port, [`GET /v2/models/uni-1/files/${enc('dir/模型.onnx')} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`], 0, 5000);
  assert.match(raw.head, /^HTTP\/1\.1 200 OK\r\n/);
});

test('an NFD path is stored as NFC: the upload\'s Location, the file list and both spellings agree', async () => {
  for (const [i, [nfc, nfd]] of NFC_NFD_PAIRS.entries()) {
    const r = await put(`nf-${i}`, `${nfd}/${nfd}.bin`);
    assert.equal(r.status, 201, r.body.toString());
    assert.equal(r.json<{ path: string }>().path, `${nfc}/${nfc}.bin`);
    assert.equal(r.headers.get('location'), `/v2/models/nf-${i}/versions/1/files/${enc(`${nfc}/${nfc}.bin`)}`);
    const list = (await http(`${s.url}/v2/models/nf-${i}/files`)).json<{ files: { path: string }[] }>();
    assert.deepEqual(list.files.map((f) => f.path), [`${nfc}/${nfc}.bin`]);
    for (const spelling of [nfc, nfd]) {
      const d = await http(`${s.url}/v2/models/nf-${i}/files/${enc(`${spelling}/${spelling}.bin`)}`);
      assert.equal(d.status, 200, `${spelling}: ${d.body.toString()}`);
    }
  }
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

test('names stored before the policy are still served: a shadowing name through %2F, a path with a control character with an escaped header', async () => {
  const legacy = randomBytes(2000, 8);
  await put('tmp-legacy', 'w.bin', legacy);
  await storeSql(s.path, "UPDATE models SET name = 'a/files/b' WHERE name = 'tmp-legacy' RETURNING id");
  await storeSql(s.path, "UPDATE files SET path = 'x\u0001y.bin' WHERE model_id = (SELECT id FROM models WHERE name = 'a/files/b') RETURNING id");
  await s.server.context.catalog.refresh();
  const d = await http(`${s.url}/v2/models/a%2Ffiles%2Fb/files/x%01y.bin`);
  assert.equal(d.status, 200, d.body.toString());
  assert.ok(d.body.equals(legacy));
  assert.equal(d.headers.get('content-disposition'), "attachment; filename=\"x_y.bin\"; filename*=UTF-8''x%01y.bin");
  const list = (await http(`${s.url}/v2/models/a%2Ffiles%2Fb/files`)).json<{ files: { path: string }[] }>();
  assert.deepEqual(list.files.map((f) => f.path), ['x\u0001y.bin']);
  // New versions under it keep the policy.
  assert.equal((await put('a/files/b', 'w.bin', legacy)).status, 400);
  assert.equal((await http(`${s.url}/v2/models/a%2Ffiles%2Fb/versions/1`, { method: 'DELETE' })).status, 200);
});

test('an error answered after a header was refused gets its own status line, not "500 OK"', async () => {
  const server = createServer((_req, res) => {
    try {
      res.writeHead(200, { 'X-Name': 'caf\u0001' });
    } catch {
      sendError(res, 500, 'the header was refused');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const raw = await rawExchange((server.address() as AddressInfo).port, ['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], 0, 5000);
    assert.match(raw.head, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  } finally {
    server.close();
  }
});
