/**
 * The server's inference scheduler: a bounded queue per model version, dynamic
 * batching within a queue, and fair turns between queues on the runtime
 * threads they share.
 *
 * A runtime thread runs one thing at a time (runtime-worker.ts); the
 * scheduler hands each thread one run at a time, so whatever waits, waits
 * here, where it can be batched, counted, cancelled and given its turn. When
 * a thread frees up, the queues are offered it round-robin, starting after
 * the one served last: a model with a thousand requests waiting delays
 * another model's request by at most THREAD_DEPTH runs.
 *
 * Batching (per model, when its config sets max_batch_size and its inputs and
 * outputs all have a dynamic first dimension): the oldest request and those
 * behind it that fit (same inputs' inner shapes and datatypes, same outputs:
 * batching.ts) run as one, as soon as a thread is free and either the batch
 * is full, reaches a preferred size, or the oldest has waited
 * max_queue_delay. A batch that fails, or whose outputs do not keep rows
 * apart, is run again request by request, so every answer is the one the
 * request gets alone.
 */
import { TesseraError } from '../../errors.js';
import { ErrorWithHeaders } from '../http/errors.js';
import type { OutputTensor } from '../oip/infer.js';
import type { HostTensor } from '../oip/tensor-codec.js';
import { batchKey, joinInputs, rowsOf, splitOutputs } from './batching.js';

/** What tells a queued request its client has gone: an AbortSignal, or the server's lighter ClientGone. */
export interface Cancellation {
  readonly aborted: boolean;
  addEventListener(type: 'abort', fn: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', fn: () => void): void;
}

/**
 * A loaded model as the scheduler runs it: instances, each on a runtime
 * thread. Batches join requests of the same object only: a reloaded model's
 * requests never share a run with the old one's.
 */
export interface Runnable {
  /** The thread of each instance (an opaque key: instances on one thread take turns). */
  readonly threads: readonly object[];
  /** Why its rows cannot be batched, or undefined (its signature: batching.unbatchable). */
  readonly unbatchable: string | undefined;
  runOn(instance: number, inputs: HostTensor[], outputs: string[]): Promise<RunResult>;
}

/** A run's outputs, and how long onnxruntime took on its thread (ms; without waiting and messaging). */
export interface RunResult {
  outputs: OutputTensor[];
  runMs: number;
}

/** How one model's queue behaves (from its serving configuration). */
export interface QueuePolicy {
  maxBatchSize: number;
  preferredBatchSizes: readonly number[];
  maxQueueDelayMs: number;
  maxQueueSize: number;
}

export interface SchedulerEvents {
  /** A batch went to a thread: its requests, rows, and how long its oldest waited. */
  dispatched?(model: string, requests: number, rows: number, waitedMs: number[]): void;
  rejected?(model: string): void;
  cancelled?(model: string): void;
  /** A model's batches were run request by request (why). */
  unbatched?(model: string, why: string): void;
  /** A run took onnxruntime `ms` on its thread. */
  ran?(model: string, ms: number): void;
}

/** The queue is full: 429 with a Retry-After from what is waiting and how long runs take. */
export class QueueFull extends ErrorWithHeaders {
  constructor(model: string, size: number, retryAfterS: number) {
    super('too-many-requests', `model ${model} has ${size} requests waiting, its max_queue_size; try again in ${retryAfterS} s`, { 'Retry-After': String(retryAfterS) });
  }
}

/** The client went away before its request ran: nobody reads the answer. */
export class RequestCancelled extends TesseraError {
  constructor(model: string) {
    super('busy', `request for ${model} cancelled: the client disconnected`);
  }
}

/**
 * Runs handed to one runtime thread at a time: one running and one waiting in
 * the thread's message queue, so the thread never idles for the round trip
 * to the event loop (measured on the trained-digits MLP, one request per
 * run: 6.2k requests/s against 4.8k with one at a time). A model with work
 * waiting thus delays another model's request by at most two runs. A
 * batching model sends its second run only when it is a full batch: until
 * the run in progress ends, requests gather for the next (batches of 8
 * requests at 32 clients otherwise, the run in progress taking half).
 */
const THREAD_DEPTH = 2;

interface Job {
  model: Runnable;
  inputs: HostTensor[];
  outputs: string[];
  rows: number;
  key: string;
  enqueued: number;
  /** Run alone: its batch failed, or the model's outputs do not keep rows apart. */
  alone: boolean;
  done: boolean;
  resolve(o: OutputTensor[]): void;
  reject(e: unknown): void;
  detach?(): void;
}

class Queue {
  readonly jobs: Job[] = [];
  running = 0;
  /** Mean run time in ms (exponentially weighted), for Retry-After. */
  runMs = 10;
  /** Set once a batch's outputs did not keep rows apart: the model runs request by request. */
  noBatching?: string;
  timer?: NodeJS.Timeout;
  timerAt = 0;
  constructor(readonly name: string, public policy: QueuePolicy) {}
}

export class Scheduler {
  private readonly queues = new Map<string, Queue>();
  private order: Queue[] = [];
  /** Where the next round-robin pass starts. */
  private cursor = 0;
  private readonly threadBusy = new Map<object, number>();
  private closed = false;

  constructor(private readonly events: SchedulerEvents = {}) {}

  /**
   * Queues a request for `model` (a version's key) and settles with its
   * outputs. QueueFull when the queue is at its size; RequestCancelled when
   * `signal` aborts before the request ran.
   */
  run(name: string, model: Runnable, policy: QueuePolicy, inputs: HostTensor[], outputs: string[], signal?: Cancellation): Promise<OutputTensor[]> {
    if (this.closed) return Promise.reject(new TesseraError('busy', 'the server is shutting down'));
    const q = this.queue(name, policy);
    if (q.jobs.length >= policy.maxQueueSize) {
      this.events.rejected?.(name);
      return Promise.reject(new QueueFull(name, q.jobs.length, this.retryAfter(q, model)));
    }
    if (signal?.aborted) return Promise.reject(new RequestCancelled(name));
    return new Promise<OutputTensor[]>((resolve, reject) => {
      const rows = rowsOf(inputs);
      const job: Job = {
        model, inputs, outputs, rows: rows ?? 0, key: batchKey(inputs, outputs), enqueued: performance.now(),
        // Inputs that disagree on their rows cannot share a run: onnxruntime tells the client what is wrong.
        alone: rows === undefined, done: false, resolve, reject,
      };
      if (signal) {
        const onAbort = (): void => this.cancel(q, job);
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      q.jobs.push(job);
      this.pump();
    });
  }

  /** Requests waiting for each model (the server's metrics). */
  waiting(): Map<string, number> {
    return new Map([...this.queues].map(([k, q]) => [k, q.jobs.length]));
  }

  /** Why a model's batching was switched off at run time (its outputs did not keep rows apart), or undefined. */
  batchingOff(name: string): string | undefined {
    return this.queues.get(name)?.noBatching;
  }

  /** Fails every waiting request; runs in progress finish. */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) {
      clearTimeout(q.timer);
      for (const j of q.jobs.splice(0)) this.settle(j, undefined, new TesseraError('busy', 'the server is shutting down'));
    }
  }

  private queue(name: string, policy: QueuePolicy): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, policy);
      this.queues.set(name, q);
      this.order.push(q);
    } else {
      q.policy = policy;
    }
    return q;
  }

  private cancel(q: Queue, job: Job): void {
    const i = q.jobs.indexOf(job);
    if (i < 0) return; // running already: its answer is dropped by whoever awaited it
    q.jobs.splice(i, 1);
    this.events.cancelled?.(q.name);
    this.settle(job, undefined, new RequestCancelled(q.name));
  }

  private settle(job: Job, out: OutputTensor[] | undefined, err?: unknown): void {
    if (job.done) return;
    job.done = true;
    job.detach?.();
    if (out) job.resolve(out);
    else job.reject(err);
  }

  /** Offers the free threads to the queues, round-robin, until nothing more can start. */
  private pump(): void {
    for (let progress = true; progress && !this.closed;) {
      progress = false;
      const n = this.order.length;
      for (let k = 0; k < n; k++) {
        const i = (this.cursor + k) % n;
        if (this.tryDispatch(this.order[i]!)) {
          this.cursor = (i + 1) % n;
          progress = true;
          break;
        }
      }
    }
    // Queues emptied for good are dropped (a name seen once must not stay forever).
    if (this.order.length > 64) {
      this.order = this.order.filter((q) => q.jobs.length > 0 || q.running > 0 || q.timer !== undefined);
      for (const [k, q] of this.queues) if (!this.order.includes(q)) this.queues.delete(k);
      this.cursor = 0;
    }
  }

  /**
   * Whole seconds until the queue has room again, by what waits and how long
   * runs take: as many runs as it takes to clear it (batches of up to
   * max_batch_size rows), shared among the model's instances.
   */
  private retryAfter(q: Queue, model: Runnable): number {
    const rows = q.jobs.reduce((n, j) => n + Math.max(1, j.rows), 0);
    const runs = q.policy.maxBatchSize > 0 && q.noBatching === undefined ? Math.ceil(rows / q.policy.maxBatchSize) : q.jobs.length;
    return Math.max(1, Math.ceil((runs * q.runMs) / Math.max(1, model.threads.length) / 1000));
  }

  /** An instance of `m` whose thread runs nothing, else one with room behind its run (-1: none). */
  private freeInstance(m: Runnable): { instance: number; behind: boolean } {
    const idle = m.threads.findIndex((t) => !this.threadBusy.has(t));
    if (idle >= 0) return { instance: idle, behind: false };
    return { instance: m.threads.findIndex((t) => this.threadBusy.get(t)! < THREAD_DEPTH), behind: true };
  }

  private batching(q: Queue, head: Job): boolean {
    return q.policy.maxBatchSize > 0 && !head.alone && q.noBatching === undefined && head.model.unbatchable === undefined;
  }

  /** Starts the queue's next batch if a thread of its model is free and the batch is due. */
  private tryDispatch(q: Queue): boolean {
    const head = q.jobs[0];
    if (!head) return false;
    const { instance, behind } = this.freeInstance(head.model);
    if (instance < 0) return false;
    const batch = this.formBatch(q, head, performance.now());
    if (!batch || batch.length === 0) return false;
    // Behind a run in progress, a batching model sends only a full batch: the rest gather until the thread is free.
    if (behind && this.batching(q, head) && batch.reduce((n, j) => n + j.rows, 0) < q.policy.maxBatchSize) return false;
    for (const j of batch) q.jobs.splice(q.jobs.indexOf(j), 1);
    // Whatever goes wrong answers the batch's requests: a rejection nobody handles would end the process.
    this.execute(q, head.model, instance, batch).catch((e: unknown) => {
      for (const j of batch) this.settle(j, undefined, e);
    });
    return true;
  }

  /** The batch to run now, or undefined when the oldest may still wait for others (a timer is set). */
  private formBatch(q: Queue, head: Job, now: number): Job[] | undefined {
    const p = q.policy;
    if (!this.batching(q, head) || head.rows >= p.maxBatchSize) return [head];
    const batch = [head];
    let rows = head.rows;
    for (const j of q.jobs) {
      if (j === head || j.alone || j.model !== head.model || j.key !== head.key) continue;
      if (rows + j.rows > p.maxBatchSize) break;
      batch.push(j);
      rows += j.rows;
    }
    if (rows >= p.maxBatchSize) return batch;
    // A preferred size reached: the largest one the batch holds, cut there (the oldest always in it, even when it alone is past the size).
    const preferred = [...p.preferredBatchSizes].reverse().find((s) => s <= rows);
    if (preferred !== undefined) {
      let r = head.rows;
      return [head, ...batch.slice(1).filter((j) => (r + j.rows <= preferred ? ((r += j.rows), true) : false))];
    }
    const due = head.enqueued + p.maxQueueDelayMs;
    if (now >= due) return batch;
    this.wakeAt(q, due);
    return undefined;
  }

  private wakeAt(q: Queue, at: number): void {
    if (q.timer !== undefined && q.timerAt <= at) return;
    clearTimeout(q.timer);
    q.timerAt = at;
    q.timer = setTimeout(() => {
      q.timer = undefined;
      this.pump();
    }, Math.max(0, at - performance.now()));
  }

  private async execute(q: Queue, model: Runnable, instance: number, batch: Job[]): Promise<void> {
    const thread = model.threads[instance]!;
    this.threadBusy.set(thread, (this.threadBusy.get(thread) ?? 0) + 1);
    q.running++;
    const start = performance.now();
    this.events.dispatched?.(q.name, batch.length, batch.reduce((n, j) => n + j.rows, 0), batch.map((j) => start - j.enqueued));
    try {
      let outputs: OutputTensor[];
      try {
        const inputs = batch.length === 1 ? batch[0]!.inputs : joinInputs(batch.map((j) => j.inputs));
        const r = await model.runOn(instance, inputs, batch[0]!.outputs);
        outputs = r.outputs;
        // onnxruntime's own time on the thread: what a batch costs, not what it waited.
        q.runMs = q.runMs * 0.8 + r.runMs * 0.2;
        this.events.ran?.(q.name, r.runMs);
      } catch (e) {
        if (batch.length === 1) return this.settle(batch[0]!, undefined, e);
        // Which request's data made the joined run fail cannot be told: each runs again alone and gets its own answer.
        return this.requeueAlone(q, batch);
      }
      const parts = splitOutputs(outputs, batch.map((j) => j.rows));
      if (typeof parts === 'string') {
        if (batch.length === 1) return this.settle(batch[0]!, outputs);
        q.noBatching = parts;
        this.events.unbatched?.(q.name, parts);
        return this.requeueAlone(q, batch);
      }
      batch.forEach((j, i) => this.settle(j, parts[i]));
    } finally {
      q.running--;
      this.threadBusy.set(thread, this.threadBusy.get(thread)! - 1);
      if (this.threadBusy.get(thread) === 0) this.threadBusy.delete(thread);
      this.pump();
    }
  }

  /** Puts a batch's requests back at the front, each to run alone (or fails them: the scheduler has closed). */
  private requeueAlone(q: Queue, batch: Job[]): void {
    if (this.closed) {
      for (const j of batch) this.settle(j, undefined, new TesseraError('busy', 'the server is shutting down'));
      return;
    }
    for (const j of batch) j.alone = true;
    q.jobs.unshift(...batch.filter((j) => !j.done));
  }
}
