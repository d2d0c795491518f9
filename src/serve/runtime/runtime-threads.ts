import { Worker } from 'node:worker_threads';
import { TesseraError } from '../../errors.js';
import type { InferenceSession } from 'onnxruntime-node';
import { ownBuffer } from './runtime-protocol.js';
import type { ExternalData, RuntimeMessage, RuntimeReply, RuntimeRequest, WireTensor } from './runtime-protocol.js';

/** A run onnxruntime refused: the request's fault. */
export class RefusedRun extends Error {}

/**
 * The thread a session lived on exited (onnxruntime crashed it, or it was
 * stopped): its work is lost, not refused. A 503 with Retry-After: a new
 * thread has taken its place and the model loads again on the next request.
 */
export class RuntimeThreadLost extends TesseraError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('busy', message, options);
    this.name = 'RuntimeThreadLost';
  }
}

interface Thread {
  worker: Worker;
  /** Settles when the thread has loaded onnxruntime (or failed to start). */
  ready: Promise<void>;
  /** Runs and loads sent and not yet answered. */
  busy: number;
}

/**
 * The threads onnxruntime runs on (runtime-worker.ts): session creation and
 * runs never hold up the server's event loop, and two runs (of one model's
 * instances, or of two models) go on at once on two cores. A session lives
 * on the thread that created it.
 */
export class RuntimeThreads {
  private readonly threads: Thread[] = [];
  private readonly waiting = new Map<number, { thread: Thread; resolve: (r: RuntimeReply & { ok: true }) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private nextSession = 0;
  private closed = false;
  private closing?: Promise<void>;

  /** `lost` is told when a thread has exited and a new one has taken its place: its sessions are gone. */
  constructor(readonly count: number, private readonly lost: () => void = () => {}) {
    for (let i = 0; i < count; i++) this.threads.push(this.start());
  }

  private start(): Thread {
    let started = (): void => {};
    const t: Thread = { worker: new Worker(new URL('./runtime-worker.js', import.meta.url)), busy: 0, ready: new Promise((r) => (started = r)) };
    t.worker.on('message', (r: RuntimeMessage) => {
      if ('ready' in r) {
        if (t.busy === 0) t.worker.unref();
        return started();
      }
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.resolve(r);
      else w.reject(r.run ? new RefusedRun(r.message) : new Error(r.message));
    });
    const fail = (e: Error): void => {
      started();
      for (const [id, w] of this.waiting) {
        if (w.thread !== t) continue;
        this.waiting.delete(id);
        w.reject(e);
      }
      // Its sessions are gone with it: their runs fail from now on (no session on the new thread), and a reload makes new ones.
      const i = this.threads.indexOf(t);
      if (i >= 0 && !this.closed) {
        this.threads[i] = this.start();
        this.lost();
      }
    };
    t.worker.on('error', (e) => fail(new RuntimeThreadLost(`the runtime thread failed: ${e.message}`, { cause: e })));
    t.worker.on('exit', (code) => fail(new RuntimeThreadLost(`the runtime thread exited (code ${code})`)));
    // Referenced until it is ready (whoever awaits `ready` keeps the process alive through it), then only while it has work.
    return t;
  }

  /** Settles when every thread has loaded onnxruntime (~100 ms): the server answers once it has. */
  get ready(): Promise<void> {
    return Promise.all(this.threads.map((t) => t.ready)).then(() => {});
  }

  /** The least busy thread, skipping `not` (they hold an instance already). */
  private pick(not: Set<Thread>): Thread {
    const free = this.threads.filter((t) => !not.has(t));
    return (free.length ? free : this.threads).reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private send(t: Thread, m: RuntimeRequest, transfer: ArrayBuffer[] = []): Promise<RuntimeReply & { ok: true }> {
    if (this.closed) return Promise.reject(new Error('the runtime threads are closed'));
    return new Promise((resolve, reject) => {
      // Unanswered work keeps the process alive; an idle thread does not.
      const done = (): void => {
        t.busy--;
        if (t.busy === 0) t.worker.unref();
      };
      this.waiting.set(m.id, { thread: t, resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
      t.busy++;
      t.worker.ref();
      try {
        t.worker.postMessage(m, transfer);
      } catch (e) {
        this.waiting.get(m.id)?.reject(e as Error);
        this.waiting.delete(m.id);
      }
    });
  }

  /**
   * Creates `instances` sessions of the model, each on its own thread (as
   * far as there are threads), from a copy of `bytes` each.
   */
  async load(bytes: Uint8Array, options: InferenceSession.SessionOptions, instances: number, external: ExternalData[] = []): Promise<{ sessions: Session[]; inputs: InferenceSession.ValueMetadata[]; outputs: InferenceSession.ValueMetadata[] }> {
    const used = new Set<Thread>();
    const picks = Array.from({ length: Math.max(1, instances) }, () => {
      const t = this.pick(used);
      used.add(t);
      return t;
    });
    const settled = await Promise.allSettled(picks.map(async (t, i) => {
      const session = this.nextSession++;
      // The last instance takes `bytes` itself when it owns its memory; the others a copy.
      const own = i === picks.length - 1 ? ownBuffer(bytes) : undefined;
      // (A Buffer's slice() is a view: new Uint8Array(bytes) copies.)
      const buf = own ?? new Uint8Array(bytes).buffer;
      // External data the same way: the last instance takes the buffers it owns, the others copies.
      const ext = external.map((e) => ({ path: e.path, data: (i === picks.length - 1 ? ownBuffer(e.data) : undefined) ?? new Uint8Array(e.data).buffer }));
      const r = await this.send(t, { op: 'load', id: this.nextId++, session, bytes: buf, options, external: ext }, [buf, ...ext.map((e) => e.data)]);
      return { session: new Session(this, t, session), inputs: r.inputs!, outputs: r.outputs! };
    }));
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map((s) => s.session.release()));
      throw failed.reason as Error;
    }
    return { sessions: ok.map((s) => s.session), inputs: ok[0]!.inputs, outputs: ok[0]!.outputs };
  }

  /** @internal Whether a thread still runs (it exited, or the threads were closed: its sessions are gone). */
  alive(t: Thread): boolean {
    return !this.closed && this.threads.includes(t);
  }

  /** @internal */
  async run(t: Thread, session: number, inputs: WireTensor[], outputs: string[]): Promise<{ tensors: WireTensor[]; runMs: number }> {
    // A thread that died took its sessions with it (a message to it would never be answered).
    if (!this.closed && !this.threads.includes(t)) throw new RuntimeThreadLost('the model\'s runtime thread exited; the model is reloaded on its next request');
    const transfer: ArrayBuffer[] = [];
    for (const i of inputs) {
      if (i.keep) continue;
      const own = ownBuffer(i.data);
      if (own && !transfer.includes(own)) transfer.push(own);
    }
    const r = await this.send(t, { op: 'run', id: this.nextId++, session, inputs, outputs }, transfer);
    return { tensors: r.tensors!, runMs: r.runMs ?? 0 };
  }

  /** @internal */
  async release(t: Thread, session: number): Promise<void> {
    if (this.closed || !this.threads.includes(t)) return;
    // A thread that closes or dies meanwhile takes the session with it: released either way.
    await this.send(t, { op: 'release', id: this.nextId++, session }).catch(() => {});
  }

  /**
   * Stops the threads once their sessions are released (terminating
   * onnxruntime mid-run can abort the process); runs still unanswered then
   * fail. Once only: a stopped worker's terminate() would never settle.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.threads.map(async (t) => {
        await this.send(t, { op: 'close', id: this.nextId++ }).catch(() => {});
        t.worker.removeAllListeners('exit');
        await t.worker.terminate();
      }));
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(new Error('the runtime threads are closed'));
      this.waiting.clear();
    })();
    return this.closing;
  }
}

/** One session on one runtime thread. */
export class Session {
  constructor(private readonly runtime: RuntimeThreads, private readonly thread: Thread, private readonly id: number) {}

  /** Its runtime thread, as an opaque key (sessions on one thread run one at a time). */
  get threadKey(): object {
    return this.thread;
  }

  /** Runs and loads waiting on its thread (the model runs on its least busy instance). */
  get busy(): number {
    return this.thread.busy;
  }

  /** Its thread exited: the session is gone. */
  get lost(): boolean {
    return !this.runtime.alive(this.thread);
  }

  /** The outputs, and how long onnxruntime's run took on the thread (ms). */
  run(inputs: WireTensor[], outputs: string[]): Promise<{ tensors: WireTensor[]; runMs: number }> {
    return this.runtime.run(this.thread, this.id, inputs, outputs);
  }

  release(): Promise<void> {
    return this.runtime.release(this.thread, this.id);
  }
}
