import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, randomWeights } from '../helpers/store-fixtures.js';
import { DASHBOARD_DIR } from '../../src/serve/routes/dashboard.js';
import { http, serveModels } from './helpers.js';

const BIN = join(REPO_ROOT, 'bin/tessera.js');

function cliJson(args: string[], store: string): unknown {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json', '--store', store], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the /api endpoints answer exactly what the CLI prints with --json (stats, ls, show, sharing)', async () => {
  const t = await serveModels([['vad5', VAD_MODELS[1]!], ['vad6', VAD_MODELS[2]!]]);
  try {
    // Two models sharing a tensor, so the sharing matrix and per-tensor sharing have something to show.
    const w = randomWeights(40_000, 5);
    const a = join(t.dir, 'a.safetensors');
    const b = join(t.dir, 'b.safetensors');
    writeFileSync(a, buildSafetensors([{ name: 'shared', dtype: 'F32', shape: [40_000], data: w }, { name: 'own', dtype: 'F32', shape: [100], data: randomWeights(100, 1) }]));
    writeFileSync(b, buildSafetensors([{ name: 'shared', dtype: 'F32', shape: [40_000], data: w }, { name: 'mine', dtype: 'F32', shape: [100], data: randomWeights(100, 2) }]));
    await t.store.import(a, { name: 'a' });
    await t.store.import(b, { name: 'b' });
    await t.server.context.catalog.refresh();

    // The API leaves out exactly the store's location: a path of the server's machine, which
    // the CLI's user may see (they own it) and a client may not.
    const { location, ...cliStats } = cliJson(['stats'], t.path) as { location: string };
    assert.equal(location, t.path);
    assert.deepEqual((await http(`${t.url}/api/stats`)).json(), cliStats);
    assert.deepEqual((await http(`${t.url}/api/store/models`)).json(), cliJson(['ls'], t.path));
    assert.deepEqual((await http(`${t.url}/api/store/models/b/versions/1`)).json(), cliJson(['show', 'b:1'], t.path));
    assert.deepEqual((await http(`${t.url}/api/store/models/b`)).json(), cliJson(['show', 'b'], t.path));
    const sharing = (await http(`${t.url}/api/sharing`)).json<{ models: { ref: string }[]; bytes: number[][]; tensors: { names: string[] }[][]; order: number[] }>();
    assert.deepEqual(sharing, cliJson(['sharing'], t.path));
    const ia = sharing.models.findIndex((m) => m.ref === 'a:1');
    const ib = sharing.models.findIndex((m) => m.ref === 'b:1');
    assert.equal(sharing.bytes[ia]![ib], 160_000);
    assert.deepEqual(sharing.tensors[ia]![ib]!.names, ['shared']);
    assert.deepEqual([...sharing.order].sort(), [0, 1, 2, 3]);
    // The pair sits side by side in the cluster order.
    assert.equal(Math.abs(sharing.order.indexOf(ia) - sharing.order.indexOf(ib)), 1);

    const show = (await http(`${t.url}/api/store/models/b`)).json<{ tensors: { name: string; uniqueBytes: number; sharedWith: { model: string; bytes: number }[] }[] }>();
    const shared = show.tensors.find((x) => x.name === 'shared')!;
    assert.deepEqual(shared.sharedWith, [{ model: 'a:1', bytes: 160_000 }]);
    assert.equal(shared.uniqueBytes, 0);
    assert.equal(show.tensors.find((x) => x.name === 'mine')!.uniqueBytes, 400);

    assert.equal((await http(`${t.url}/api/store/models/nope`)).status, 404);
    assert.equal((await http(`${t.url}/api/store/models/a/versions/x`)).status, 400);
  } finally {
    await t.close();
  }
});

test('the dashboard is served at / (or a clear 404 when not built); its files need no token under --token-read, the API does', async () => {
  const t = await serveModels([['vad5', VAD_MODELS[1]!]], { token: 'sekrit-token-0123456', tokenRead: true });
  try {
    const page = await http(`${t.url}/`);
    if (existsSync(join(DASHBOARD_DIR, 'index.html'))) {
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.body.toString(), /<html/i);
    } else {
      assert.equal(page.status, 404);
      assert.match(page.json<{ error: string }>().error, /dashboard is not built.*npm run build/);
    }
    assert.equal((await http(`${t.url}/api/stats`)).status, 401);
    assert.equal((await http(`${t.url}/api/stats`, { headers: { Authorization: 'Bearer sekrit-token-0123456' } })).status, 200);
    // Never a file outside the dashboard's: a path no route takes is 401 without the token (nothing said of what exists), 404 with it;
    // one fetch normalizes to a dashboard file name ('/assets/../package.json' is '/package.json') is 404 either way.
    for (const bad of ['/..%2fpackage.json', '/assets/..%2f..%2fpackage.json', '/assets/../package.json', '/.env']) {
      assert.ok([401, 404].includes((await http(`${t.url}${bad}`)).status), bad);
      assert.equal((await http(`${t.url}${bad}`, { headers: { Authorization: 'Bearer sekrit-token-0123456' } })).status, 404, bad);
    }
    assert.equal((await http(`${t.url}/.env`)).status, 401);
  } finally {
    await t.close();
  }
});

test('import --example keeps a request with the model (shown by show --json); the demo models\' examples are answered; a bad example is refused before anything is stored', async () => {
  const { demoModels } = await import('../../src/cli/demo-models.js');
  const t = await serveModels([]);
  try {
    const vad = demoModels().filter((m) => m.example);
    assert.equal(vad.length, 3);
    for (const m of vad) {
      const file = join(t.dir, `${m.name}.json`);
      writeFileSync(file, JSON.stringify(m.example));
      const r = spawnSync(process.execPath, [BIN, 'import', m.path, '--name', m.name, '--example', file, '--store', t.path], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    await t.server.context.catalog.refresh();
    for (const m of vad) {
      const show = (await http(`${t.url}/api/store/models/${m.name}`)).json<{ model: { metadataJson: string } }>();
      const example = (JSON.parse(show.model.metadataJson) as { example: unknown }).example;
      assert.deepEqual(example, m.example);
      const r = await http(`${t.url}/v2/models/${m.name}/infer`, { method: 'POST', body: JSON.stringify(example) });
      assert.equal(r.status, 200, r.body.toString());
    }
    const bad = join(t.dir, 'bad.json');
    writeFileSync(bad, '{"inputs": [{"name": "x"}]}');
    const refused = spawnSync(process.execPath, [BIN, 'import', VAD_MODELS[0]!, '--name', 'other', '--example', bad, '--store', t.path], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /bad\.json: inputs\[0\] needs a name, a datatype/);
    assert.equal((await http(`${t.url}/api/store/models/other`)).status, 404);
  } finally {
    await t.close();
  }
});
