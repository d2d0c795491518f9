import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Hashes the blocks it is sent, in order, and frees each ring slot when done;
 * `null` ends the stream and returns the digest (see parallel-hash.ts).
 */
const busy = (workerData as { busy: Int32Array }).busy;
const h = createHash('sha256');
parentPort!.on('message', (m: { slot: number; sab: SharedArrayBuffer; length: number } | null) => {
  if (m === null) {
    parentPort!.postMessage(h.digest());
    parentPort!.close();
    return;
  }
  h.update(new Uint8Array(m.sab, 0, m.length));
  Atomics.store(busy, m.slot, 0);
  Atomics.notify(busy, m.slot);
});
