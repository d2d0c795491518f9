/**
 * The HTTP details of file downloads and uploads against RFC 9110: every
 * edge of a byte range (suffixes, open ends, numbers past 2^53, whitespace,
 * unit case, several ranges, an empty file) and the preconditions If-Match
 * and If-None-Match on GET, HEAD and PUT.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from '../helpers/store-fixtures.js';
import { http, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { parseRange } from '../../src/serve/http/range.js';

let s: TestServer;
const data = randomBytes(1000, 3);
const tag = `"${createHash('sha256').update(data).digest('hex')}"`;
before(async () => {
  s = await serveModels([]);
  // A model with an empty file (uploads refuse empty bodies; a directory import keeps one).
  const dir = join(s.dir, 'with-empty');
  mkdirSync(dir);
  writeFileSync(join(dir, 'empty.bin'), '');
  writeFileSync(join(dir, 'data.bin'), data);
  await s.store.import(dir, { name: 'm' });
  await s.server.context.catalog.refresh();
});
after(async () => {
  await s.close();
});

test('parseRange follows RFC 9110 on every edge: one range, suffixes, open ends, exact numbers, unit case, list syntax', () => {
  const cases: [string, number, ReturnType<typeof parseRange>][] = [
    ['bytes=0-', 1000, { start: 0, end: 1000 }],
    ['bytes=0-0', 1000, { start: 0, end: 1 }],
    ['bytes=999-999', 1000, { start: 999, end: 1000 }],
    ['bytes=-1', 1000, { start: 999, end: 1000 }],
    ['bytes=-1000', 1000, { start: 0, end: 1000 }],
    ['bytes=0-999', 1000, { start: 0, end: 1000 }],
    ['bytes=007-010', 1000, { start: 7, end: 11 }],
    // Past the end: clamped (RFC 9110 14.1.2), or nothing to send.
    ['bytes=500-99999999999999999999999', 1000, { start: 500, end: 1000 }],
    ['bytes=-99999999999999999999', 1000, { start: 0, end: 1000 }],
    ['bytes=1000-', 1000, 'unsatisfiable'],
    ['bytes=1000-1000', 1000, 'unsatisfiable'],
    ['bytes=99999999999999999999-', 1000, 'unsatisfiable'],
    ['bytes=-0', 1000, 'unsatisfiable'],
    ['bytes=-000', 1000, 'unsatisfiable'],
    // Invalid: ignored (the whole file). Last before first, exactly, even past 2^53.
    ['bytes=5-2', 1000, undefined],
    ['bytes=9007199254740993-9007199254740992', 1000, undefined],
    // Range units are case-insensitive; list syntax allows OWS around commas and empty elements.
    ['Bytes=0-1', 1000, { start: 0, end: 2 }],
    ['BYTES=0-1', 1000, { start: 0, end: 2 }],
    [' bytes=0-1 ', 1000, { start: 0, end: 2 }],
    ['bytes=0-1,', 1000, { start: 0, end: 2 }],
    ['bytes=, 0-1 ,', 1000, { start: 0, end: 2 }],
    // Several ranges: the whole file (a server may ignore Range; no multipart here).
    ['bytes=0-1,5-6', 1000, undefined],
    ['bytes=0-1, 5-6', 1000, undefined],
    ['bytes=2000-,3000-', 1000, undefined],
    // Not the grammar.
    ['bytes = 0-1', 1000, undefined],
    ['bytes=0 - 1', 1000, undefined],
    ['bytes=', 1000, undefined],
    ['bytes=,', 1000, undefined],
    ['bytes=-', 1000, undefined],
    ['bytes=1-2-3', 1000, undefined],
    ['bytes=0x10-20', 1000, undefined],
    ['bytes=+1-2', 1000, undefined],
    ['bytes=\u0661-\u0662', 1000, undefined],
    ['items=0-1', 1000, undefined],
    ['bytes0-1', 1000, undefined],
    // An empty file has no byte to point at: every range is answered 416 (see download()).
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=0-0', 0, 'unsatisfiable'],
    ['bytes=-5', 0, 'unsatisfiable'],
    ['bytes=-0', 0, 'unsatisfiable'],
  ];
  for (const [header, size, want] of cases) assert.deepEqual(parseRange(header, size), want, `${JSON.stringify(header)} of ${size} bytes`);
  assert.equal(parseRange(undefined, 10), undefined);
});

test('a Range on an empty file is 416 with Content-Range bytes */0; without one it is a 200 of nothing', async () => {
  const url = `${s.url}/v2/models/m/files/empty.bin`;
  for (const range of ['bytes=-5', 'bytes=0-', 'bytes=0-0', 'bytes=-0']) {
    const r = await http(url, { headers: { Range: range } });
    assert.equal(r.status, 416, range);
    assert.equal(r.headers.get('content-range'), 'bytes */0', range);
  }
  const whole = await http(url);
  assert.equal(whole.status, 200);
  assert.equal(whole.body.length, 0);
  assert.equal(whole.headers.get('content-range'), null);
});

test('If-Match on GET and HEAD: strong comparison with the SHA-256 ETag, * and lists; 412 when none matches', async () => {
  const url = `${s.url}/v2/models/m/files/data.bin`;
  for (const ok of [tag, '*', `"nope", ${tag}`, ` ${tag} `]) {
    const r = await http(url, { headers: { 'If-Match': ok } });
    assert.equal(r.status, 200, ok);
    assert.ok(r.body.equals(data));
  }
  for (const bad of ['"nope"', `W/${tag}`, tag.slice(0, -2) + '"', '', '"a", "b"']) {
    for (const method of ['GET', 'HEAD']) {
      const r = await http(url, { method, headers: { 'If-Match': bad } });
      assert.equal(r.status, 412, `${method} If-Match: ${bad}`);
      assert.equal(r.headers.get('etag'), tag, 'the answer says what the current tag is');
    }
  }
  // If-Match is evaluated before If-None-Match and Range.
  assert.equal((await http(url, { headers: { 'If-Match': '"nope"', 'If-None-Match': tag } })).status, 412);
  assert.equal((await http(url, { headers: { 'If-Match': '"nope"', Range: 'bytes=0-1' } })).status, 412);
  assert.equal((await http(url, { headers: { 'If-Match': tag, Range: 'bytes=0-1' } })).status, 206);
  // If-None-Match keeps its weak comparison (304 on GET and HEAD).
  assert.equal((await http(url, { headers: { 'If-None-Match': `W/${tag}` } })).status, 304);
  assert.equal((await http(url, { method: 'HEAD', headers: { 'If-None-Match': '*' } })).status, 304);
  // A file that does not exist is a 404 whatever the preconditions (they apply only to a 2xx answer).
  assert.equal((await http(`${s.url}/v2/models/m/files/nope.bin`, { headers: { 'If-Match': '*' } })).status, 404);
});

test('PUT evaluates If-Match and If-None-Match against what GET of the same URL answers: 412 when they fail, nothing stored', async () => {
  const v1 = `${s.url}/v2/models/up/versions/1/files/w.bin`;
  const first = randomBytes(500, 9);
  const firstTag = `"${createHash('sha256').update(first).digest('hex')}"`;
  // Nothing there yet: If-Match fails (even *), If-None-Match: * creates.
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-Match': '*' } })).status, 412);
  assert.equal((await http(`${s.url}/v2/models/up`)).status, 404, 'a failed precondition stores nothing');
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-None-Match': '*' } })).status, 201);
  // Now there: If-None-Match: * (or its tag) fails; If-Match with its tag is the plain PUT (the same bytes: 200).
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-None-Match': '*' } })).status, 412);
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-None-Match': firstTag } })).status, 412);
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-Match': '"stale"' } })).status, 412);
  assert.equal((await http(v1, { method: 'PUT', body: first, headers: { 'If-Match': firstTag } })).status, 200);
  // Without a version the URL names the latest version's file: a new version only while the latest is what the client saw.
  const latest = `${s.url}/v2/models/up/files/w.bin`;
  const second = randomBytes(500, 10);
  assert.equal((await http(latest, { method: 'PUT', body: second, headers: { 'If-Match': '"stale"' } })).status, 412);
  const made = await http(latest, { method: 'PUT', body: second, headers: { 'If-Match': firstTag } });
  assert.equal(made.status, 201, made.body.toString());
  assert.equal(made.json<{ version: string }>().version, '2');
  assert.equal((await http(latest, { method: 'PUT', body: second, headers: { 'If-Match': firstTag } })).status, 412, 'the latest changed');
  // Another process imports a version behind the server's back: the preconditions see it.
  const third = randomBytes(500, 11);
  mkdirSync(join(s.dir, 'other'));
  writeFileSync(join(s.dir, 'other', 'w.bin'), third);
  assert.equal((await s.store.import(join(s.dir, 'other', 'w.bin'), { name: 'up' })).model.version, 3);
  const thirdTag = `"${createHash('sha256').update(third).digest('hex')}"`;
  const fourth = await http(latest, { method: 'PUT', body: randomBytes(500, 12), headers: { 'If-Match': thirdTag } });
  assert.equal(fourth.status, 201, fourth.body.toString());
  assert.equal(fourth.json<{ version: string }>().version, '4');
});
