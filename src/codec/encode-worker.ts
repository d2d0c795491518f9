import { parentPort } from 'node:worker_threads';
import { encodeChunk } from './select.js';
import type { EncodeInput } from './select.js';

/** A view that owns its whole ArrayBuffer (safe to transfer); small Buffers share a pool and are copied. */
function owned(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.buffer.byteLength === b.length && !(b.buffer instanceof SharedArrayBuffer) ? b : new Uint8Array(b);
}

/** Encodes the batches it is sent and answers with the payloads, transferred rather than copied. */
parentPort!.on('message', (m: { id: number; inputs: EncodeInput[] }) => {
  try {
    const results = m.inputs.map((input) => {
      const r = encodeChunk(input);
      return { ...r, payload: owned(r.payload) };
    });
    parentPort!.postMessage({ id: m.id, results }, results.map((r) => r.payload.buffer as ArrayBuffer));
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
