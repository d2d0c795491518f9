import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greedySearch } from '../../src/approx/search.js';

/** A drop model: each candidate adds its own damage; the sets evaluated are recorded. */
function additive(damage: number[]): { evaluate: (set: number[]) => Promise<number>; seen: number[][] } {
  const seen: number[][] = [];
  return { seen, evaluate: async (set) => { seen.push([...set]); return set.reduce((d, i) => d + damage[i]!, 0); } };
}

test('a model that tolerates everything takes one evaluation of every candidate at once', async () => {
  const m = additive(new Array(32).fill(0));
  const r = await greedySearch(32, m.evaluate, { maxDrop: 0.01, maxEvaluations: 64, patience: 8 });
  assert.deepEqual(r.batches.map((b) => b.length), [32]);
  assert.equal(r.evaluations, 1);
  assert.equal(r.ended, 'all tried');
});

test('after the whole set fails, batches grow from an eighth after each success', async () => {
  const damage = new Array(32).fill(0);
  damage[31] = 1;
  const m = additive(damage);
  const r = await greedySearch(32, m.evaluate, { maxDrop: 0.01, maxEvaluations: 64, patience: 8 });
  assert.deepEqual(m.seen[0], Array.from({ length: 32 }, (_, k) => k));
  assert.deepEqual(r.batches.map((b) => b.length), [4, 8, 16, 2, 1]);
  assert.deepEqual(r.batches.flat(), Array.from({ length: 31 }, (_, k) => k));
});

test('a batch over the bound is backed off and halved; a single block over it is skipped', async () => {
  const damage = new Array(8).fill(0.001);
  damage[1] = 0.5;
  const m = additive(damage);
  const r = await greedySearch(8, m.evaluate, { maxDrop: 0.01, maxEvaluations: 64, patience: 8 });
  const accepted = r.batches.flat();
  assert.ok(!accepted.includes(1));
  assert.deepEqual(accepted, [0, 2, 3, 4, 5, 6, 7]);
  assert.ok(r.drop <= 0.01);
  // Every evaluated set that was accepted stayed within the bound.
  for (const set of m.seen) if (set.every((i) => accepted.includes(i))) assert.ok(set.reduce((d, i) => d + damage[i]!, 0) <= 0.01);
});

test('the budget caps evaluations; patience ends a run of failures', async () => {
  const bad = additive(new Array(40).fill(1));
  const r = await greedySearch(40, bad.evaluate, { maxDrop: 0.01, maxEvaluations: 100, patience: 3 });
  assert.equal(r.ended, 'patience');
  assert.deepEqual(r.batches, []);
  assert.equal(r.drop, 0);
  const capped = await greedySearch(40, additive(new Array(40).fill(1)).evaluate, { maxDrop: 0.01, maxEvaluations: 2, patience: 100 });
  assert.equal(capped.evaluations, 2);
  assert.equal(capped.ended, 'evaluation budget');
});

test('the accumulated drop is what is bounded: cheap blocks add up to the bound', async () => {
  const m = additive(new Array(10).fill(0.003));
  const r = await greedySearch(10, m.evaluate, { maxDrop: 0.01, maxEvaluations: 64, patience: 8, firstBatch: 1 });
  assert.equal(r.batches.flat().length, 3);
  assert.ok(Math.abs(r.drop - 0.009) < 1e-12);
});
