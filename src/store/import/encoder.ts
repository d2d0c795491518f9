import type { TensorRow } from '../../backends/backend.js';
import type { TensorSegment } from '../../formats/segment.js';
import type { EncodeInput, Encoded } from '../../codec/index.js';
import type { InputFile } from './inputs.js';

/** A stored model's tensors (Backend.modelTensors), memoized for the span of one import. */
export type ModelTensors = (modelId: number) => Promise<TensorRow[]>;

/** A tensor's name and shape. */
export interface TensorShape {
  name: string;
  shape: number[];
}

/** Where a piece sits: in which tensor, and which fixed-size piece of it. */
export interface TensorPosition {
  tensor: TensorSegment;
  index: number;
}

export interface EncodedChunk {
  codec: number;
  payload: Buffer;
  /** Ids of stored chunks the payload decodes against (empty for self-contained codecs). */
  bases: number[];
  /** 0 for a self-contained chunk, else 1 + the deepest base's depth. */
  depth: number;
}

/** A new chunk made ready for the codec: its input, and the stored chunks it may be predicted from. */
export interface PreparedChunk {
  input: EncodeInput;
  /** The base chunk (XOR/integer delta) or the F32 chunks (cast delta) offered in `input`. */
  candidates: number[];
}

/**
 * Turns new chunks into what the store keeps, in two steps so the codec work
 * in between can run on another thread: prepare() finds and reads what a chunk
 * can be predicted from; complete() records what the codec chose.
 */
export interface ChunkEncoder {
  /** The model deltas are taken against, when there is one. */
  readonly baseModelId: number | null;
  prepare(raw: Buffer, position: TensorPosition | undefined): Promise<PreparedChunk>;
  /** prepare() for many pieces at once (fewer queries). */
  prepareMany(items: { raw: Buffer; position: TensorPosition | undefined }[]): Promise<PreparedChunk[]>;
  complete(prepared: PreparedChunk, encoded: Encoded): Promise<EncodedChunk>;
}

/** An encoder built on first use, so that an import with nothing new never builds it. */
export class LazyEncoder implements ChunkEncoder {
  private inner?: Promise<ChunkEncoder>;
  private built?: ChunkEncoder;

  constructor(private readonly make: () => Promise<ChunkEncoder>) {}

  get baseModelId(): number | null {
    return this.built?.baseModelId ?? null;
  }

  private encoder(): Promise<ChunkEncoder> {
    this.inner ??= this.make().then((e) => (this.built = e));
    return this.inner;
  }

  async prepare(raw: Buffer, position: TensorPosition | undefined): Promise<PreparedChunk> {
    return (await this.encoder()).prepare(raw, position);
  }

  async prepareMany(items: { raw: Buffer; position: TensorPosition | undefined }[]): Promise<PreparedChunk[]> {
    return (await this.encoder()).prepareMany(items);
  }

  async complete(prepared: PreparedChunk, encoded: Encoded): Promise<EncodedChunk> {
    return (await this.encoder()).complete(prepared, encoded);
  }
}

/** `fn` with its results kept by argument (a failed call is not kept). */
export function memoize<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  const kept = new Map<A, Promise<R>>();
  return (a) => {
    let r = kept.get(a);
    if (!r) {
      r = fn(a);
      kept.set(a, r);
      r.catch(() => kept.delete(a));
    }
    return r;
  };
}

/** The largest F32 tensor of the files being imported: what asks first whether a half-precision copy is stored. */
export function largestF32(inputs: InputFile[]): TensorShape | undefined {
  let best: TensorSegment | undefined;
  for (const f of inputs) {
    for (const s of f.segmentation.segments) if (s.kind === 'tensor' && s.dtype === 'F32' && (!best || s.length > best.length)) best = s;
  }
  return best && { name: best.name, shape: best.shape };
}

/** Whether two tensor shapes are the same. */
export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
