import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, randomWeights } from '../helpers/store-fixtures.js';
import { DASHBOARD_DIR } from '../../src/serve/routes/dashboard.js';
import { http, serveModels } from './helpers.js';
import { importLossyPair } from '../helpers/lossy-fixture.js';

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

test('a lossy version is marked in the store API (list, detail, stats) and in its OIP metadata; the lossless version is not', async () => {
  const t = await serveModels([]);
  try {
    const pair = await importLossyPair(t.store, t.dir);
    await t.server.context.catalog.refresh();

    // The store API: `lossy` on every model, the record or null; still exactly the CLI's --json.
    const list = (await http(`${t.url}/api/store/models`)).json<{ name: string; version: number; lossy: unknown }[]>();
    assert.deepEqual(list.map((m) => [`${m.name}:${m.version}`, m.lossy]), [['mlp:1', null], ['mlp:2', pair.info]]);
    assert.deepEqual(list, cliJson(['ls'], t.path));
    const lossy = (await http(`${t.url}/api/store/models/mlp/versions/2`)).json<{ lossy: unknown }>();
    assert.deepEqual(lossy.lossy, pair.info);
    assert.deepEqual(lossy, cliJson(['show', 'mlp:2'], t.path));
    assert.equal((await http(`${t.url}/api/store/models/mlp/versions/1`)).json<{ lossy: unknown }>().lossy, null);
    const stats = (await http(`${t.url}/api/stats`)).json<{ perModel: { model: string; lossy: unknown }[] }>();
    assert.deepEqual(stats.perModel.map((m) => [m.model, m.lossy]), [['mlp:1', null], ['mlp:2', pair.info]]);

    // OIP metadata: lossy_* parameters for the lossy version (the latest, when no version is named), none for the lossless one.
    const expected = {
      lossy: true, lossy_from: 'mlp:1', lossy_metric: 'accuracy', lossy_before_held_out: 0.908, lossy_after_held_out: 0.904,
      lossy_drop_held_out: 0.004, lossy_max_drop: 0.01, lossy_blocks_replaced: 12, lossy_blocks_total: 40,
    };
    const lossyOnly = (p: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith('lossy')));
    for (const path of ['mlp/versions/2', 'mlp']) {
      const meta = (await http(`${t.url}/v2/models/${path}`)).json<{ parameters: Record<string, unknown> }>();
      assert.deepEqual(lossyOnly(meta.parameters), expected, path);
      assert.equal(meta.parameters.version, '2');
    }
    const meta1 = await http(`${t.url}/v2/models/mlp/versions/1`);
    assert.equal(meta1.status, 200);
    assert.deepEqual(lossyOnly(meta1.json<{ parameters: Record<string, unknown> }>().parameters), {});
    // Tessera's own model list names the lossless version a lossy one came from.
    const models = (await http(`${t.url}/v2/models`)).json<{ models: { name: string; version: string; lossy_from?: string }[] }>();
    assert.deepEqual(models.models.map((m) => [m.version, m.lossy_from]), [['1', undefined], ['2', 'mlp:1']]);
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
