import { runCampaign } from '../test/fuzz/campaign.js';

/**
 * `npm run fuzz -- [cases per seed] [seed]`: a larger campaign than CI's, with a table of what happened.
 * A script, not a test or a benchmark: `node --test dist/test/` runs every file below test/, and bench/ stays independent of test/.
 */
const cases = Number(process.argv[2] ?? 20000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const t0 = performance.now();
const rows = runCampaign(cases, seed);
let failed = 0;
console.log(`fuzz campaign: ${cases} mutants per seed file, seed ${seed}`);
console.log('format       seeds     cases  parsed exactly  rejected cleanly  failures  slowest ms');
for (const r of rows) {
  failed += r.failures.length;
  console.log(`${r.format.padEnd(10)} ${String(r.seeds).padStart(7)} ${String(r.cases).padStart(9)} ${String(r.accepted).padStart(15)} ${String(r.rejected).padStart(17)} ${String(r.failures.length).padStart(9)} ${r.maxMs.toFixed(1).padStart(11)}`);
  for (const f of r.failures) console.log(`  ${f}`);
}
console.log(`${rows.reduce((n, r) => n + r.cases, 0)} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
