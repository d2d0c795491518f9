import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { Sha256Message } from './sha256-thread.js';

/**
 * Hashes the streams it is sent (several files, each by its own id), block by
 * block in order; clears a block's ring mark as soon as it is hashed, and
 * answers a stream's end with its digest (protocol: sha256-thread.ts).
 */
const streams = new Map<number, Hash>();
parentPort!.on('message', (m: Sha256Message) => {
  if (m.op === 'block') {
    let h = streams.get(m.id);
    if (!h) streams.set(m.id, (h = createHash('sha256')));
    h.update(new Uint8Array(m.sab, 0, m.length));
    Atomics.store(m.busy, m.slot, 0);
    Atomics.notify(m.busy, m.slot);
    return;
  }
  const h = streams.get(m.id) ?? createHash('sha256');
  streams.delete(m.id);
  if (m.op === 'end') parentPort!.postMessage({ id: m.id, digest: h.digest() });
});
