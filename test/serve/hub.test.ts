/**
 * The Hugging Face Hub API, driven by the real client (@huggingface/hub, as
 * installed from npm) against a server on a real store, and by plain HTTP for
 * what huggingface_hub (Python, not installable here) reads: HEAD headers,
 * Range resumes, X-Error-Code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, fileDownloadInfo, listFiles, listModels, modelInfo, pathsInfo, snapshotDownload } from '@huggingface/hub';
import { VAD_MODELS } from '../helpers/store-fixtures.js';
import { commitId, lfsPointer } from '../../src/serve/hub/commits.js';
import { http, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';
import { importLossyPair } from '../helpers/lossy-fixture.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Fixture {
  t: TestServer;
  v1: Record<string, Buffer>;
  v2: Record<string, Buffer>;
}

/** org/tiny: version 1 (config.json, onnx/model.onnx), version 2 (config.json changed, README.md added); and plain "vad". */
async function fixture(): Promise<Fixture> {
  const t = await serveModels([['vad', VAD_MODELS[1]!]]);
  const onnx = readFileSync(VAD_MODELS[1]!);
  const v1 = { 'config.json': Buffer.from('{"model_type":"tiny","hidden":4}\n'), 'onnx/model.onnx': onnx };
  const v2 = { 'config.json': Buffer.from('{"model_type":"tiny","hidden":8}\n'), 'onnx/model.onnx': onnx, 'README.md': Buffer.from('# tiny\n') };
  for (const [i, files] of [v1, v2].entries()) {
    const dir = join(t.dir, `v${i + 1}`);
    for (const [p, b] of Object.entries(files)) {
      mkdirSync(join(dir, p, '..'), { recursive: true });
      writeFileSync(join(dir, p), b);
    }
    await t.store.import(dir, { name: 'org/tiny' });
  }
  await t.server.context.catalog.refresh();
  return { t, v1, v2 };
}

/** A GET whose path goes out exactly as written (fetch would resolve '..' and '%2E%2E' before sending). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString('utf8') }));
    }).on('error', reject).end();
  });
}

const blobText = async (b: Blob | null): Promise<Buffer> => Buffer.from(await b!.arrayBuffer());

test('commit ids and LFS pointers: the spec vectors (hub.md)', () => {
  // The pointer of the empty file; its blob id is what `git hash-object` gives for that text.
  const p = lfsPointer('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0);
  assert.equal(p.size, 126);
  assert.equal(p.oid, 'fc8e42b32efb9a9bf3ae0234a18a948e499490f8');
  const empty = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');
  assert.equal(commitId('org/tiny', 1, [{ path: 'a.bin', size: 0, sha256: empty }]), '5395103f17e008c4f0fd7d4ef8b742226335015b');
  // Path order, not listing order; the version and the name count.
  const files = [{ path: 'b', size: 1, sha256: empty }, { path: 'a', size: 2, sha256: empty }];
  assert.equal(commitId('x', 1, files), commitId('x', 1, [...files].reverse()));
  assert.notEqual(commitId('x', 1, files), commitId('x', 2, files));
  assert.notEqual(commitId('x', 1, files), commitId('y', 1, files));
});

test('@huggingface/hub lists, describes and downloads from Tessera as from the Hub', async () => {
  const { t, v1, v2 } = await fixture();
  const hubUrl = t.url;
  try {
    const models = [];
    for await (const m of listModels({ hubUrl, additionalFields: ['sha', 'tags'] })) models.push(m);
    assert.deepEqual(models.map((m) => m.name), ['org/tiny', 'vad']);
    const found = [];
    for await (const m of listModels({ hubUrl, search: { query: 'TIN' } })) found.push(m.name);
    assert.deepEqual(found, ['org/tiny']);
    const owned = [];
    for await (const m of listModels({ hubUrl, search: { owner: 'org' } })) owned.push(m.name);
    assert.deepEqual(owned, ['org/tiny']);
    const limited = [];
    for await (const m of listModels({ hubUrl, limit: 1 })) limited.push(m.name);
    assert.deepEqual(limited, ['org/tiny']);

    const info = await modelInfo({ name: 'org/tiny', hubUrl, additionalFields: ['sha', 'filePaths'] });
    assert.equal(info.name, 'org/tiny');
    assert.equal(info.private, false);
    assert.deepEqual([...info.filePaths].sort(), Object.keys(v2).sort());
    assert.match(info.sha, /^[0-9a-f]{40}$/);
    const first = await modelInfo({ name: 'org/tiny', hubUrl, revision: '1', additionalFields: ['sha', 'filePaths'] });
    assert.deepEqual([...first.filePaths].sort(), Object.keys(v1).sort());
    assert.notEqual(first.sha, info.sha);
    // A commit id names its version; so does the version number.
    const again = await modelInfo({ name: 'org/tiny', hubUrl, revision: first.sha, additionalFields: ['sha'] });
    assert.equal(again.sha, first.sha);

    const top = [];
    for await (const e of listFiles({ repo: 'org/tiny', hubUrl })) top.push(`${e.type}:${e.path}`);
    assert.deepEqual(top, ['file:README.md', 'file:config.json', 'directory:onnx']);
    const all = [];
    for await (const e of listFiles({ repo: 'org/tiny', hubUrl, recursive: true, revision: '1', expand: true })) all.push(e);
    assert.deepEqual(all.map((e) => e.path), ['config.json', 'onnx', 'onnx/model.onnx']);
    const model = all.find((e) => e.path === 'onnx/model.onnx')!;
    assert.equal(model.size, v1['onnx/model.onnx'].length);
    assert.equal(model.lfs?.oid, sha256(v1['onnx/model.onnx']));
    assert.equal(model.oid, lfsPointer(sha256(v1['onnx/model.onnx']), model.size).oid);
    assert.equal(model.lastCommit?.id, first.sha);
    const sub = [];
    for await (const e of listFiles({ repo: 'org/tiny', hubUrl, path: 'onnx' })) sub.push(e.path);
    assert.deepEqual(sub, ['onnx/model.onnx']);

    const paths = await pathsInfo({ repo: 'org/tiny', hubUrl, paths: ['config.json', 'onnx', 'nope.txt'], expand: true });
    assert.deepEqual(paths.map((p) => `${p.type}:${p.path}`), ['file:config.json', 'directory:onnx']);
    assert.equal(paths[0]!.lastCommit.id, info.sha);

    assert.deepEqual(await blobText(await downloadFile({ repo: 'org/tiny', path: 'config.json', hubUrl })), v2['config.json']);
    assert.deepEqual(await blobText(await downloadFile({ repo: 'org/tiny', path: 'config.json', hubUrl, revision: '1' })), v1['config.json']);
    assert.deepEqual(await blobText(await downloadFile({ repo: 'vad', path: 'silero_vad_v5.onnx', hubUrl })), readFileSync(VAD_MODELS[1]!));
    assert.equal(await downloadFile({ repo: 'org/tiny', path: 'missing.bin', hubUrl }), null);
    const dl = await fileDownloadInfo({ repo: 'org/tiny', path: 'onnx/model.onnx', hubUrl });
    assert.equal(dl!.size, v2['onnx/model.onnx'].length);
    assert.equal(dl!.etag, `"${sha256(v2['onnx/model.onnx'])}"`);
    await assert.rejects(modelInfo({ name: 'org/none', hubUrl }), (e: Error & { statusCode?: number }) => e.statusCode === 404);
    await assert.rejects(modelInfo({ name: 'org/tiny', hubUrl, revision: '9' }), (e: Error & { statusCode?: number }) => e.statusCode === 404);
  } finally {
    await t.close();
  }
});

test('@huggingface/hub snapshotDownload fills a cache directory the way the Hub does (refs, snapshots by commit, blobs by ETag)', async () => {
  const { t, v2 } = await fixture();
  const cacheDir = mkdtempSync(join(tmpdir(), 'tessera-hf-cache-'));
  try {
    const folder = await snapshotDownload({ repo: 'org/tiny', hubUrl: t.url, cacheDir });
    const info = await modelInfo({ name: 'org/tiny', hubUrl: t.url, additionalFields: ['sha'] });
    assert.equal(folder, join(cacheDir, 'models--org--tiny', 'snapshots', info.sha));
    assert.equal(readFileSync(join(cacheDir, 'models--org--tiny', 'refs', 'main'), 'utf8'), info.sha);
    for (const [p, b] of Object.entries(v2)) {
      assert.deepEqual(readFileSync(join(folder, p)), b, p);
      assert.match(readlinkSync(join(folder, p)), new RegExp(`blobs/${sha256(b)}$`));
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    await t.close();
  }
});

test('what huggingface_hub reads: HEAD headers, a resumed download (206), 416, and X-Error-Code on every kind of miss', async () => {
  const { t, v2 } = await fixture();
  try {
    const onnx = v2['onnx/model.onnx'];
    const url = `${t.url}/org/tiny/resolve/main/onnx/model.onnx`;
    const head = await http(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const info = await modelInfo({ name: 'org/tiny', hubUrl: t.url, additionalFields: ['sha'] });
    assert.equal(head.headers.get('x-repo-commit'), info.sha);
    assert.equal(head.headers.get('x-linked-etag'), `"${sha256(onnx)}"`);
    assert.equal(head.headers.get('etag'), `"${sha256(onnx)}"`);
    assert.equal(head.headers.get('x-linked-size'), String(onnx.length));
    assert.equal(head.headers.get('content-length'), String(onnx.length));
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
    assert.equal(head.body.length, 0);
    // The models/ prefix, a version number and the commit id reach the same file.
    for (const u of [`${t.url}/models/org/tiny/resolve/2/onnx/model.onnx`, `${t.url}/org/tiny/resolve/${info.sha}/onnx/model.onnx`]) {
      assert.deepEqual((await http(u)).body, onnx, u);
    }
    // An interrupted download resumes from where it stopped.
    const rest = await http(url, { headers: { Range: `bytes=1000-` } });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers.get('content-range'), `bytes 1000-${onnx.length - 1}/${onnx.length}`);
    assert.deepEqual(rest.body, onnx.subarray(1000));
    assert.equal((await http(url, { headers: { Range: `bytes=${onnx.length + 5}-` } })).status, 416);
    // An absurd range is a 416 too, not a crash or a huge allocation; a malformed one gets the whole file.
    assert.equal((await http(url, { headers: { Range: `bytes=${'9'.repeat(40)}-` } })).status, 416);
    assert.equal((await http(url, { headers: { Range: 'bytes=9-2' } })).status, 200);

    const misses: [string, string][] = [
      [`${t.url}/org/none/resolve/main/config.json`, 'RepoNotFound'],
      [`${t.url}/org/tiny/resolve/refs%2Fpr%2F1/config.json`, 'RevisionNotFound'],
      [`${t.url}/org/tiny/resolve/${'0'.repeat(40)}/config.json`, 'RevisionNotFound'],
      [`${t.url}/org/tiny/resolve/7/config.json`, 'RevisionNotFound'],
      [`${t.url}/org/tiny/resolve/main/nope.json`, 'EntryNotFound'],
      [`${t.url}/api/models/org/tiny/tree/main/nope`, 'EntryNotFound'],
      [`${t.url}/api/models/org/none`, 'RepoNotFound'],
    ];
    for (const [u, code] of misses) {
      for (const method of ['GET', 'HEAD']) {
        const r = await http(u, { method });
        assert.equal(r.status, 404, `${method} ${u}`);
        assert.equal(r.headers.get('x-error-code'), code, `${method} ${u}`);
        if (method === 'GET') assert.equal(typeof r.json<{ error: string }>().error, 'string');
      }
    }
  } finally {
    await t.close();
  }
});

test('a lossy revision has the tag "lossy", its record in tessera.lossy and X-Tessera-Lossy on its files; a lossless revision none of them', async () => {
  const t = await serveModels([['vad', VAD_MODELS[1]!]]);
  try {
    const pair = await importLossyPair(t.store, t.dir, 'org/approx');
    await t.server.context.catalog.refresh();
    type Info = { id: string; tags: string[]; tessera: { version: number; lossy: unknown } };
    const latest = (await http(`${t.url}/api/models/org/approx`)).json<Info>();
    assert.deepEqual(latest.tags, ['onnx', 'tessera', 'lossy']);
    assert.equal(latest.tessera.version, 2);
    assert.deepEqual(latest.tessera.lossy, pair.info);
    const first = (await http(`${t.url}/api/models/org/approx/revision/1`)).json<Info>();
    assert.deepEqual(first.tags, ['onnx', 'tessera']);
    assert.equal(first.tessera.lossy, null);
    assert.deepEqual((await http(`${t.url}/api/models/vad`)).json<Info>().tessera.lossy, null);
    // The Hub's tag filter finds the repos whose latest revision is lossy.
    assert.deepEqual((await http(`${t.url}/api/models?filter=lossy`)).json<Info[]>().map((m) => m.id), ['org/approx']);
    assert.deepEqual((await http(`${t.url}/api/models?filter=tessera`)).json<Info[]>().map((m) => m.id), ['org/approx', 'vad']);

    const file = await http(`${t.url}/org/approx/resolve/main/model.onnx`);
    assert.equal(file.status, 200);
    assert.ok(file.body.equals(readFileSync(pair.lossyFile)));
    assert.equal(file.headers.get('x-tessera-lossy'), 'org/approx:1');
    const original = await http(`${t.url}/org/approx/resolve/1/model.onnx`, { method: 'HEAD' });
    assert.equal(original.status, 200);
    assert.equal(original.headers.get('x-tessera-lossy'), null);
  } finally {
    await t.close();
  }
});

test('bad repo ids, revisions, paths, cursors and paths-info bodies get a clear 400 and change nothing', async () => {
  const { t } = await fixture();
  try {
    const before = await http(`${t.url}/api/stats`);
    const bad = [
      `/org/tiny/resolve/main/..%2Fconfig.json`,
      `/org/tiny/resolve/main/a/../config.json`,
      `/org/tiny/resolve/main/a/%2E%2E/config.json`,
      `/org/tiny/resolve/main/./config.json`,
      `/org/tiny/resolve/main/a//config.json`,
      `/org/tiny/resolve/main/a%00b`,
      `/org/tiny/resolve/${'x'.repeat(300)}/config.json`,
      `/or..g/tiny/resolve/main/config.json`,
      `/org%2Ftiny%2Fx/resolve/main/config.json`,
      `/${'a'.repeat(120)}/resolve/main/config.json`,
      `/api/models?limit=0`,
      `/api/models?limit=-3`,
      `/api/models?cursor=%00%00`,
      `/api/models/org/tiny/tree/main?cursor=zzzzzzzzzzzzzzzzzzzz`,
    ];
    for (const path of bad) {
      const r = await rawGet(t.url, path);
      assert.equal(r.status, 400, `${path}: ${r.body}`);
      assert.equal(typeof (JSON.parse(r.body) as { error: string }).error, 'string');
    }
    const post = (body: string, type = 'application/json'): Promise<{ status: number }> =>
      http(`${t.url}/api/models/org/tiny/paths-info/main`, { method: 'POST', body, headers: { 'Content-Type': type } });
    assert.equal((await post('{')).status, 400);
    assert.equal((await post('{"paths": "config.json"}')).status, 400);
    assert.equal((await post('{"paths": [1]}')).status, 400);
    assert.equal((await post(JSON.stringify({ paths: Array.from({ length: 10_001 }, (_, i) => `f${i}`) }))).status, 400);
    assert.equal((await post('x'.repeat((1 << 20) + 1))).status, 413);
    // The Python client's form body.
    const form = await http(`${t.url}/api/models/org/tiny/paths-info/main`, { method: 'POST', body: 'paths=config.json&paths=README.md&expand=True', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.deepEqual(form.json<{ path: string }[]>().map((e) => e.path), ['config.json', 'README.md']);
    assert.deepEqual((await http(`${t.url}/api/stats`)).json(), before.json());
  } finally {
    await t.close();
  }
});

test('listings page with a Link header the clients follow, whatever the page size', async () => {
  const t = await serveModels([]);
  try {
    const dir = join(t.dir, 'many');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    for (let i = 0; i < 25; i++) writeFileSync(join(dir, i % 2 ? 'sub' : '.', `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`);
    for (let i = 0; i < 7; i++) await t.store.import(join(dir, 'sub', 'f01.txt'), { name: `m${i}` });
    await t.store.import(dir, { name: 'many' });
    await t.server.context.catalog.refresh();
    const r = await http(`${t.url}/api/models/many/tree/main?recursive=true&limit=10`);
    const link = r.headers.get('link')!;
    assert.match(link, /^<http:\/\/[^>]+cursor=[^>]+>; rel="next"$/);
    let url: string | undefined = `${t.url}/api/models/many/tree/main?recursive=true&limit=10`;
    const seen: string[] = [];
    while (url) {
      const page = await http(url);
      seen.push(...page.json<{ path: string }[]>().map((e) => e.path));
      url = /<([^>]+)>; rel="next"/.exec(page.headers.get('link') ?? '')?.[1];
    }
    assert.equal(seen.length, 26);
    assert.equal(new Set(seen).size, 26);
    const names: string[] = [];
    for await (const m of listModels({ hubUrl: t.url })) names.push(m.name);
    assert.deepEqual(names, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'many']);
    const two = await http(`${t.url}/api/models?limit=3`);
    assert.equal(two.json<unknown[]>().length, 3);
    assert.match(two.headers.get('link') ?? '', /rel="next"/);
    // Behind a TLS proxy the link points where the client came from.
    const proxied = await http(`${t.url}/api/models?limit=3`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hub.example.com' } });
    assert.match(proxied.headers.get('link') ?? '', /^<https:\/\/hub\.example\.com\/api\/models\?limit=3&cursor=[^>]+>; rel="next"$/);
  } finally {
    await t.close();
  }
});
