/**
 * The server's listings a page at a time: /api/store/models (Link rel="next"),
 * /api/stats/models (the dashboard's), and the OIP repository index (its
 * cursor in X-Tessera-Next-After): following the pages gives every model once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomWeights } from '../helpers/store-fixtures.js';
import { http, postJson, serveModels } from './helpers.js';
import type { ModelListEntry, ModelPage, ModelStats } from '../../src/wire/store-json.js';

test('listings (/api/store/models, /api/stats/models, /v2/models, the repository index) come a page at a time; following the pages gives every model once', async () => {
  const t = await serveModels([]);
  try {
    const names = Array.from({ length: 11 }, (_, i) => (i % 3 === 0 ? `team/Model-${i}` : `model-${i}`));
    for (const [i, name] of names.entries()) {
      const path = join(t.dir, `${i}.safetensors`);
      writeFileSync(path, buildSafetensors([{ name: 'w', dtype: 'F32', shape: [32], data: randomWeights(32, i + 1) }]));
      await t.store.import(path, { name });
    }
    await t.server.context.catalog.refresh();
    const all = (await t.store.list()).map((m) => `${m.name}:${m.version}`);

    // /api/store/models: the body is `ls --json`'s page; Link names the next.
    const seen: string[] = [];
    let url: string | undefined = `${t.url}/api/store/models?limit=4`;
    let pages = 0;
    while (url) {
      const r = await http(url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-total-count'), '11');
      seen.push(...r.json<ModelListEntry[]>().map((m) => `${m.name}:${m.version}`));
      url = /^<([^>]+)>; rel="next"$/.exec(r.headers.get('link') ?? '')?.[1];
      pages++;
    }
    assert.deepEqual(seen, all);
    assert.equal(pages, 3);
    const found = (await http(`${t.url}/api/store/models?search=team%2Fmodel`)).json<ModelListEntry[]>();
    assert.deepEqual(found.map((m) => m.name), ['team/Model-0', 'team/Model-3', 'team/Model-6', 'team/Model-9']);
    for (const bad of ['limit=0', 'limit=x', 'limit=10001', 'order=size', 'after=nope', 'order=newest&after=x']) {
      const r = await http(`${t.url}/api/store/models?${bad}`);
      assert.equal(r.status, 400, bad);
    }

    // /api/stats/models: stats rows with the cursor in the body, newest first on request.
    const p1 = (await http(`${t.url}/api/stats/models?limit=5&order=newest`)).json<ModelPage<ModelStats>>();
    assert.deepEqual(p1.models.map((m) => m.name), [...names].reverse().slice(0, 5));
    assert.equal(p1.total, 11);
    const p2 = (await http(`${t.url}/api/stats/models?limit=5&order=newest&after=${p1.next!}`)).json<ModelPage<ModelStats>>();
    assert.deepEqual(p2.models.map((m) => m.name), [...names].reverse().slice(5, 10));
    assert.ok(p2.models.every((m) => m.logicalBytes > 0 && m.files === 1));

    // GET /v2/models (Tessera's own list with states): `next` in the body and a Link header.
    const listed: string[] = [];
    let next: string | null = null;
    do {
      const r = await http(`${t.url}/v2/models?limit=3${next ? `&after=${encodeURIComponent(next)}` : ''}`);
      assert.equal(r.status, 200);
      const body = r.json<{ models: { name: string; version: string }[]; next: string | null }>();
      listed.push(...body.models.map((m) => `${m.name}:${m.version}`));
      assert.equal(r.headers.get('link') !== null, body.next !== null);
      next = body.next;
    } while (next);
    assert.deepEqual(listed, all);
    assert.equal((await http(`${t.url}/v2/models?search=TEAM`)).json<{ models: unknown[] }>().models.length, 4);
    assert.equal((await http(`${t.url}/v2/models?order=newest`)).status, 400);

    // The OIP repository index: all at once by default (as Triton's), in pages when asked.
    const whole = await postJson(`${t.url}/v2/repository/index`, {});
    assert.equal(whole.json<unknown[]>().length, 11);
    assert.equal(whole.headers.get('x-tessera-next-after'), null);
    const index: string[] = [];
    let after: string | undefined;
    for (;;) {
      const r = await postJson(`${t.url}/v2/repository/index`, { limit: 4, ...(after ? { after } : {}) });
      assert.equal(r.status, 200);
      index.push(...r.json<{ name: string; version: string }[]>().map((m) => `${m.name}:${m.version}`));
      after = r.headers.get('x-tessera-next-after') ?? undefined;
      if (!after) break;
    }
    assert.deepEqual(index, all);
    const searched = (await postJson(`${t.url}/v2/repository/index`, { search: 'TEAM/' })).json<{ name: string }[]>();
    assert.equal(searched.length, 4);
    for (const bad of [{ limit: 0 }, { limit: 'x' }, { after: 'no-version' }, { search: 5 }]) {
      assert.equal((await postJson(`${t.url}/v2/repository/index`, bad)).status, 400, JSON.stringify(bad));
    }
  } finally {
    await t.close();
  }
});
