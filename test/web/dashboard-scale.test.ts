/**
 * The dashboard on a store bigger than one screen, in a real browser: the
 * model list comes a page at a time with a working search, and the heatmap
 * shows families instead of every model. (The 100,000-model first paint is
 * measured by `npm run bench -- --scale-store`, not here.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { DASHBOARD_DIR } from '../../src/serve/routes/dashboard.js';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { randomWeights, tempStore } from '../helpers/store-fixtures.js';
import { HEATMAP_MODELS } from '../../src/store/inspect/sharing.js';

const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !existsSync(join(DASHBOARD_DIR, 'index.html')) ? 'the dashboard is not built' : undefined;
if (skip) console.log(`# SKIP dashboard scale tests: ${skip}`);

/** Families of this many models each, enough families for more models than the heatmap draws one by one. */
const PER_FAMILY = 20;
const FAMILIES = Math.ceil((HEATMAP_MODELS + 12) / PER_FAMILY);

let t: Awaited<ReturnType<typeof tempStore>>;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  t = await tempStore();
  // Each family: four shared tensors and one of each model's own.
  for (let f = 0; f < FAMILIES; f++) {
    const core = [0, 1, 2, 3].map((k) => randomWeights(1024, 1000 * f + k + 1));
    for (let v = 0; v < PER_FAMILY; v++) {
      const path = join(t.dir, 'm.safetensors');
      writeFileSync(path, buildSafetensors([...core.map((data, k) => ({ name: `core${k}`, dtype: 'F32' as const, shape: [1024], data })),
        { name: 'head', dtype: 'F32', shape: [1024], data: randomWeights(1024, 100_000 + 100 * f + v) }]));
      await t.store.import(path, { name: `fam${f}/v${String(v).padStart(2, '0')}`, base: null });
    }
  }
  server = await startServer(t.store, { port: 0, log: () => {} });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForFunction('Number(document.body.dataset.loaded ?? 0) > 0', undefined, { timeout: 15_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await t?.cleanup();
});

const rows = async (): Promise<string[]> => page.getByTestId('model-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-model') ?? ''));

test('the model list comes a page at a time; next, previous and a search', { skip }, async () => {
  const all = (await t.store.list()).map((m) => `${m.name}:${m.version}`);
  assert.deepEqual(await rows(), all.slice(0, 50));
  assert.match((await page.getByTestId('model-pager').textContent())!, new RegExp(`1–50 of ${all.length}`));
  await page.getByTestId('model-next').click();
  await page.waitForFunction(`document.querySelector('[data-testid="model-row"]')?.getAttribute('data-model') === ${JSON.stringify(all[50])}`);
  assert.deepEqual(await rows(), all.slice(50, 100));
  await page.getByRole('button', { name: '← previous' }).click();
  await page.waitForFunction(`document.querySelector('[data-testid="model-row"]')?.getAttribute('data-model') === ${JSON.stringify(all[0])}`);
  await page.getByTestId('model-search').fill('FAM1/V1');
  await page.waitForFunction('document.querySelectorAll(\'[data-testid="model-row"]\').length === 10');
  assert.deepEqual(await rows(), all.filter((r) => r.startsWith('fam1/v1')));
  // A click on a listed model opens its details.
  await page.getByTestId('model-row').first().click();
  await page.waitForFunction('!document.getElementById("detail").hidden && document.getElementById("detail").textContent.includes("fam1/v10:1")');
});

test('the heatmap shows the families of a store too big to draw model by model', { skip }, async () => {
  const text = (await page.getByTestId('heatmap-families').textContent())!;
  assert.match(text, new RegExp(`holds ${FAMILIES * PER_FAMILY} models`));
  const m = await t.store.sharing();
  assert.equal(m.grouping, 'families');
  assert.equal(m.models.length, FAMILIES);
  assert.ok(m.models.every((x) => x.members === PER_FAMILY), 'each family holds its models');
  assert.deepEqual(pageErrors, []);
});
