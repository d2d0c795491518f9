import type { Backend, ModelRow } from '../../backends/backend.js';
import { FileSource } from '../../io/file-source.js';
import type { TensorSegment } from '../../formats/segment.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import { DeltaEncoder } from './delta-encoder.js';
import type { InputFile } from './inputs.js';
import type { ModelTensors } from './encoder.js';
import type { ChunkWork } from './chunk-work.js';

/** How many of the closest stored models are tried as bases. */
const CANDIDATES = 4;
/** How many sample pieces decide between candidates. */
const SAMPLES = 12;
/** A base must shrink the sample below this fraction of its size without one. */
const MIN_GAIN = 0.97;

export interface BaseChoice {
  model: ModelRow;
  /** Tensors of the new model with a same-named, same-shaped tensor in the base. */
  matches: number;
  /** Bytes the sample pieces took with this base (for the record). */
  sampleBytes?: number;
}

function shapeKey(name: string, shape: number[]): string {
  return `${name}\u0000${shape.join(',')}`;
}

/** How many of the new model's tensors (the largest) look for stored models holding them. */
const PROBES = 8;
/** How many stored holders of each probe tensor (newest first) are considered. */
const PER_PROBE = 16;

/**
 * Picks the base model for an import. The largest tensors of the new model
 * are looked up by name, shape and dtype (an index walk, newest first, a
 * bounded number each: the cost does not grow with the store); half-precision
 * tensors also look for F32 holders (cast deltas). The models holding the
 * most of them, and `preferred` (the previous version of the same name), are
 * the candidates; of the closest few, the one whose deltas compress a sample
 * of the new tensors best wins (never `exclude`, the model being imported).
 * Returns undefined when no stored model holds a probe tensor or no candidate
 * beats encoding alone.
 */
export async function findBase(
  backend: Backend, reader: ChunkReader, chunkSize: number, inputs: InputFile[],
  { preferred, exclude }: { preferred?: number | undefined; exclude?: number | undefined },
  tensorsOf: ModelTensors, work: ChunkWork,
): Promise<BaseChoice | undefined> {
  // A stored file reused as it is encodes nothing: only the files read now look for a base.
  const tensors = inputs.filter((f) => !f.stored).flatMap((f) => f.segmentation.segments.filter((s): s is TensorSegment => s.kind === 'tensor').map((t) => ({ file: f, t })));
  if (tensors.length === 0) return undefined;
  const probes: TensorSegment[] = [];
  const seen = new Set<string>();
  for (const { t } of [...tensors].sort((a, b) => b.t.length - a.t.length)) {
    const key = `${shapeKey(t.name, t.shape)}\u0000${t.dtype}`;
    if (seen.has(key)) continue;
    seen.add(key);
    probes.push(t);
    if (probes.length === PROBES) break;
  }
  const votes = new Map<number, { same: number; cast: number }>();
  const vote = (id: number, kind: 'same' | 'cast'): void => {
    // The model being imported holds its own earlier files' tensors once their rows are in: never its own base.
    if (id === exclude) return;
    let v = votes.get(id);
    if (!v) votes.set(id, (v = { same: 0, cast: 0 }));
    v[kind]++;
  };
  // Asked together: on PostgreSQL the lookups share one round trip.
  const holders = await Promise.all(probes.map(async (t) => ({
    same: await backend.tensorsLike(t.name, t.shape, t.dtype, PER_PROBE),
    cast: t.dtype === 'F16' || t.dtype === 'BF16' ? await backend.tensorsLike(t.name, t.shape, 'F32', PER_PROBE) : [],
  })));
  for (const h of holders) {
    for (const id of new Set(h.same.map((r) => r.modelId))) vote(id, 'same');
    for (const id of new Set(h.cast.map((r) => r.modelId))) vote(id, 'cast');
  }
  if (preferred !== undefined && !votes.has(preferred)) votes.set(preferred, { same: 0, cast: 0 });
  // Most probes held in the same dtype first (plain XOR deltas), then as F32
  // (cast deltas), then the newest model (highest id).
  const ranked = [...votes.entries()]
    .sort((a, b) => b[1].same - a[1].same || b[1].cast - a[1].cast || Number(b[0] === preferred) - Number(a[0] === preferred) || b[0] - a[0])
    .slice(0, CANDIDATES);
  if (ranked.length === 0) return undefined;
  // What each candidate holds, by name and shape: bounded by the candidate's size, not the store's.
  // Asked together: on PostgreSQL the lookups share round trips.
  const found = await Promise.all(ranked.map(async ([id]) => {
    const model = await backend.getModel(id);
    const keys = new Set((await tensorsOf(id)).map((r) => shapeKey(r.name, r.shape)));
    return { model, keys };
  }));
  const choices: (BaseChoice & { keys: Set<string> })[] = [];
  for (const { model, keys } of found) {
    const matches = tensors.filter(({ t }) => keys.has(shapeKey(t.name, t.shape))).length;
    if (model && matches > 0) choices.push({ model, matches, keys });
  }
  if (choices.length === 0) return undefined;

  // Sample: the first piece of the largest tensors the closest candidate could
  // serve (a candidate lacking one encodes it alone: a fair penalty), encoded
  // with each candidate as base and with none: a stored model of the same
  // architecture but unrelated weights is no base at all, and trying deltas
  // against it would only double the encoding work.
  const sample = tensors.filter(({ t }) => choices[0]!.keys.has(shapeKey(t.name, t.shape)))
    .sort((a, b) => b.t.length - a.t.length).slice(0, SAMPLES);
  // The sample pieces' bytes, read once for every candidate.
  const pieces = sample.map(({ file, t }) => {
    const src = new FileSource(file.absPath);
    try {
      return { raw: src.read(t.offset, Math.min(chunkSize, t.length)), position: { tensor: t, index: 0 } };
    } finally {
      src.close();
    }
  });
  // Every candidate's sample (and the sample alone) is prepared, then encoded in one batch:
  // on worker threads, side by side, when the import has them.
  const bases = [null, ...choices.map((c) => c.model.id)];
  const encoders = await Promise.all(bases.map((id) => DeltaEncoder.create(backend, reader, chunkSize, id, tensorsOf)));
  const prepared = await Promise.all(encoders.map((enc) => enc.prepareMany(pieces)));
  const encoded = await work.encode(prepared.flat().map((p) => p.input));
  const bytes: number[] = [];
  try {
    let k = 0;
    for (const [i, enc] of encoders.entries()) {
      let n = 0;
      for (const p of prepared[i]!) n += (await enc.complete(p, encoded.results[k++]!)).payload.length;
      bytes.push(n);
    }
  } finally {
    encoded.release();
  }
  const alone = bytes[0]!;
  const scored: BaseChoice[] = choices.map((c, i) => ({ model: c.model, matches: c.matches, sampleBytes: bytes[i + 1]! }));
  const best = scored.sort((a, b) => a.sampleBytes! - b.sampleBytes! || b.matches - a.matches)[0]!;
  return best.sampleBytes! < MIN_GAIN * alone ? best : undefined;
}
