import { describe, failures, generate, runCampaign } from '../test/serve/hostile/campaign.js';
import { buildWorld } from '../test/serve/hostile/world.js';

/**
 * `npm run hostile -- [requests] [seed]`: the hostile-client campaign, longer
 * than the suite's (default 10,000 requests), against two live `tessera
 * serve` processes; prints a table per class and what held afterwards, and
 * exits 1 on any failure. A script, like the fuzz campaign: it uses the
 * suite's generators in test/, and bench/ stays independent of test/.
 */
const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const world = await buildWorld();
try {
  console.log(`hostile campaign: ${count} requests, seed ${seed}`);
  // A warm-up round of every class (a tenth of the run, at least 1,000 requests) before memory is first read.
  const report = await runCampaign(world, generate(world, count, seed), 50, generate(world, Math.max(1000, Math.round(count / 10)), seed + 1));
  console.log(describe(report));
  process.exitCode = failures(report) ? 1 : 0;
} finally {
  await world.close();
}
