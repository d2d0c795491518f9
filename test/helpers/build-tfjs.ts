import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TfjsWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
  /** Stored bytes (product(shape) × itemsize of the stored dtype). */
  data: Buffer;
}

/**
 * Writes a TF.js graph model into `dir`: model.json plus the weights of one
 * group laid back to back and cut into shards of `shardSize` bytes
 * (`group1-shard1ofN.bin`, …), as the TF.js converter does. Returns the shard
 * file names and their sizes.
 */
export function buildTfjsModel(dir: string, weights: TfjsWeight[], shardSize: number, extra: Record<string, unknown> = {}): { shards: string[]; sizes: number[]; modelJson: string } {
  mkdirSync(dir, { recursive: true });
  const all = Buffer.concat(weights.map((w) => w.data));
  const n = Math.max(1, Math.ceil(all.length / shardSize));
  const shards: string[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const name = `group1-shard${i + 1}of${n}.bin`;
    const part = all.subarray(i * shardSize, Math.min(all.length, (i + 1) * shardSize));
    writeFileSync(join(dir, name), part);
    shards.push(name);
    sizes.push(part.length);
  }
  const model = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.17.0',
    modelTopology: { node: [], library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: shards, weights: weights.map(({ data: _d, ...w }) => w) }],
    ...extra,
  };
  const modelJson = join(dir, 'model.json');
  writeFileSync(modelJson, JSON.stringify(model));
  return { shards, sizes, modelJson };
}
