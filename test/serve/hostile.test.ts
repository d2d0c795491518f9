/**
 * The hostile-client suite: every class of hole issue 14's probe found
 * (foreign Host headers, cross-origin changes, bad tokens, BYTES that change,
 * encoded uploads, names that shadow URLs, Range and If-Match, bodies over
 * the limit), with generated variants, against two `tessera serve`
 * processes (without a token, as `npm start` runs, and with --token-read).
 * Afterwards both still answer, their memory is back near its start,
 * `verify --deep` is clean and nothing changed that the requests were not
 * allowed to change. scripts/hostile.ts runs the same at 10,000 requests
 * and more (npm run hostile).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GENERATORS } from './hostile/cases.js';
import { describe as describeReport, failures, generate, runCampaign } from './hostile/campaign.js';
import { buildWorld } from './hostile/world.js';

/** Cases per class: every variant list is short, so a few dozen draws cover each many times. */
const PER_CLASS = 40;

test('hostile clients: every class of hole, generated variants, and the servers and the store intact afterwards', async () => {
  const world = await buildWorld();
  try {
    const classes = Object.keys(GENERATORS);
    const report = await runCampaign(world, generate(world, PER_CLASS * classes.length, 20261206, classes));
    console.log(describeReport(report).split('\n').map((l) => `# ${l}`).join('\n'));
    for (const cls of classes) assert.ok((report.result.byClass.get(cls)?.cases ?? 0) >= PER_CLASS, `${cls}: ran its cases`);
    assert.equal(failures(report), 0, describeReport(report));
  } finally {
    await world.close();
  }
});
