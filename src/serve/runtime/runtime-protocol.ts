/**
 * What the server's thread and a runtime thread (runtime-worker.ts) say to
 * each other. Tensor data crosses by transfer where it owns its memory.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { TensorData } from '../oip/tensor-codec.js';

/** An onnxruntime tensor's parts: its type name (float32, int64, …), dimensions and data. */
export interface WireTensor {
  name: string;
  type: string;
  dims: readonly number[];
  data: TensorData;
  /** Copied to the thread instead of transferred: the sender reads it again. */
  keep?: boolean;
}

export type RuntimeRequest =
  | { op: 'load'; id: number; session: number; bytes: ArrayBuffer; options: InferenceSession.SessionOptions; external?: ExternalData<ArrayBuffer>[] }
  | { op: 'run'; id: number; session: number; inputs: WireTensor[]; outputs: string[] }
  | { op: 'release'; id: number; session: number }
  /** Releases every session: the thread is then stopped with nothing of onnxruntime's running. */
  | { op: 'close'; id: number };

export type RuntimeReply =
  | { id: number; ok: true; inputs?: InferenceSession.ValueMetadata[]; outputs?: InferenceSession.ValueMetadata[]; tensors?: WireTensor[]; runMs?: number }
  /** `run`: onnxruntime refused the run (the request's fault); otherwise the load, or the thread, failed. */
  | { id: number; ok: false; message: string; run: boolean };

/** What a runtime thread posts: a reply, or once, when it has loaded onnxruntime, that it is ready. */
export type RuntimeMessage = RuntimeReply | { ready: true };

/** The memory `data` owns whole, to be passed by transfer (a view of a larger buffer is copied instead). */
export function ownBuffer(data: TensorData): ArrayBuffer | undefined {
  if (Array.isArray(data)) return undefined;
  const b = data.buffer;
  return b instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === b.byteLength ? b : undefined;
}

/**
 * An external data file of an ONNX model (tensors stored outside the
 * protobuf), handed to onnxruntime from memory: `path` is the location as the
 * model names it, relative to the model file.
 */
export interface ExternalData<T = Uint8Array> {
  path: string;
  data: T;
}
