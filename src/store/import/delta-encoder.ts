import type { Backend, TensorRow } from '../../backends/backend.js';
import { codecUsesBase } from '../../codec/index.js';
import type { EncodeInput, Encoded } from '../../codec/index.js';
import type { ChunkReader } from '../read/chunk-reader.js';
import { sameShape } from './encoder.js';
import type { ChunkEncoder, EncodedChunk, ModelTensors, PreparedChunk, TensorPosition } from './encoder.js';
import { MAX_DELTA_DEPTH } from '../format.js';

/** What a new piece is predicted from: nothing, a same-dtype base piece, or the F32 pieces of a cast. */
interface Plan {
  kind: 'none' | 'delta' | 'cast';
  ids: number[];
}
const NO_PLAN: Plan = { kind: 'none', ids: [] };

/**
 * Encodes new chunks with the smallest codec, against a base model when there
 * is one: a chunk of tensor T, piece i is XORed with piece i of the base
 * model's same-named, same-shaped, same-dtype tensor; a half-precision piece
 * of a tensor the base holds in F32 is predicted by casting the F32 elements
 * (the cast-aware delta).
 */
export class DeltaEncoder implements ChunkEncoder {
  private fileChunks = new Map<number, number[]>();
  private tensorChunks = new Map<TensorRow, number[]>();
  private depths = new Map<number, number>();

  private constructor(
    private readonly backend: Backend,
    private readonly reader: ChunkReader,
    private readonly chunkSize: number,
    readonly baseModelId: number | null,
    private readonly baseTensors: Map<string, TensorRow>,
  ) {}

  static async create(
    backend: Backend, reader: ChunkReader, chunkSize: number, baseModelId: number | null, tensorsOf: ModelTensors = (id) => backend.modelTensors(id),
  ): Promise<DeltaEncoder> {
    const tensors = new Map<string, TensorRow>();
    if (baseModelId !== null) {
      for (const t of await tensorsOf(baseModelId)) if (!tensors.has(t.name)) tensors.set(t.name, t);
    }
    return new DeltaEncoder(backend, reader, chunkSize, baseModelId, tensors);
  }

  async prepare(raw: Buffer, pos: TensorPosition | undefined): Promise<PreparedChunk> {
    return (await this.prepareMany([{ raw, position: pos }]))[0]!;
  }

  /**
   * prepare() for a batch, with one query for the depths and one for the
   * bytes of all the base chunks it needs (a round trip per chunk is what a
   * networked database makes expensive).
   */
  async prepareMany(items: { raw: Buffer; position: TensorPosition | undefined }[]): Promise<PreparedChunk[]> {
    const plans: Plan[] = [];
    const wanted: number[] = [];
    for (const { position } of items) wanted.push(...(await this.candidateIds(position)));
    await this.warmDepths(wanted);
    for (const { position } of items) plans.push(await this.plan(position));
    const ids = [...new Set(plans.flatMap((p) => p.ids))];
    const bytes = new Map<number, Buffer>();
    if (ids.length) (await this.reader.read(ids)).forEach((b, i) => bytes.set(ids[i]!, b));
    return items.map(({ raw, position }, i) => {
      const plan = plans[i]!;
      const input: EncodeInput = { raw, dtype: position?.tensor.dtype };
      if (plan.kind === 'delta') input.base = bytes.get(plan.ids[0]!);
      if (plan.kind === 'cast') {
        const parts = plan.ids.map((id) => bytes.get(id)!);
        input.castSource = { dtype: 'F32', raw: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
      }
      return { input, candidates: plan.ids };
    });
  }

  /** The stored chunks a piece could be predicted from, before depth checks. */
  private async candidateIds(pos: TensorPosition | undefined): Promise<number[]> {
    const bt = this.baseTensorFor(pos);
    if (!pos || !bt) return [];
    const ids = await this.chunkIdsOf(bt);
    if (bt.dtype === pos.tensor.dtype) return ids[pos.index] === undefined ? [] : [ids[pos.index]!];
    return ids.slice(2 * pos.index, 2 * pos.index + 2);
  }

  /** The base model's same-named, same-shaped tensor, cut at the same chunk size. */
  private baseTensorFor(pos: TensorPosition | undefined): TensorRow | undefined {
    const bt = pos && this.baseTensors.get(pos.tensor.name);
    return pos && bt && sameShape(bt.shape, pos.tensor.shape) && this.chunkedAlike(bt) ? bt : undefined;
  }

  private async plan(pos: TensorPosition | undefined): Promise<Plan> {
    const bt = this.baseTensorFor(pos);
    if (!pos || !bt) return NO_PLAN;
    if (bt.dtype === pos.tensor.dtype) {
      const at = (await this.chunkIdsOf(bt))[pos.index];
      const id = at === undefined ? undefined : await this.shallowAncestor(at);
      return id === undefined ? NO_PLAN : { kind: 'delta', ids: [id] };
    }
    if (bt.dtype === 'F32' && (pos.tensor.dtype === 'F16' || pos.tensor.dtype === 'BF16') && this.chunkSize % 2 === 0) {
      // Piece i covers elements [i·c/2, (i+1)·c/2); their F32 bytes are F32 pieces 2i and 2i+1.
      const ids = (await this.chunkIdsOf(bt)).slice(2 * pos.index, 2 * pos.index + 2);
      if (ids.length > 0 && (await Promise.all(ids.map((id) => this.depth(id)))).every((d) => d < MAX_DELTA_DEPTH)) return { kind: 'cast', ids };
    }
    return NO_PLAN;
  }

  /** Depths of these chunks into the cache, in one query. */
  private async warmDepths(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.depths.has(id));
    if (missing.length) for (const info of await this.backend.chunkInfo(missing)) this.depths.set(info.id, info.depth);
  }

  async complete(prepared: PreparedChunk, enc: Encoded): Promise<EncodedChunk> {
    const bases = enc.usesBase || enc.usesCastSource ? prepared.candidates : [];
    let depth = 0;
    for (const b of bases) depth = Math.max(depth, 1 + (await this.depth(b)));
    return { codec: enc.codec, payload: enc.payload, bases, depth };
  }

  /**
   * The chunk itself when a delta against it stays within the depth bound;
   * else the nearest chunk down its chain of same-position bases that does
   * (an older version of the same piece: a good predictor still).
   */
  private async shallowAncestor(id: number): Promise<number | undefined> {
    let cur = id;
    for (;;) {
      if ((await this.depth(cur)) < MAX_DELTA_DEPTH) return cur;
      const [info] = await this.backend.chunkInfo([cur]);
      if (!info || !codecUsesBase(info.codec) || info.bases.length !== 1) return undefined;
      cur = info.bases[0]!;
    }
  }

  /** A base tensor imported with another chunk size has pieces at other offsets: no positional delta. */
  private chunkedAlike(t: TensorRow): boolean {
    return t.chunkCount === Math.ceil(t.length / this.chunkSize);
  }

  private async chunkIdsOf(t: TensorRow): Promise<number[]> {
    let ids = this.tensorChunks.get(t);
    if (!ids) {
      let fileIds = this.fileChunks.get(t.fileId);
      if (!fileIds) {
        fileIds = await this.backend.fileChunkIds(t.fileId);
        this.fileChunks.set(t.fileId, fileIds);
      }
      ids = fileIds.slice(t.firstChunk, t.firstChunk + t.chunkCount);
      this.tensorChunks.set(t, ids);
    }
    return ids;
  }

  private async depth(id: number): Promise<number> {
    let d = this.depths.get(id);
    if (d === undefined) {
      d = (await this.backend.chunkInfo([id]))[0]!.depth;
      this.depths.set(id, d);
    }
    return d;
  }
}
