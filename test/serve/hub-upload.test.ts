/**
 * Uploads through the Hub's commit API with the real client
 * (@huggingface/hub from npm): createRepo, uploadFiles (regular and LFS
 * files), commit with deletions, deleteFile, under the server's token; each
 * commit a new version, deduplicated like any import; bad requests change
 * nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { commit, createRepo, deleteFile, downloadFile, listFiles, modelInfo, uploadFiles } from '@huggingface/hub';
import { VAD_MODELS } from '../helpers/store-fixtures.js';
import { http, serveModels } from './helpers.js';
import type { TestServer } from './helpers.js';

/** The client takes only tokens that look like the Hub's. */
const TOKEN = 'hf_tessera_test_token';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function files(t: TestServer, repo: string, revision = 'main'): Promise<string[]> {
  const out: string[] = [];
  for await (const e of listFiles({ repo, hubUrl: t.url, recursive: true, revision, accessToken: TOKEN })) if (e.type === 'file') out.push(e.path);
  return out.sort();
}

const text = async (t: TestServer, repo: string, path: string, revision = 'main'): Promise<Buffer> =>
  Buffer.from(await (await downloadFile({ repo, path, revision, hubUrl: t.url, accessToken: TOKEN }))!.arrayBuffer());

test('createRepo, uploadFiles, commit with deletions and deleteFile: each commit a version, LFS objects deduplicated', async () => {
  const t = await serveModels([], { token: TOKEN });
  const onnx = readFileSync(VAD_MODELS[1]!);
  const repo = 'team/vad-hub';
  const credentials = { accessToken: TOKEN };
  try {
    const created = await createRepo({ repo, hubUrl: t.url, ...credentials });
    assert.equal(created.repoUrl, `${t.url}/${repo}`);
    // As on the Hub, the new repo exists at once, with its initial commit's .gitattributes.
    assert.deepEqual(await files(t, repo), ['.gitattributes']);
    assert.match((await text(t, repo, '.gitattributes')).toString(), /\*\.onnx filter=lfs/);

    await uploadFiles({
      repo, hubUrl: t.url, ...credentials,
      files: [
        { path: 'config.json', content: new Blob([Buffer.from('{"sr": 16000}\n')]) },
        { path: 'onnx/model.onnx', content: new Blob([onnx]) },
      ],
    });
    assert.deepEqual(await files(t, repo), ['.gitattributes', 'config.json', 'onnx/model.onnx']);
    assert.deepEqual(await text(t, repo, 'onnx/model.onnx'), onnx);
    // The binary model went as an LFS object (one PUT to its ticket), the small JSON inside the commit.
    const metrics = (await http(`${t.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).body.toString();
    assert.match(metrics, /tessera_http_requests_total\{method="PUT",route="hub_lfs_upload",status="200"\} 1\n/);
    const v1 = await modelInfo({ name: repo, hubUrl: t.url, additionalFields: ['sha'], ...credentials });
    assert.equal((await t.store.find({ name: repo }))!.version, 2);

    // The same weights under another path, a changed config and a deletion: one version more.
    const before = (await t.store.stats()).storedBytes;
    const out = await commit({
      repo, hubUrl: t.url, ...credentials, title: 'rename the model',
      operations: [
        { operation: 'addOrUpdate', path: 'model.onnx', content: new Blob([onnx]) },
        { operation: 'addOrUpdate', path: 'config.json', content: new Blob([Buffer.from('{"sr": 8000}\n')]) },
        { operation: 'delete', path: 'onnx/model.onnx' },
      ],
    });
    assert.match(out!.commit.oid, /^[0-9a-f]{40}$/);
    assert.deepEqual(await files(t, repo), ['.gitattributes', 'config.json', 'model.onnx']);
    assert.equal((await text(t, repo, 'config.json')).toString(), '{"sr": 8000}\n');
    // The earlier version is still there, by number and by commit id.
    assert.deepEqual(await files(t, repo, '2'), ['.gitattributes', 'config.json', 'onnx/model.onnx']);
    assert.deepEqual(await text(t, repo, 'config.json', v1.sha), Buffer.from('{"sr": 16000}\n'));
    assert.equal((await t.store.find({ name: repo }))!.version, 3);
    // The model's bytes were stored once: the second version added little more than its rows.
    assert.ok((await t.store.stats()).storedBytes - before < onnx.length / 4, 'the moved weights are deduplicated');

    await deleteFile({ repo, path: 'config.json', hubUrl: t.url, ...credentials });
    assert.deepEqual(await files(t, repo), ['.gitattributes', 'model.onnx']);
    assert.equal((await t.store.find({ name: repo }))!.version, 4);
  } finally {
    await t.close();
  }
});

test('the LFS batch asks for no upload of an object the store holds, and a wrong object body is refused', async () => {
  const t = await serveModels([['vad', VAD_MODELS[1]!]], { token: TOKEN });
  const onnx = readFileSync(VAD_MODELS[1]!);
  const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
  try {
    const batch = (objects: { oid: string; size: number }[]): Promise<{ status: number; json<T>(): T }> =>
      http(`${t.url}/x/y.git/info/lfs/objects/batch`, { method: 'POST', headers: auth, body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects }) });
    const held = (await batch([{ oid: sha256(onnx), size: onnx.length }])).json<{ objects: { actions?: unknown }[] }>();
    assert.equal(held.objects[0]!.actions, undefined);
    const other = Buffer.from('some bytes that are not stored anywhere\n'.repeat(10));
    const fresh = (await batch([{ oid: sha256(other), size: other.length }])).json<{ transfer: string; objects: { actions: { upload: { href: string } } }[] }>();
    assert.equal(fresh.transfer, 'basic');
    const href = fresh.objects[0]!.actions.upload.href;
    // Other bytes than announced: 400 (same size, another SHA-256), and the ticket is spent.
    const wrong = Buffer.from(other);
    wrong[0] ^= 1;
    assert.equal((await http(href, { method: 'PUT', body: wrong })).status, 400);
    assert.equal((await http(href, { method: 'PUT', body: other })).status, 404);
    // More bytes than announced: 413 as they arrive.
    const again = (await batch([{ oid: sha256(other), size: other.length }])).json<{ objects: { actions: { upload: { href: string } } }[] }>();
    assert.equal((await http(again.objects[0]!.actions.upload.href, { method: 'PUT', body: Buffer.concat([other, Buffer.from('x')]) })).status, 413);
    // A commit naming an object never uploaded changes nothing.
    const line = (key: string, value: unknown): string => JSON.stringify({ key, value });
    const body = [line('header', { summary: 's' }), line('lfsFile', { path: 'w.bin', algo: 'sha256', oid: sha256(other), size: other.length })].join('\n');
    const r = await http(`${t.url}/api/models/x/y/commit/main`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/x-ndjson' }, body });
    assert.equal(r.status, 400);
    assert.equal(await t.store.find({ name: 'x/y' }), undefined);
    // Without the token nothing of the flow answers.
    assert.equal((await http(`${t.url}/api/repos/create`, { method: 'POST', body: '{"name":"z"}' })).status, 401);
    assert.equal((await http(`${t.url}/api/models/x/y/commit/main`, { method: 'POST', body })).status, 401);
  } finally {
    await t.close();
  }
});

test('malformed commits, batches and repo names get a clear 4xx and change nothing', async () => {
  const t = await serveModels([['vad', VAD_MODELS[1]!]], { token: TOKEN });
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const line = (key: string, value: unknown): string => JSON.stringify({ key, value });
  const header = line('header', { summary: 's' });
  try {
    const before = await http(`${t.url}/api/stats`, { headers: auth });
    const post = (path: string, body: string): Promise<{ status: number; body: Buffer }> => http(`${t.url}${path}`, { method: 'POST', headers: auth, body });
    const cases: [string, string, number][] = [
      ['/api/models/vad/commit/main', '', 400],
      ['/api/models/vad/commit/main', 'not json', 400],
      ['/api/models/vad/commit/main', line('file', { path: 'a', content: 'AA==' }), 400],
      ['/api/models/vad/commit/main', [header, line('file', { path: '../a', content: 'AA==' })].join('\n'), 400],
      ['/api/models/vad/commit/main', [header, line('file', { path: 'a', content: '!!' })].join('\n'), 400],
      ['/api/models/vad/commit/main', [header, line('mystery', { path: 'a' })].join('\n'), 400],
      ['/api/models/vad/commit/main', [header, line('lfsFile', { path: 'a', oid: 'xyz', size: 1 })].join('\n'), 400],
      ['/api/models/vad/commit/main', [header, line('deletedFile', { path: 'nope.bin' })].join('\n'), 404],
      ['/api/models/vad/commit/main', [header, line('deletedFile', { path: 'silero_vad_v5.onnx' })].join('\n'), 400],
      ['/api/models/vad/commit/main', [line('header', { summary: 's', parentCommit: '0'.repeat(40) }), line('file', { path: 'a', content: 'AA==' })].join('\n'), 412],
      ['/api/models/vad/commit/dev', [header, line('file', { path: 'a', content: 'AA==' })].join('\n'), 404],
      ['/api/models/vad/commit/main', [header, line('file', { path: 'silero_vad_v5.onnx/x', content: 'AA==' })].join('\n'), 400],
      ['/api/models/vad/commit/main', [header, ...Array.from({ length: 10_001 }, (_, i) => line('deletedFile', { path: `f${i}` }))].join('\n'), 400],
      ['/api/repos/create', '{"name": "a..b"}', 400],
      ['/api/repos/create', '{"name": "vad"}', 409],
      ['/api/repos/create', '{"name": "x", "type": "dataset"}', 400],
      ['/api/repos/create', '[]', 400],
      ['/x/y.git/info/lfs/objects/batch', '{"operation": "download", "objects": []}', 400],
      ['/x/y.git/info/lfs/objects/batch', '{"operation": "upload", "objects": [{"oid": "ab", "size": 1}]}', 400],
      ['/x/y.git/info/lfs/objects/batch', '{"operation": "upload", "objects": {}}', 400],
      ['/api/models/x/preupload/main', '{"files": [{"path": 3}]}', 400],
    ];
    for (const [path, body, status] of cases) {
      const r = await post(path, body);
      assert.equal(r.status, status, `${path} ${body.slice(0, 80)}: ${r.body.toString().slice(0, 200)}`);
    }
    assert.equal((await http(`${t.url}/api/lfs-upload/${'0'.repeat(32)}`, { method: 'PUT', body: 'x' })).status, 404);
    assert.deepEqual((await http(`${t.url}/api/stats`, { headers: auth })).json(), before.json());
  } finally {
    await t.close();
  }
});
