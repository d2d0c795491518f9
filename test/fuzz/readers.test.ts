import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from './campaign.js';

/** Per CI run; `npm run fuzz -- CASES` runs a larger campaign. */
const CASES_PER_SEED = 300;

test('fuzz: mutated real and built files of every format end in a clean error or an exact segmentation', () => {
  const rows = runCampaign(CASES_PER_SEED, 20261130);
  const total = rows.reduce((n, r) => n + r.cases, 0);
  for (const r of rows) {
    console.log(`# fuzz ${r.format}: ${r.seeds} seed file(s), ${r.cases} cases: ${r.accepted} parsed exactly, ${r.rejected} rejected cleanly, ${r.failures.length} failures, slowest ${r.maxMs.toFixed(1)} ms`);
    assert.deepEqual(r.failures, [], r.format);
    assert.ok(r.maxMs < 2000, `${r.format}: a case took ${r.maxMs} ms`);
  }
  console.log(`# fuzz: ${total} cases in all`);
});
