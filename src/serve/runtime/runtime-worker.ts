import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { TensorData } from '../oip/tensor-codec.js';
import { sessionOptions } from './onnx-runtime.js';
import { ownBuffer } from './runtime-protocol.js';
import { WARM_UP_INPUT, WARM_UP_MODEL } from './warm-up-model.js';
import type { RuntimeMessage, RuntimeReply, RuntimeRequest, WireTensor } from './runtime-protocol.js';

/**
 * A runtime thread: creates onnxruntime sessions and runs them, off the
 * server's event loop (onnxruntime-node does both synchronously on the
 * calling thread: a session of a few MB takes 60 ms to create, a run as
 * long as the model takes).
 */
const port = parentPort!;
const sessions = new Map<number, InferenceSession>();

function reply(r: RuntimeReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(r, transfer);
}

async function handle(m: RuntimeRequest): Promise<void> {
  if (m.op === 'load') {
    // External data files come from the store's memory too: onnxruntime-node takes them as (path, bytes) pairs.
    const external = m.external?.map((e) => ({ path: e.path, data: new Uint8Array(e.data) }));
    const s = await ort.InferenceSession.create(new Uint8Array(m.bytes), external?.length ? { ...m.options, externalData: external } : m.options);
    sessions.set(m.session, s);
    reply({ id: m.id, ok: true, inputs: [...s.inputMetadata], outputs: [...s.outputMetadata] });
  } else if (m.op === 'close') {
    const all = [...sessions.values()];
    sessions.clear();
    await Promise.allSettled(all.map((s) => s.release()));
    reply({ id: m.id, ok: true });
  } else if (m.op === 'release') {
    const s = sessions.get(m.session);
    sessions.delete(m.session);
    await s?.release();
    reply({ id: m.id, ok: true });
  } else {
    const s = sessions.get(m.session);
    if (!s) throw new Error(`no session ${m.session} on this runtime thread`);
    const feeds: Record<string, Tensor> = {};
    // The Tensor constructor's overloads pair each type with its array type; the server built the matching one.
    const Ctor = ort.Tensor as unknown as new (type: string, data: TensorData, dims: readonly number[]) => Tensor;
    for (const t of m.inputs) feeds[t.name] = new Ctor(t.type, t.data, t.dims);
    let result: InferenceSession.OnnxValueMapType;
    const t0 = performance.now();
    try {
      result = await s.run(feeds, m.outputs);
    } catch (e) {
      reply({ id: m.id, ok: false, message: (e as Error).message, run: true });
      return;
    }
    const tensors: WireTensor[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const name of m.outputs) {
      const v = result[name];
      if (!v) throw new Error(`onnxruntime returned no output "${name}"`);
      const data = v.data as TensorData;
      const own = ownBuffer(data);
      if (own && !transfer.includes(own)) transfer.push(own);
      tensors.push({ name, type: v.type, dims: [...v.dims], data });
    }
    reply({ id: m.id, ok: true, tensors, runMs: performance.now() - t0 }, transfer);
  }
}

// One message at a time, in order (runs are synchronous inside onnxruntime anyway): a release or a close never
// frees a session that a run before it has yet to use.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: RuntimeRequest) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => reply({ id: m.id, ok: false, message: (e as Error)?.message ?? String(e), run: false }));
});

// onnxruntime sets itself up on a thread's first session and run: done here, before the thread takes work.
try {
  const s = await ort.InferenceSession.create(new Uint8Array(WARM_UP_MODEL), sessionOptions());
  await s.run({ [WARM_UP_INPUT]: new ort.Tensor('float32', new Float32Array([0]), [1, 1]) });
  await s.release();
} catch {
  // A failed warm-up only costs the first real session its set-up again.
}
port.postMessage({ ready: true } satisfies RuntimeMessage);
