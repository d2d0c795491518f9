/**
 * The server's URLs and the name policy agree: every word a route puts after
 * a model name is reserved (src/store/names.ts), and the router reads every
 * name the policy allows back whole, whatever URL follows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/serve/http/router.js';
import type { Route } from '../../src/serve/http/router.js';
import type { ServeContext } from '../../src/serve/context.js';
import { apiRoutes } from '../../src/serve/routes/api.js';
import { dashboardRoutes } from '../../src/serve/routes/dashboard.js';
import { fileRoutes } from '../../src/serve/routes/files.js';
import { healthRoutes } from '../../src/serve/routes/health.js';
import { inferRoutes } from '../../src/serve/routes/infer.js';
import { modelRoutes } from '../../src/serve/routes/models.js';
import { repositoryRoutes } from '../../src/serve/routes/repository.js';
import { hubRoutes } from '../../src/serve/routes/hub.js';
import { hubUploadRoutes } from '../../src/serve/routes/hub-upload.js';
import { PROTOCOL_WORDS, ROUTE_WORDS, checkNewModelName } from '../../src/store/names.js';

/** The routes in the server's order (server.ts buildRouter), registered on a router that also keeps a list of them. */
function routes(): { router: Router; list: Route[] } {
  const router = new Router();
  const list: Route[] = [];
  const add = router.add.bind(router);
  router.add = (r: Route): Router => {
    list.push(r);
    return add(r);
  };
  // Registering reads nothing of the context; only handlers do, and none runs here.
  const ctx = {} as ServeContext;
  for (const register of [healthRoutes, repositoryRoutes, fileRoutes, inferRoutes, modelRoutes, apiRoutes, hubUploadRoutes, hubRoutes]) register(router, ctx);
  dashboardRoutes(router, '/nonexistent');
  return { router, list };
}

test('every word a route pattern puts after a model name is a reserved word of the name policy, and each is used', () => {
  const used = new Set<string>();
  for (const r of routes().list) {
    // The Hub's routes take repo ids of at most two parts, matched greedily: no word needs reserving (the test below).
    if (r.name.startsWith('hub_')) continue;
    const src = r.pattern.source;
    const at = src.search(/models\\\/\(/);
    if (at < 0) continue;
    // The pattern after the model's own group: literal path words only (regex syntax has no runs of letters here).
    const tail = src.slice(src.indexOf(')', at) + 1);
    for (const w of tail.match(/[A-Za-z_]{2,}/g) ?? []) {
      assert.ok((ROUTE_WORDS as readonly string[]).includes(w), `route ${r.name} uses "${w}" after a model name: add it to ROUTE_WORDS`);
      used.add(w);
    }
  }
  assert.deepEqual([...used].sort(), [...ROUTE_WORDS].sort(), 'ROUTE_WORDS lists only words the routes use');
  for (const w of PROTOCOL_WORDS) assert.ok(!(ROUTE_WORDS as readonly string[]).includes(w));
});

/** Names the policy allows, close to the reserved words and with namespaces. */
function allowedNames(): string[] {
  const parts = ['a', 'file', 'Files', 'filesx', 'version', 'v1', 'infer2', 'my-ready', 'load_', 'x.y', '9'];
  const names = [...parts];
  for (const p of parts) for (const q of parts) names.push(`${p}/${q}`);
  names.push('org/team/model', 'meta-llama/Llama-3.1-8B');
  return names.map(checkNewModelName);
}

test('the router reads every allowed name back whole, with its slashes literal or encoded, whatever URL follows it', () => {
  const { router } = routes();
  const shapes: [string, (n: string) => string, number][] = [
    ['GET', (n) => `/v2/models/${n}`, 0],
    ['GET', (n) => `/v2/models/${n}/versions/3`, 0],
    ['GET', (n) => `/v2/models/${n}/ready`, 0],
    ['GET', (n) => `/v2/models/${n}/versions/3/ready`, 0],
    ['POST', (n) => `/v2/models/${n}/infer`, 0],
    ['POST', (n) => `/v2/models/${n}/versions/3/infer`, 0],
    ['GET', (n) => `/v2/models/${n}/files`, 0],
    ['GET', (n) => `/v2/models/${n}/files/files/versions/3/w.bin`, 0],
    ['PUT', (n) => `/v2/models/${n}/versions/3/files/infer/ready`, 0],
    ['POST', (n) => `/v2/repository/models/${n}/load`, 0],
    ['POST', (n) => `/v2/repository/models/${n}/versions/3/unload`, 0],
  ];
  for (const name of allowedNames()) {
    for (const spelling of [name, encodeURIComponent(name)]) {
      for (const [method, url, group] of shapes) {
        const m = router.match(method, url(spelling));
        assert.equal(m.params[group], name, `${method} ${url(spelling)} → ${m.route.name}`);
      }
    }
  }
  assert.equal(router.match('GET', '/v2/models/a/b/files/files/versions/3/w.bin').params[2], 'files/versions/3/w.bin');
  assert.equal(router.match('GET', `/api/store/models/${encodeURIComponent('org/x')}/versions/2`).params[0], 'org/x');
});

test("the Hub's routes read every allowed one- or two-part name back whole, even one whose parts are the routes' own words", () => {
  const { router } = routes();
  const names = [...allowedNames().filter((n) => n.split('/').length <= 2), 'resolve', 'org/resolve', 'tree', 'a/tree', 'revision', 'a/revision', 'models', 'raw/raw', 'a/commit', 'preupload', 'x/paths-info'];
  const shapes: [string, (n: string) => string, string, number][] = [
    ['GET', (n) => `/${n}/resolve/main/config.json`, 'hub_resolve', 0],
    ['GET', (n) => `/models/${n}/resolve/3/a/b.onnx`, 'hub_resolve', 0],
    ['GET', (n) => `/${n}/raw/main/resolve/x`, 'hub_resolve', 0],
    ['GET', (n) => `/api/models/${n}`, 'hub_model', 0],
    ['GET', (n) => `/api/models/${n}/revision/main`, 'hub_model', 0],
    ['GET', (n) => `/api/models/${n}/tree/main`, 'hub_tree', 0],
    ['GET', (n) => `/api/models/${n}/tree/main/sub/dir`, 'hub_tree', 0],
    ['POST', (n) => `/api/models/${n}/paths-info/main`, 'hub_paths_info', 0],
    ['POST', (n) => `/api/models/${n}/preupload/main`, 'hub_preupload', 0],
    ['POST', (n) => `/api/models/${n}/commit/main`, 'hub_commit', 0],
    ['POST', (n) => `/${n}.git/info/lfs/objects/batch`, 'hub_lfs_batch', 0],
  ];
  for (const name of names) {
    for (const [method, url, route, group] of shapes) {
      const m = router.match(method, url(name));
      assert.equal(m.route.name, route, `${method} ${url(name)}`);
      assert.equal(m.params[group], name, `${method} ${url(name)} → ${m.route.name}`);
    }
  }
  // A repo whose first part is "models" is reached with the prefix, as on the Hub.
  assert.equal(router.match('GET', '/models/models/x/resolve/main/a.bin').params[0], 'models/x');
  const m = router.match('GET', '/org/x/resolve/main/sub/w.bin');
  assert.deepEqual(m.params, ['org/x', 'main', 'sub/w.bin']);
});
