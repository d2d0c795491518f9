import { Worker } from 'node:worker_threads';
import { encodeChunk } from './select.js';
import type { EncodeInput, Encoded } from './select.js';

interface Reply {
  id: number;
  results?: (Omit<Encoded, 'payload'> & { payload: Uint8Array })[];
  error?: string;
}

/**
 * Encodes batches of chunks on a worker thread, so that an import compresses
 * one batch while its main thread reads, hashes and looks up the next one.
 * With no worker (size 0) it encodes in the calling thread.
 */
export class EncodePool {
  private worker?: Worker;
  private nextId = 0;
  private waiting = new Map<number, { resolve: (r: Encoded[]) => void; reject: (e: Error) => void }>();
  private failed?: Error;

  constructor(useWorker: boolean) {
    if (!useWorker) return;
    const w = new Worker(new URL('./encode-worker.js', import.meta.url));
    w.on('message', (m: Reply) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) w.unref();
      if (m.error !== undefined || !m.results) p.reject(new Error(`encoding failed: ${m.error}`));
      else p.resolve(m.results.map((r) => ({ ...r, payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.length) })));
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => this.fail(new Error(`encoder worker exited with code ${code}`)));
    // An idle pool must not keep the process alive; a busy one must (see encodeMany).
    w.unref();
    this.worker = w;
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  /** Encodes every input (the inputs are copied to the worker; the caller may reuse its buffers). */
  encodeMany(inputs: EncodeInput[]): Promise<Encoded[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    if (!this.worker) return Promise.resolve(inputs.map((i) => encodeChunk(i)));
    if (this.failed) return Promise.reject(this.failed);
    // Compact copies, transferred: a view posted as is would clone (or, for a
    // SharedArrayBuffer, share) its whole underlying buffer.
    const transfer: ArrayBuffer[] = [];
    const copy = (b: Uint8Array): Uint8Array => {
      // new Uint8Array(view) copies; Buffer#slice would not.
      const c = new Uint8Array(b);
      transfer.push(c.buffer);
      return c;
    };
    const msg = inputs.map((i) => ({
      raw: copy(i.raw), dtype: i.dtype, base: i.base && copy(i.base),
      castSource: i.castSource && { dtype: i.castSource.dtype, raw: copy(i.castSource.raw) },
    }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.ref();
      this.worker!.postMessage({ id, inputs: msg }, transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
