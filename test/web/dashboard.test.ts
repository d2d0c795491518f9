/**
 * The dashboard in a real browser: headless Chromium (Debian's package)
 * driven by playwright-core against a server on a real store. Checks what a
 * user sees against the store itself: the headline numbers, a hovered
 * heatmap cell, a model's details (with its serving configuration and an
 * ensemble's steps), an upload by drag-and-drop and an inference.
 * Screenshots go to test-output/dashboard/ (not in git).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { bytes } from '../../src/wire/format.js';
import { DASHBOARD_DIR } from '../../src/serve/routes/dashboard.js';
import { startServer } from '../../src/serve/server.js';
import type { RunningServer } from '../../src/serve/server.js';
import type { Store } from '../../src/store/store.js';
import { buildSafetensors } from '../helpers/build-safetensors.js';
import { REPO_ROOT, VAD_MODELS, randomWeights, tempStore } from '../helpers/store-fixtures.js';
import { http, postJson } from '../serve/helpers.js';
import { demoModels } from '../../src/cli/demo-models.js';
import { importLossyPair } from '../helpers/lossy-fixture.js';

const legacyExample = demoModels().find((m) => m.name === 'silero-vad-legacy')!.example!;

const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output/dashboard');
const TOKEN = 'dashboard-test-token';

/** Why the browser tests cannot run here, or undefined. */
function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set TESSERA_CHROMIUM); .ci/run installs it where it can`;
  if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) return `the dashboard is not built (no ${DASHBOARD_DIR}index.html): run \`npm run build\``;
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`# SKIP dashboard browser tests: ${skip}`);

let t: Awaited<ReturnType<typeof tempStore>>;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/**
 * A small base model and a fine-tune of it: they share one tensor exactly
 * (deduplicated) and differ slightly in the other (stored as a delta), so
 * the heatmap has a named shared tensor and the detail a lineage.
 */
function writeFamily(dir: string): { base: string; tuned: string } {
  const embed = randomWeights(40_000, 11);
  const head = randomWeights(20_000, 12);
  const tunedHead = new Float32Array(head.buffer.slice(head.byteOffset, head.byteOffset + head.length));
  for (let i = 0; i < tunedHead.length; i += 7) tunedHead[i]! *= 1.001;
  const file = (h: Buffer): Buffer => buildSafetensors([
    { name: 'encoder.embed.weight', dtype: 'F32', shape: [200, 200], data: embed },
    { name: 'classifier.weight', dtype: 'F32', shape: [100, 200], data: h },
  ]);
  const base = join(dir, 'base.safetensors');
  const tuned = join(dir, 'tuned.safetensors');
  writeFileSync(base, file(head));
  writeFileSync(tuned, file(Buffer.from(tunedHead.buffer)));
  return { base, tuned };
}

/** An ensemble of one step: silero-vad-v5 (its latest version) on the ensemble's tensors. */
function writeEnsemble(dir: string): string {
  const file = join(dir, 'vad-ensemble.json');
  writeFileSync(file, JSON.stringify({
    tessera_ensemble: 1,
    inputs: [{ name: 'audio', datatype: 'FP32', shape: [-1, 512] }, { name: 'state', datatype: 'FP32', shape: [2, -1, 128] }, { name: 'sr', datatype: 'INT64', shape: [] }],
    outputs: [{ name: 'speech', datatype: 'FP32', shape: [-1, 1] }],
    steps: [{ name: 'vad', model: 'silero-vad-v5', input_map: { input: 'audio', state: 'state', sr: 'sr' }, output_map: { output: 'speech' } }],
  }));
  return file;
}

async function shot(name: string, selector?: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path });
  else await page.screenshot({ path, fullPage: true });
}

/** Waits for the page to have (re)read the store after `since`. */
async function loadedAfter(since: number): Promise<void> {
  await page.waitForFunction(`Number(document.body.dataset.loaded ?? 0) > ${since}`, undefined, { timeout: 15_000 });
}

/** The exact value and the text shown by a number on the page. */
async function shown(testid: string): Promise<{ value: number; text: string }> {
  const el = page.getByTestId(testid);
  return { value: Number(await el.getAttribute('data-value')), text: (await el.textContent())!.trim() };
}

/** Every headline number equals the store's own stats, written as the CLI writes it. */
async function checkHeadline(store: Store): Promise<void> {
  const s = await store.stats();
  const expect: [string, number, string][] = [
    ['stat-models', s.models, String(s.models)],
    ['stat-logical', s.logicalBytes, bytes(s.logicalBytes)],
    ['stat-stored', s.storedBytes, bytes(s.storedBytes)],
    ['stat-saved', s.logicalBytes - s.storedBytes, bytes(s.logicalBytes - s.storedBytes)],
    ['part-deduplicated-bytes', s.deduplicatedBytes, bytes(s.deduplicatedBytes)],
    ['part-compression-bytes', s.compressionSavedBytes, bytes(s.compressionSavedBytes)],
    ['part-delta-bytes', s.deltaSavedBytes, bytes(s.deltaSavedBytes)],
    ['part-stored-bytes', s.storedBytes, bytes(s.storedBytes)],
  ];
  for (const [id, value, text] of expect) assert.deepEqual(await shown(id), { value, text }, id);
  assert.equal(await page.getByTestId('model-row').count(), s.models);
}

/** Drops files on the drop zone the way a browser does: dragenter, dragover, drop, with a DataTransfer holding Files made in the page. */
async function dropFile(name: string, content: Buffer): Promise<void> {
  // A string, not a function: this test compiles without the DOM's types.
  const transfer = await page.evaluateHandle(`(() => {
    const bin = atob(${JSON.stringify(content.toString('base64'))});
    const data = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([data], ${JSON.stringify(name)}, { type: 'application/octet-stream' }));
    return dt;
  })()`);
  const zone = page.getByTestId('dropzone');
  for (const type of ['dragenter', 'dragover', 'drop']) await zone.dispatchEvent(type, { dataTransfer: transfer });
  await transfer.dispose();
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  t = await tempStore();
  const fam = writeFamily(t.dir);
  // With the example request the demo keeps for it: "try it" starts from that, not from zeros.
  await t.store.import(VAD_MODELS[0]!, { name: 'silero-vad-legacy', example: legacyExample });
  await t.store.import(VAD_MODELS[1]!, { name: 'silero-vad-v5' });
  await t.store.import(fam.base, { name: 'digits-base' });
  await t.store.import(fam.tuned, { name: 'digits-tuned', base: { name: 'digits-base' } });
  await t.store.import(writeEnsemble(t.dir), { name: 'vad-ensemble' });
  // mlp:1 and mlp:2, a lossy version of it (as `tessera approx` makes them).
  await importLossyPair(t.store, t.dir, 'mlp');
  server = await startServer(t.store, { port: 0, log: () => {}, token: TOKEN });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/`);
  await loadedAfter(0);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await t?.cleanup();
});

test('the headline numbers and where the bytes went equal the store\'s stats', { skip }, async () => {
  await checkHeadline(t.store);
  assert.match((await page.getByTestId('store-location').textContent())!, /sqlite store/);
  await shot('dashboard');
});

test('hovering a heatmap cell shows the bytes two models share and the tensors holding them', { skip }, async () => {
  const m = await t.store.sharing();
  const a = m.models.findIndex((x) => x.ref === 'digits-base:1');
  const b = m.models.findIndex((x) => x.ref === 'digits-tuned:1');
  assert.ok(m.bytes[a]![b]! > 0, 'the fixture models share bytes');
  // The rows follow the server's cluster order: the family sits side by side.
  const labels = m.order.map((i) => m.models[i]!.ref);
  assert.equal(Math.abs(labels.indexOf('digits-base:1') - labels.indexOf('digits-tuned:1')), 1);

  const chart = page.getByTestId('heatmap-chart');
  await chart.scrollIntoViewIfNeeded();
  const at = await page.evaluate(`document.querySelector('[data-testid="heatmap-chart"]').cellCenter('digits-base:1', 'digits-tuned:1')`) as { x: number; y: number };
  const box = (await chart.boundingBox())!;
  await page.mouse.move(box.x + at.x - 8, box.y + at.y - 8);
  await page.mouse.move(box.x + at.x, box.y + at.y, { steps: 4 });
  const tip = chart.locator('.chart-tip');
  await tip.waitFor({ state: 'visible', timeout: 5000 });
  const text = (await tip.textContent())!;
  assert.match(text, /digits-base:1 ↔ digits-tuned:1/);
  assert.ok(text.includes(`share ${bytes(m.bytes[a]![b]!)}`), `${text} names the shared bytes ${bytes(m.bytes[a]![b]!)}`);
  assert.ok(text.includes('encoder.embed.weight'), `${text} names the shared tensor`);
  assert.deepEqual(m.tensors[a]![b]!.names, ['encoder.embed.weight']);
  await shot('heatmap-hover', '[data-testid="sharing"]');

  // A row label opens that model.
  await chart.locator('text').filter({ hasText: /^silero-vad-legacy:1$/ }).first().click();
  await page.getByTestId('detail-title').filter({ hasText: 'silero-vad-legacy:1' }).waitFor();
});

test('a model\'s details: tensors, who shares them, its base in the lineage, files, metadata, serving configuration and an ensemble\'s steps', { skip }, async () => {
  await page.locator('[data-testid="model-row"][data-model="digits-tuned:1"] a').click();
  await page.getByTestId('detail-title').filter({ hasText: 'digits-tuned:1' }).waitFor();
  const d = await t.store.show({ name: 'digits-tuned', version: 1 });
  assert.equal((await shown('detail-unique')).value, d.uniqueBytes);
  assert.equal((await shown('detail-shared')).value, d.distinctBytes - d.uniqueBytes);
  assert.equal(await page.getByTestId('tensor-row').count(), d.tensors.length);
  const embedRow = page.getByTestId('tensor-row').filter({ hasText: 'encoder.embed.weight' });
  assert.match((await embedRow.textContent())!, /digits-base:1/);
  assert.match((await page.getByTestId('detail').textContent())!, /stored as a delta of digits-base:1/);
  await page.getByTestId('lineage-chart').locator('text').filter({ hasText: 'digits-base:1' }).first().waitFor();
  assert.equal(await page.getByTestId('download').count(), d.files.length);
  // The repo id and a snippet that downloads this version through the Hub API.
  assert.equal(await page.getByTestId('hub-repo-id').textContent(), 'digits-tuned');
  const snippet = (await page.getByTestId('hub-snippet').textContent())!;
  assert.ok(snippet.includes(`HF_ENDPOINT=${new URL(page.url()).origin} huggingface-cli download digits-tuned --revision 1`), snippet);
  // A safetensors model is not served: no serving configuration.
  assert.equal(await page.getByTestId('serving-config').count(), 0);
  await shot('detail', '[data-testid="detail"]');

  // A served model shows its serving configuration: set on the model (every version), before the panel opens.
  const put = (body: unknown) => http(`${server.url}/v2/repository/models/silero-vad-v5/config`, {
    method: 'PUT', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal((await put({ max_batch_size: 8, preferred_batch_size: [4] })).status, 200);
  // An ONNX model has a metadata button that shows its inference signature.
  await page.locator('[data-testid="model-row"][data-model="silero-vad-v5:1"] a').click();
  await page.getByTestId('detail-title').filter({ hasText: 'silero-vad-v5:1' }).waitFor();
  await page.getByTestId('metadata-button').click();
  await page.getByTestId('metadata').filter({ hasText: '"platform"' }).waitFor();
  const meta = JSON.parse((await page.getByTestId('metadata').textContent())!) as { name: string; inputs: { name: string }[] };
  assert.equal(meta.name, 'silero-vad-v5');
  assert.deepEqual(meta.inputs.map((i) => i.name).sort(), ['input', 'sr', 'state']);

  const serving = page.getByTestId('serving-config');
  await serving.getByTestId('serving-batching').waitFor();
  const row = async (setting: string): Promise<string[]> => serving.locator(`tr[data-setting="${setting}"] td`).allTextContents();
  assert.deepEqual(await row('max_batch_size'), ['max batch size', '8', 'model']);
  assert.deepEqual(await row('preferred_batch_size'), ['preferred batch sizes', '4', 'model']);
  assert.deepEqual(await row('instances'), ['instances', 'server default', 'default']);
  assert.deepEqual(await row('version_policy'), ['version policy', 'all versions', 'default']);
  // Silero's state has no batch dimension first: the server says why it does not batch.
  assert.match((await serving.getByTestId('serving-batching').textContent())!, /configured but off: input "state" has no dynamic first dimension/);
  assert.equal(await serving.getByTestId('ensemble-steps').count(), 0);
  await shot('detail-serving', '[data-testid="serving-config"]');
  assert.equal((await put({ reset: true })).status, 200);

  // An ensemble lists its steps, each step model's version resolved by the server ("latest" here).
  await page.locator('[data-testid="model-row"][data-model="vad-ensemble:1"] a').click();
  await page.getByTestId('detail-title').filter({ hasText: 'vad-ensemble:1' }).waitFor();
  await page.getByTestId('ensemble-steps').waitFor();
  assert.deepEqual(await page.getByTestId('ensemble-steps').locator('li').allTextContents(),
    ['silero-vad-v5:latest (inputs ← audio, state, sr, outputs → speech)']);
  assert.match((await page.getByTestId('serving-batching').textContent())!, /No dynamic batching of the ensemble itself/);
  assert.deepEqual(await page.getByTestId('serving-config').locator('tr[data-setting="max_batch_size"] td').allTextContents(),
    ['max batch size', 'no dynamic batching', 'default']);
});

test('a lossy version: its badge in the list, its section in the details (before/after, bound, blocks, from), the lossy panel\'s chart and table; the lossless one unmarked', { skip }, async () => {
  // The list: a badge on the lossy version only.
  const list = page.getByTestId('model-list');
  assert.equal(await list.getByTestId('lossy-badge').count(), 1);
  const badge = page.locator('[data-testid="model-row"][data-model="mlp:2"] [data-testid="lossy-badge"]');
  assert.equal(await badge.textContent(), 'lossy');
  assert.equal(await badge.getAttribute('title'),
    'lossy version of mlp:1: accuracy 90.80% → 90.40% on held-out rows (drop 0.40 pt, bound 1.00 pt), 12 of 40 blocks replaced');
  assert.equal(await page.locator('[data-testid="model-row"][data-model="mlp:1"] [data-testid="lossy-badge"]').count(), 0);

  // The panel: one table row per lossy version, and a point per version beside the lossless reference point.
  const panel = page.getByTestId('lossy');
  await panel.scrollIntoViewIfNeeded();
  assert.ok(await panel.isVisible());
  const rows = panel.getByTestId('lossy-row');
  assert.equal(await rows.count(), 1);
  assert.deepEqual((await rows.first().locator('td').allTextContents()).map((c) => c.trim()),
    ['mlp:2', 'mlp:1', '1.00 pt', '0.40 ptaccuracy', '12 of 40', '512 KiB25.0% of mlp:1\'s own']);
  const chart = page.getByTestId('lossy-chart');
  await chart.locator('text').filter({ hasText: /^bound 1\.00 pt$/ }).first().waitFor();
  const center = async (ref: string): Promise<{ x: number; y: number }> =>
    page.evaluate(`document.querySelector('[data-testid="lossy-chart"]').pointCenter(${JSON.stringify(ref)})`) as Promise<{ x: number; y: number }>;
  const lossyAt = await center('mlp:2');
  const losslessAt = await center('lossless');
  // Right of the lossless point (a drop of 0.4 pt) and below it (75% of its stored bytes).
  assert.ok(lossyAt.x > losslessAt.x && lossyAt.y > losslessAt.y, `${JSON.stringify(lossyAt)} vs ${JSON.stringify(losslessAt)}`);
  const box = (await chart.boundingBox())!;
  await page.mouse.move(box.x + lossyAt.x - 8, box.y + lossyAt.y - 8);
  await page.mouse.move(box.x + lossyAt.x, box.y + lossyAt.y, { steps: 4 });
  const tip = chart.locator('.chart-tip');
  await tip.waitFor({ state: 'visible', timeout: 5000 });
  const text = (await tip.textContent())!;
  for (const part of ['mlp:2', 'lossy version of mlp:1', 'accuracy 90.80% → 90.40% on held-out rows', 'drop 0.40 pt (bound 1.00 pt)', 'stored 75.0% of mlp:1\'s own 2.00 MiB', '12 of 40 blocks replaced']) {
    assert.ok(text.includes(part), `${text} says ${part}`);
  }
  await shot('lossy', '[data-testid="lossy"]');

  // The details: a lossy section with the metric before and after on both splits, the bound, the blocks and the bytes saved.
  await rows.first().locator('a').first().click();
  await page.getByTestId('detail-title').filter({ hasText: 'mlp:2' }).waitFor();
  assert.equal(await page.getByTestId('detail-title').getByTestId('lossy-badge').count(), 1);
  const section = page.getByTestId('lossy-detail');
  const row = async (key: string): Promise<string[]> => section.locator(`tr[data-row="${key}"] td`).allTextContents();
  assert.deepEqual(await row('before'), ['before (mlp:1)', '91.20%', '90.80%']);
  assert.deepEqual(await row('after'), ['after (this version)', '90.90%', '90.40%']);
  assert.deepEqual(await row('drop'), ['drop', '0.30 pt', '0.40 pt']);
  assert.deepEqual(await row('rows'), ['rows', '500', '250']);
  assert.equal(await section.getByTestId('lossy-bound').textContent(), 'Bound: a drop of at most 1.00 pt on the held-out rows — kept');
  assert.match((await section.getByTestId('lossy-blocks').textContent())!, /^Blocks replaced: 12 of 40 float blocks \(30\.0%\) of 64\.0 KiB, 768 KiB of raw weights; 15 had/);
  assert.equal((await shown('lossy-saved-bytes')).value, 524_288);
  assert.equal(await section.getByTestId('lossy-saved').textContent(), 'Stored bytes saved: 512 KiB of the 2.00 MiB only mlp:1 needs (25.0%).');
  await shot('detail-lossy', '[data-testid="detail"]');

  // The lossless version it came from, one click away: no lossy section, no badge.
  await section.getByTestId('lossy-from').click();
  await page.getByTestId('detail-title').filter({ hasText: 'mlp:1' }).waitFor();
  assert.equal(await page.getByTestId('lossy-detail').count(), 0);
  assert.equal(await page.getByTestId('detail-title').getByTestId('lossy-badge').count(), 0);
});

test('upload by drag-and-drop: refused without the token, then progress to 100%, the savings, and the model in the list', { skip }, async () => {
  const file = readFileSync(VAD_MODELS[2]!);
  const upload = page.getByTestId('upload');
  await upload.scrollIntoViewIfNeeded();

  await dropFile('silero_vad_v6.onnx', file);
  await upload.locator('.error').filter({ hasText: 'access token' }).waitFor({ timeout: 10_000 });

  await page.getByTestId('token').fill(TOKEN);
  await page.getByTestId('token').dispatchEvent('change');
  await page.getByTestId('upload-name').fill('silero-vad-v6');
  const since = Date.now();
  await dropFile('silero_vad_v6.onnx', file);
  const item = page.getByTestId('upload-item').first();
  await item.getByTestId('upload-savings-text').waitFor({ timeout: 20_000 });
  assert.equal(await item.getByTestId('upload-progress').getAttribute('aria-valuenow'), '100');
  assert.match((await item.getByTestId('upload-status').textContent())!, /stored as silero-vad-v6:1/);
  const d = await t.store.show({ name: 'silero-vad-v6', version: 1 });
  const report = (await item.getByTestId('upload-savings-text').textContent())!;
  assert.ok(report.startsWith(`${bytes(d.savings.storedBytes)} stored of ${bytes(d.savings.logicalBytes)}`), report);
  assert.ok(d.savings.deduplicatedBytes > 0, 'v6 shares chunks with v5');
  assert.ok(report.includes(`deduplicated ${bytes(d.savings.deduplicatedBytes)}`), report);

  // The page reads the store again: the new model is listed and the numbers follow.
  await loadedAfter(since);
  await page.locator('[data-testid="model-row"][data-model="silero-vad-v6:1"]').waitFor();
  await checkHeadline(t.store);
  await shot('upload', '[data-testid="upload"]');
});

test('try it: an inference from the panel shows what the server answers', { skip }, async () => {
  const panel = page.getByTestId('tryit');
  await panel.scrollIntoViewIfNeeded();
  // A model stored with an example request runs as it is.
  await page.getByTestId('tryit-model').selectOption('silero-vad-legacy:1');
  await page.getByTestId('tryit-source').filter({ hasText: 'example stored with the model' }).waitFor();
  assert.deepEqual(JSON.parse(await page.getByTestId('tryit-body').inputValue()), legacyExample);
  await page.getByTestId('tryit-run').click();
  await page.getByTestId('tryit-outputs').waitFor({ timeout: 20_000 });
  const exampleReply = JSON.parse((await page.getByTestId('tryit-raw').textContent())!) as { outputs: unknown[] };
  const exampleDirect = (await postJson(`${server.url}/v2/models/silero-vad-legacy/versions/1/infer`, legacyExample)).json<{ outputs: unknown[] }>();
  assert.deepEqual(exampleReply.outputs, exampleDirect.outputs);

  // Without one, the template follows the model's metadata: zeros, dynamic dimensions as 1.
  await page.getByTestId('tryit-model').selectOption('silero-vad-v5:1');
  await page.getByTestId('tryit-signature').filter({ hasText: 'state' }).waitFor();
  await page.getByTestId('tryit-source').filter({ hasText: 'zeros' }).waitFor();
  const template = JSON.parse(await page.getByTestId('tryit-body').inputValue()) as { inputs: { name: string; shape: number[]; data: unknown[] }[] };
  const meta = (await (await fetch(`${server.url}/v2/models/silero-vad-v5/versions/1`)).json()) as { inputs: { name: string; shape: number[] }[] };
  assert.deepEqual(template.inputs.map((i) => [i.name, i.shape]), meta.inputs.map((i) => [i.name, i.shape.map((d) => (d < 0 ? 1 : d))]));

  // Silero wants 512 samples and a real sample rate: edit the request, as a user would.
  const body = {
    inputs: [
      { name: 'input', shape: [1, 512], datatype: 'FP32', data: Array.from({ length: 512 }, (_, i) => Math.sin(i / 8) / 4) },
      { name: 'state', shape: [2, 1, 128], datatype: 'FP32', data: new Array<number>(256).fill(0) },
      { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
    ],
  };
  await page.getByTestId('tryit-body').fill(JSON.stringify(body));
  await page.getByTestId('tryit-run').click();
  await page.getByTestId('tryit-outputs').waitFor({ timeout: 20_000 });
  const shownReply = JSON.parse((await page.getByTestId('tryit-raw').textContent())!) as { outputs: unknown[] };
  const direct = (await postJson(`${server.url}/v2/models/silero-vad-v5/versions/1/infer`, body)).json<{ outputs: unknown[] }>();
  assert.deepEqual(shownReply.outputs, direct.outputs);
  await shot('tryit', '[data-testid="tryit"]');
  await shot('dashboard-end');
});

test('the page raised no script errors', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
