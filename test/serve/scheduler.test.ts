/**
 * The scheduler on its own (src/serve/scheduling/scheduler.ts), with models
 * whose runs the test finishes by hand: batch forming, queue bounds, delays,
 * cancellation, fair turns between models, and the fall-back to runs of one
 * request when a batch fails or its outputs do not keep rows apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueFull, RequestCancelled, Scheduler } from '../../src/serve/scheduling/scheduler.js';
import type { QueuePolicy, RunResult, Runnable } from '../../src/serve/scheduling/scheduler.js';
import { statusOf, answerOf } from '../../src/serve/http/errors.js';
import type { OutputTensor } from '../../src/serve/oip/infer.js';
import type { HostTensor } from '../../src/serve/oip/tensor-codec.js';

interface Call {
  model: string;
  rows: number;
  inputs: HostTensor[];
  finish(): void;
  fail(e: Error): void;
}

/** A model on the given threads whose runs wait for the test: output `y` is input `x` (optionally with a row dropped). */
class FakeModel implements Runnable {
  readonly calls: Call[] = [];
  unbatchable: string | undefined = undefined;
  dropRow = false;
  failBatches = false;
  constructor(readonly name: string, readonly threads: readonly object[], private readonly log: Call[]) {}

  runOn(_instance: number, inputs: HostTensor[], outputs: string[]): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const x = inputs.find((t) => t.name === 'x')!;
      const rows = x.shape[0]!;
      const call: Call = {
        model: this.name, rows, inputs,
        finish: () => {
          if (this.failBatches && rows > 1) return reject(new Error('batch refused'));
          const keep = this.dropRow ? rows - 1 : rows;
          const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
          resolve({ runMs: 1, outputs: outputs.map((name) => ({ name, datatype: 'FP32', shape: [keep, ...x.shape.slice(1)], data: (x.data as Float32Array).slice(0, keep * inner) })) });
        },
        fail: reject,
      };
      this.calls.push(call);
      this.log.push(call);
    });
  }
}

const policy = (p: Partial<QueuePolicy> = {}): QueuePolicy => ({ maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayMs: 0, maxQueueSize: 100, ...p });
const row = (v: number, width = 2): HostTensor[] => [{ name: 'x', datatype: 'FP32', shape: [1, width], data: new Float32Array(width).fill(v) }];
const tick = (): Promise<void> => sleep(1);

/** Finishes the oldest unfinished call of the log, then lets the scheduler react. */
async function finishNext(log: Call[], done: Set<Call>): Promise<Call> {
  const c = log.find((x) => !done.has(x))!;
  done.add(c);
  c.finish();
  await tick();
  return c;
}

test('requests that wait while the thread is busy run as one batch, and each gets its own rows back', async () => {
  const log: Call[] = [];
  const done = new Set<Call>();
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  const answers = Array.from({ length: 10 }, (_, i) => s.run('m:1', m, policy(), row(i), ['y']));
  await tick();
  // The first runs at once; the next gather behind it, and go to the thread's queue as soon as they make a full batch.
  assert.deepEqual(log.map((c) => c.rows), [1, 8]);
  await finishNext(log, done);
  assert.deepEqual(log.map((c) => c.rows), [1, 8], 'a request short of a full batch waits for the thread to be free');
  await finishNext(log, done);
  assert.deepEqual(log.map((c) => c.rows), [1, 8, 1]);
  await finishNext(log, done);
  const out = await Promise.all(answers);
  out.forEach((o, i) => {
    assert.deepEqual(o[0]!.shape, [1, 2]);
    assert.deepEqual([...(o[0]!.data as Float32Array)], [i, i]);
  });
  // The batch's input is the rows in arrival order.
  assert.deepEqual([...(log[1]!.inputs[0]!.data as Float32Array)].filter((_, k) => k % 2 === 0), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('max_batch_size caps a batch; preferred sizes cut it; inner shapes and outputs keep batches apart', async () => {
  const log: Call[] = [];
  const done = new Set<Call>();
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  const all: Promise<OutputTensor[]>[] = [];
  for (let i = 0; i < 2; i++) all.push(s.run('m:1', m, policy({ maxBatchSize: 8 }), row(i), ['y']));
  await tick();
  for (let i = 0; i < 20; i++) all.push(s.run('m:1', m, policy({ maxBatchSize: 8 }), row(i), ['y']));
  // Other widths, and another output list: never in a batch with the rows above.
  for (let i = 0; i < 3; i++) all.push(s.run('m:1', m, policy({ maxBatchSize: 8 }), row(i, 3), ['y']));
  all.push(s.run('m:1', m, policy({ maxBatchSize: 8 }), row(7), ['y', 'z']));
  while (done.size < log.length) await finishNext(log, done);
  await Promise.all(all);
  assert.ok(log.every((c) => c.rows <= 8), 'no run over max_batch_size');
  assert.deepEqual(log.filter((c) => c.inputs[0]!.shape[1] === 3).map((c) => c.rows), [3], 'the rows of width 3 ran together, apart');
  assert.equal(log.reduce((n, c) => n + c.rows, 0), 26);
  assert.ok(log.filter((c) => c.rows === 8).length >= 2, 'full batches of 8');
  assert.ok(log.length <= 7, `${log.length} runs for 26 requests`);

  // Preferred size 4 with a long delay: 6 waiting give a run of 4 at once; the other 2 wait for the delay.
  const log2: Call[] = [];
  const done2 = new Set<Call>();
  const m2 = new FakeModel('m2', [{}], log2);
  const p = policy({ maxBatchSize: 8, preferredBatchSizes: [4], maxQueueDelayMs: 10_000 });
  const blockers = [s.run('b:1', m2, policy({ maxBatchSize: 0 }), row(0), ['y']), s.run('b:1', m2, policy({ maxBatchSize: 0 }), row(0), ['y'])];
  await tick();
  const six = Array.from({ length: 6 }, (_, i) => s.run('m2:1', m2, p, row(i), ['y']));
  await tick();
  await finishNext(log2, done2);
  assert.deepEqual(log2.map((c) => c.rows), [1, 1], 'behind a run, only a full batch goes');
  await finishNext(log2, done2);
  assert.deepEqual(log2.map((c) => c.rows), [1, 1, 4], 'the thread free: the preferred size goes at once');
  await finishNext(log2, done2);
  assert.equal(log2.length, 3, 'the last two wait for max_queue_delay');
  s.close();
  await Promise.all(blockers);
  await assert.rejects(Promise.all(six), /shutting down/);
});

test('max_queue_delay: a lone request waits that long for company, a full batch goes at once', async () => {
  const log: Call[] = [];
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  const p = policy({ maxBatchSize: 4, maxQueueDelayMs: 40 });
  const t0 = performance.now();
  const lone = s.run('m:1', m, p, row(1), ['y']);
  await tick();
  assert.equal(log.length, 0);
  while (log.length === 0) await sleep(2);
  assert.ok(performance.now() - t0 >= 35, `ran after ${performance.now() - t0} ms`);
  log[0]!.finish();
  await lone;
  const four = Array.from({ length: 4 }, (_, i) => s.run('m:1', m, p, row(i), ['y']));
  await tick();
  assert.deepEqual(log.map((c) => c.rows), [1, 4], 'a full batch does not wait');
  log[1]!.finish();
  await Promise.all(four);
});

test('a full queue answers 429 with Retry-After; a cancelled request leaves the queue and never runs', async () => {
  const log: Call[] = [];
  const events: string[] = [];
  const s = new Scheduler({ rejected: (m) => events.push(`rejected ${m}`), cancelled: (m) => events.push(`cancelled ${m}`) });
  const m = new FakeModel('m', [{}], log);
  const p = policy({ maxBatchSize: 0, maxQueueSize: 3 });
  const running = [s.run('m:1', m, p, row(0), ['y']), s.run('m:1', m, p, row(1), ['y'])];
  await tick();
  const gone = new AbortController();
  const queued = [s.run('m:1', m, p, row(2), ['y'], gone.signal), s.run('m:1', m, p, row(3), ['y']), s.run('m:1', m, p, row(4), ['y'])];
  const refused = s.run('m:1', m, p, row(5), ['y']);
  await assert.rejects(refused, (e: unknown) => {
    assert.ok(e instanceof QueueFull);
    assert.equal(statusOf(e), 429);
    assert.ok(Number(answerOf(e).headers['Retry-After']) >= 1);
    return true;
  });
  gone.abort();
  await assert.rejects(queued[0]!, RequestCancelled);
  assert.deepEqual(s.waiting().get('m:1'), 2);
  // Room again for one.
  const again = s.run('m:1', m, p, row(6), ['y']);
  const done = new Set<Call>();
  while (done.size < 5) await finishNext(log, done);
  await Promise.all([...running, queued[1], queued[2], again]);
  assert.deepEqual(log.map((c) => (c.inputs[0]!.data as Float32Array)[0]), [0, 1, 3, 4, 6], 'the cancelled request never ran');
  assert.deepEqual(events, ['rejected m:1', 'cancelled m:1']);
});

test('fair turns: a model with 50 requests waiting delays another model on the same thread by at most two runs', async () => {
  const log: Call[] = [];
  const done = new Set<Call>();
  const thread = {};
  const s = new Scheduler();
  const hot = new FakeModel('hot', [thread], log);
  const cold = new FakeModel('cold', [thread], log);
  const p = policy({ maxBatchSize: 0 });
  const hotAnswers = Array.from({ length: 50 }, (_, i) => s.run('hot:1', hot, p, row(i), ['y']));
  await tick();
  const coldAnswer = s.run('cold:1', cold, p, row(-1), ['y']);
  await tick();
  while (!log.some((c) => c.model === 'cold')) await finishNext(log, done);
  const at = log.findIndex((c) => c.model === 'cold');
  // Before it: the two runs the thread held when it arrived, and at most one more.
  assert.ok(at <= 3, `the cold model ran ${at + 1}th`);
  while (done.size < log.length || log.length < 51) await finishNext(log, done);
  await Promise.all([...hotAnswers, coldAnswer]);
});

test('a batch that fails, or whose outputs lose rows, runs again request by request; batching then stays off', async () => {
  const log: Call[] = [];
  const done = new Set<Call>();
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  m.failBatches = true;
  const p = policy();
  const first = [s.run('m:1', m, p, row(0), ['y']), s.run('m:1', m, p, row(1), ['y'])];
  await tick();
  const rest = Array.from({ length: 3 }, (_, i) => s.run('m:1', m, p, row(10 + i), ['y']));
  while (done.size < log.length || log.length < 6) await finishNext(log, done);
  const out = await Promise.all([...first, ...rest]);
  assert.deepEqual(out.map((o) => (o[0]!.data as Float32Array)[0]), [0, 1, 10, 11, 12]);
  assert.deepEqual(log.map((c) => c.rows), [1, 4, 1, 1, 1, 1]);
  assert.equal(s.batchingOff('m:1'), undefined, 'a failed batch says nothing of the model');

  const log2: Call[] = [];
  const done2 = new Set<Call>();
  const m2 = new FakeModel('m2', [{}], log2);
  m2.dropRow = true;
  const a = [s.run('m2:1', m2, p, row(0), ['y']), s.run('m2:1', m2, p, row(1), ['y'])];
  await tick();
  const b = Array.from({ length: 3 }, (_, i) => s.run('m2:1', m2, p, row(10 + i), ['y']));
  while (done2.size < log2.length || log2.length < 6) await finishNext(log2, done2);
  await Promise.all([...a, ...b]);
  assert.match(s.batchingOff('m2:1') ?? '', /output "y" has 3 rows for a batch of 4/);
  const c = Array.from({ length: 3 }, (_, i) => s.run('m2:1', m2, p, row(i), ['y']));
  while (log2.length < 9) await finishNext(log2, done2);
  while (done2.size < log2.length) await finishNext(log2, done2);
  await Promise.all(c);
  assert.ok(log2.slice(6).every((x) => x.rows === 1), 'runs of one request since');
});

test('a preferred size smaller than the oldest request still runs it (alone), and nothing is left behind', async () => {
  const log: Call[] = [];
  const done = new Set<Call>();
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  const p = policy({ maxBatchSize: 8, preferredBatchSizes: [2], maxQueueDelayMs: 10_000 });
  const three: HostTensor[] = [{ name: 'x', datatype: 'FP32', shape: [3, 2], data: new Float32Array(6).fill(3) }];
  const big = s.run('m:1', m, p, three, ['y']);
  await tick();
  assert.deepEqual(log.map((c) => c.rows), [3], 'the oldest request went, though past the preferred size');
  const small = [s.run('m:1', m, p, row(1), ['y']), s.run('m:1', m, p, row(2), ['y'])];
  while (log.length < 2) await finishNext(log, done);
  while (done.size < log.length) await finishNext(log, done);
  await Promise.all([big, ...small]);
  assert.deepEqual(log.map((c) => c.rows), [3, 2]);
});

test('a batch that fails after the scheduler closed answers its requests instead of queueing them again', async () => {
  const log: Call[] = [];
  const s = new Scheduler();
  const m = new FakeModel('m', [{}], log);
  m.failBatches = true;
  const p = policy({ maxBatchSize: 2 });
  const first = s.run('m:1', m, p, row(0), ['y']);
  await tick();
  const pair = [s.run('m:1', m, p, row(1), ['y']), s.run('m:1', m, p, row(2), ['y'])];
  await tick();
  assert.deepEqual(log.map((c) => c.rows), [1, 2], 'a full batch goes behind the run in progress');
  s.close();
  log[0]!.finish();
  log[1]!.finish();
  await first;
  for (const r of pair) await assert.rejects(r, /shutting down/);
});
