import type { Backend, ModelRow } from '../../backends/backend.js';
import { FileSource } from '../../io/file-source.js';
import type { TensorSegment } from '../../formats/segment.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import { encodeChunk } from '../../codec/index.js';
import { DeltaEncoder } from './delta-encoder.js';
import type { InputFile } from './inputs.js';

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

/**
 * Picks the base model for an import: among stored models, those sharing the
 * most tensor names and shapes with the new one; of the few closest, the one
 * whose deltas compress a sample of the new tensors best. Returns undefined
 * when no stored model shares a tensor name and shape.
 */
export async function findBase(
  backend: Backend, reader: ChunkReader, chunkSize: number, inputs: InputFile[], exclude?: number,
): Promise<BaseChoice | undefined> {
  const tensors = inputs.flatMap((f) => f.segmentation.segments.filter((s): s is TensorSegment => s.kind === 'tensor').map((t) => ({ file: f, t })));
  if (tensors.length === 0) return undefined;
  const wanted = new Map(tensors.map(({ t }) => [shapeKey(t.name, t.shape), t.dtype]));
  const counts = new Map<number, { keys: Set<string>; sameDtype: number }>();
  for (const row of await backend.tensorsNamed([...new Set(tensors.map(({ t }) => t.name))])) {
    const key = shapeKey(row.name, row.shape);
    const dtype = wanted.get(key);
    if (row.modelId === exclude || dtype === undefined) continue;
    let c = counts.get(row.modelId);
    if (!c) counts.set(row.modelId, (c = { keys: new Set(), sameDtype: 0 }));
    if (c.keys.has(key)) continue;
    c.keys.add(key);
    if (row.dtype === dtype) c.sameDtype++;
  }
  // Most matching tensors of the same dtype first (plain XOR deltas), then by
  // name and shape alone (cast deltas), then the newest model (highest id).
  const ranked = [...counts.entries()]
    .sort((a, b) => b[1].sameDtype - a[1].sameDtype || b[1].keys.size - a[1].keys.size || b[0] - a[0])
    .slice(0, CANDIDATES)
    .map(([id, c]) => [id, c.keys] as const);
  if (ranked.length === 0) return undefined;
  // Asked together: on PostgreSQL the lookups share one round trip.
  const choices: BaseChoice[] = await Promise.all(ranked.map(async ([id, set]) => ({ model: (await backend.getModel(id))!, matches: set.size })));

  // Sample: the first piece of the largest tensors the closest candidate could
  // serve (a candidate lacking one encodes it alone: a fair penalty), encoded
  // with each candidate as base and with none: a stored model of the same
  // architecture but unrelated weights is no base at all, and trying deltas
  // against it would only double the encoding work.
  const sample = tensors.filter(({ t }) => ranked[0]![1].has(shapeKey(t.name, t.shape)))
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
  const sampleBytes = async (baseId: number | null): Promise<number> => {
    const enc = await DeltaEncoder.create(backend, reader, chunkSize, baseId);
    // All pieces prepared at once: the base chunks' depths and bytes in one query each, not two per piece.
    let bytes = 0;
    for (const p of await enc.prepareMany(pieces)) bytes += (await enc.complete(p, encodeChunk(p.input))).payload.length;
    return bytes;
  };
  const alone = await sampleBytes(null);
  // The candidates side by side: on PostgreSQL their queries share round trips.
  await Promise.all(choices.map(async (c) => (c.sampleBytes = await sampleBytes(c.model.id))));
  const best = choices.sort((a, b) => a.sampleBytes! - b.sampleBytes! || b.matches - a.matches)[0]!;
  return best.sampleBytes! < MIN_GAIN * alone ? best : undefined;
}
