/**
 * Approximate deduplication of one stored ONNX model under an accuracy bound
 * (approx.md): its float32 blocks are matched against the stored blocks of
 * its family through an LSH index of sketches, confirmed by the relative
 * error, replaced greedily (most stored bytes freed per unit of estimated
 * damage first) while onnxruntime measures the drop on the search rows, the
 * result checked on held-out rows, and stored as a new, lossy version. The
 * version it came from is only read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { FileBlock, ModelRow, Store } from '../store/store.js';
import type { ModelRef } from '../store/model-ref.js';
import { formatModelRef } from '../store/model-ref.js';
import { invalid, kindOf } from '../errors.js';
import { exampleOf } from '../wire/example.js';
import { lossyOf } from '../wire/lossy.js';
import type { LossyInfo, LossyMetric, SplitFigures } from '../wire/lossy.js';
import { bindInputs, modelInputs, splitRows, takeRows } from './eval-data.js';
import type { BoundInput, EvalData } from './eval-data.js';
import { Evaluator } from './evaluator.js';
import { dropOf, scorer } from './metric.js';
import type { RowOutputs, Scorer } from './metric.js';
import { greedySearch } from './search.js';
import { decodeSketch, distance, encodeSketch, LshIndex, sketch, SKETCH_SCHEMES, valuesOf } from './sketch.js';
import type { BlockDtype } from './sketch.js';

export interface ApproxOptions {
  /** The largest drop accepted (a fraction: 0.01 = one point of accuracy). */
  maxDrop: number;
  /** Default: accuracy with labels, else agreement (an output of several values per row), else relative error. */
  metric?: LossyMetric;
  /** The output scored (default: the model's first). */
  output?: string;
  /** Fraction of the rows held out to check the bound (default 0.5). */
  heldOut?: number;
  /** Seed of the split (default 1). */
  seed?: number;
  /** Largest relative L2 error ‖b − c‖ / ‖b‖ of a replacement (default 0.25). */
  maxBlockError?: number;
  /** Evaluations the search may use (default 64). */
  maxEvaluations?: number;
  /** Consecutive rejected evaluations that end the search (default 6). */
  patience?: number;
  /** Related models whose blocks are candidates (default 64, newest first). */
  maxModels?: number;
  /** Search and report, store nothing. */
  dryRun?: boolean;
  onProgress?: (line: string) => void;
}

export interface ApproxOutcome {
  info: LossyInfo;
  /** The lossy version stored; undefined when no block could be replaced, or on a dry run. */
  stored?: ModelRow;
  /**
   * With `stored`: false when the name's latest version already held exactly
   * these bytes (the same run again), so nothing was stored and `stored` is
   * that version, kept with its own record.
   */
  created?: boolean;
  /** Why the search ended. */
  ended: string;
}

/** Blocks smaller than this are left alone: they save little and are often biases, which a model is sensitive to. */
export const MIN_BLOCK_BYTES = 1024;
/** Candidates confirmed by the exact error per block (closest sketches first): each one read and decoded. */
const CANDIDATES_PER_BLOCK = 4;
/** Stored blocks read per query while indexing and confirming. */
const READ_BATCH = 256;

type Split = keyof SplitFigures;

/** A block of the model with the stored block that would replace it. */
interface Replacement {
  block: FileBlock;
  /** The stored block's bytes, written over the block's. */
  bytes: Buffer;
  err2: number;
  freed: number;
}

async function* readInBatches(store: Store, ids: number[]): AsyncGenerator<[number, Buffer]> {
  for (let i = 0; i < ids.length; i += READ_BATCH) {
    const batch = ids.slice(i, i + READ_BATCH);
    const bufs = await store.readChunks(batch);
    for (let k = 0; k < batch.length; k++) yield [batch[k]!, bufs[k]!];
  }
}

/** Each block's closest stored block within the error bound, by LSH candidates confirmed with the exact error. */
async function findReplacements(store: Store, model: ModelRow, bytes: Buffer, blocks: FileBlock[], opts: { maxBlockError: number; maxModels: number }): Promise<{ found: Map<FileBlock, { chunkId: number; err2: number; bytes: Buffer }>; indexed: number }> {
  const mine = new Set(blocks.map((b) => b.chunkId));
  const blocksOf = (await store.relatedBlocks(model, opts.maxModels)).filter((b) => b.rawSize >= MIN_BLOCK_BYTES && !mine.has(b.chunkId));
  const index = new LshIndex<number>();
  const groupOf = (dtype: string, rawSize: number): string => `${dtype}:${rawSize}`;
  // Sketched once per chunk and dtype for the life of the store: a later run decodes only the candidates it confirms.
  for (const dtype of Object.keys(SKETCH_SCHEMES) as BlockDtype[]) {
    const ofDtype = blocksOf.filter((b) => b.dtype === dtype);
    if (!ofDtype.length) continue;
    const sketches = await store.chunkSketches(ofDtype.map((b) => b.chunkId), SKETCH_SCHEMES[dtype], (raw) => encodeSketch(sketch(valuesOf(raw, dtype))));
    // Each stored chunk once, however many models hold it: a candidate slot per distinct block.
    const indexed = new Set<number>();
    for (const b of ofDtype) {
      if (indexed.has(b.chunkId)) continue;
      indexed.add(b.chunkId);
      const kept = sketches.get(b.chunkId);
      const s = kept && decodeSketch(kept);
      if (s) index.add(groupOf(dtype, b.rawSize), s, b.chunkId);
    }
  }
  // Each block's values, read once: its sketch and every candidate's error use them.
  const values = new Map(blocks.map((b) => [b, valuesOf(bytes.subarray(b.fileOffset, b.fileOffset + b.rawSize), b.dtype as BlockDtype)]));
  const wanted = new Map<FileBlock, number[]>();
  for (const b of blocks) {
    const s = sketch(values.get(b)!);
    if (s) wanted.set(b, index.candidates(groupOf(b.dtype, b.rawSize), s, CANDIDATES_PER_BLOCK));
  }
  const byCandidate = new Map<number, FileBlock[]>();
  for (const [b, ids] of wanted) for (const id of ids) byCandidate.set(id, [...byCandidate.get(id) ?? [], b]);
  // The closest candidate's bytes are kept: the search writes them into the candidate models.
  const found = new Map<FileBlock, { chunkId: number; err2: number; bytes: Buffer }>();
  for await (const [id, buf] of readInBatches(store, [...byCandidate.keys()])) {
    for (const b of byCandidate.get(id)!) {
      // A candidate is of the block's group (dtype and length); a chunk whose bytes say otherwise is not one.
      if (buf.length !== b.rawSize) continue;
      const { err2, norm2 } = distance(values.get(b)!, valuesOf(buf, b.dtype as BlockDtype));
      // NaN (a candidate holding NaN or infinities) fails the check too.
      if (err2 === 0 || !(Math.sqrt(err2 / norm2) <= opts.maxBlockError)) continue;
      const best = found.get(b);
      if (!best || err2 < best.err2) found.set(b, { chunkId: id, err2, bytes: buf });
    }
  }
  return { found, indexed: index.size };
}

export async function approximate(store: Store, ref: ModelRef, data: EvalData, labels: Int32Array | undefined, opts: ApproxOptions): Promise<ApproxOutcome> {
  const started = performance.now();
  const say = opts.onProgress ?? (() => {});
  const maxDrop = opts.maxDrop;
  if (!(maxDrop >= 0 && maxDrop < 1)) throw invalid(`--max-drop ${maxDrop}: expected a fraction from 0 to below 1 (e.g. 1% or 0.01)`);
  const heldOutFraction = opts.heldOut ?? 0.5;
  const maxBlockError = opts.maxBlockError ?? 0.25;
  if (!(maxBlockError > 0 && maxBlockError <= 1)) throw invalid(`--max-block-error ${maxBlockError}: expected a fraction above 0 and at most 1`);

  const model = await store.resolve(ref);
  const name = formatModelRef(model.name, model.version);
  const earlier = lossyOf(model.metadataJson);
  if (earlier) throw invalid(`${name} is itself a lossy version (of ${earlier.from}): run approx on the lossless version, so that drops do not add up unseen`);
  const files = await store.files(model);
  const onnx = files.filter((f) => f.format === 'onnx');
  if (onnx.length !== 1) {
    throw invalid(`${name} is not an ONNX model of one .onnx file (its files are ${[...new Set(files.map((f) => f.format))].join(', ')}): approx evaluates models with onnxruntime`);
  }
  const file = onnx[0]!;
  const blocks = (await store.fileBlocks(file)).filter((b) => b.rawSize >= MIN_BLOCK_BYTES);
  if (!blocks.length) throw invalid(`${name}: ${file.path} has no float tensor (F32, F16 or BF16) of at least ${MIN_BLOCK_BYTES} bytes: approx replaces float weights only`);
  const { bytes } = await store.loadFile(file);

  // The original's answers on both splits: what the metric compares with, and its own score.
  const ev = await Evaluator.create();
  const original = await ev.open(bytes, `${name} (${file.path})`);
  let bound: { inputs: BoundInput[]; rowByRow: boolean };
  let output: string;
  const parts = {} as Record<Split, BoundInput[]>;
  const refs = {} as Record<Split, RowOutputs>;
  const split = splitRows(data.rows, heldOutFraction, opts.seed ?? 1);
  try {
    bound = bindInputs(data, modelInputs(original.inputMetadata));
    output = opts.output ?? original.outputNames[0]!;
    if (!original.outputNames.includes(output)) throw invalid(`--output ${output}: the model's outputs are ${original.outputNames.join(', ')}`);
    for (const s of ['search', 'heldOut'] as const) {
      parts[s] = bound.inputs.map((i) => takeRows(i, split[s]));
      try {
        refs[s] = await ev.outputs(original, parts[s], output, bound.rowByRow);
      } catch (e) {
        // What onnxruntime refuses of the data is the data's problem: named by its file.
        throw kindOf(e) === 'invalid' ? invalid(`${data.source}: ${(e as Error).message}`) : e;
      }
    }
  } finally {
    await original.release();
  }
  const width = refs.search.width;
  const metric: LossyMetric = opts.metric ?? (labels ? 'accuracy' : width > 1 ? 'agreement' : 'relative-error');
  if (metric === 'accuracy' && !labels) throw invalid('the accuracy metric needs labels (--labels FILE)');
  if (metric !== 'relative-error' && width < 2) throw invalid(`output "${output}" has ${width} value(s) per row: ${metric} needs a score per class; use the relative-error metric`);
  if (labels) {
    if (labels.length !== data.rows) throw invalid(`labels: ${labels.length} labels for ${data.rows} evaluation rows`);
    const bad = labels.findIndex((l) => l < 0 || l >= width);
    if (bad >= 0) throw invalid(`labels: row ${bad} has label ${labels[bad]}, not a class of output "${output}" (0 to ${width - 1})`);
  }
  const scorers = {} as Record<Split, Scorer>;
  const before = {} as SplitFigures;
  for (const s of ['search', 'heldOut'] as const) {
    scorers[s] = scorer(metric, refs[s], labels && Int32Array.from(split[s], (r) => labels[r]!));
    before[s] = scorers[s].score(refs[s]);
  }
  say(`${name}: ${metric} ${fmt(before.search)} on ${split.search.length} search rows, ${fmt(before.heldOut)} on ${split.heldOut.length} held-out rows`);

  // Candidates: each block's closest stored block, and what replacing it frees.
  const { found, indexed } = await findReplacements(store, model, bytes, blocks, { maxBlockError, maxModels: opts.maxModels ?? 64 });
  // Over all the model's files: a chunk another of its files holds too stays needed.
  const costs = await store.chunkCosts(model);
  const items: Replacement[] = [];
  for (const [block, f] of found) {
    // A chunk the model holds twice (in this file or another) is freed only when every copy goes: counted as nothing, not tried.
    const cost = costs.get(block.chunkId);
    const gain = !cost || cost.uses > 1 ? 0 : cost.freed;
    if (gain > 0) items.push({ block, bytes: f.bytes, err2: f.err2, freed: gain });
  }
  items.sort((a, b) => b.freed / (b.err2 + 1e-30) - a.freed / (a.err2 + 1e-30) || a.block.fileOffset - b.block.fileOffset);
  const blockBytes = blocks.reduce((m, b) => Math.max(m, b.rawSize), 0);
  say(`${blocks.length} blocks of up to ${blockBytes} bytes; ${indexed} stored blocks indexed; ${items.length} with a replacement within ${(maxBlockError * 100).toFixed(0)}% error`);

  // The search, on the search rows; every evaluation is a session of the candidate bytes.
  let evaluations = 0;
  const build = (set: number[]): Buffer => {
    const out = Buffer.from(bytes);
    for (const i of set) items[i]!.bytes.copy(out, items[i]!.block.fileOffset);
    return out;
  };
  /** The score with `set` replaced; when `bounded`, a score that cannot stay within the bound stops early (its best case returned). */
  const scoreOf = async (set: number[], s: Split, bounded = true): Promise<number> => {
    evaluations++;
    const session: InferenceSession = await ev.open(build(set), `${name} with ${set.length} blocks replaced`);
    const rows = split[s].length;
    try {
      const stop = bounded ? (head: RowOutputs) => dropOf(metric, before[s], scorers[s].best(head, rows)) > maxDrop : undefined;
      const out = await ev.outputs(session, parts[s], output, bound.rowByRow, stop);
      return out.rows < rows ? scorers[s].best(out, rows) : scorers[s].score(out);
    } finally {
      await session.release();
    }
  };
  const result = await greedySearch(items.length, async (set) => {
    const d = dropOf(metric, before.search, await scoreOf(set, 'search'));
    say(`  ${set.length} blocks replaced: drop ${d > maxDrop ? `over ${fmt(maxDrop)}: backed off` : fmt(d)}`);
    return d;
  }, { maxDrop, maxEvaluations: opts.maxEvaluations ?? 64, patience: opts.patience ?? 6 });

  // The bound checked on rows the search never saw; batches backed off, last first, until it holds there too.
  let batches = result.batches;
  const after = { ...before };
  const flat = (): number[] => batches.flat();
  if (batches.length) after.heldOut = await scoreOf(flat(), 'heldOut');
  while (batches.length && dropOf(metric, before.heldOut, after.heldOut) > maxDrop) {
    batches = batches.slice(0, -1);
    say(`  held-out drop over the bound: backing off to ${flat().length} blocks`);
    after.heldOut = batches.length ? await scoreOf(flat(), 'heldOut') : before.heldOut;
  }
  after.search = !batches.length ? before.search : batches.length === result.batches.length ? before.search - signed(metric, result.drop) : await scoreOf(flat(), 'search', false);
  const chosen = flat().map((i) => items[i]!);
  const info: LossyInfo = {
    from: name, metric, maxDrop, before, after,
    drop: { search: dropOf(metric, before.search, after.search), heldOut: dropOf(metric, before.heldOut, after.heldOut) },
    rows: { search: split.search.length, heldOut: split.heldOut.length },
    blocks: { replaced: chosen.length, candidates: items.length, total: blocks.length, blockBytes },
    replacedRawBytes: chosen.reduce((n, r) => n + r.block.rawSize, 0),
    savedStoredBytes: chosen.reduce((n, r) => n + r.freed, 0),
    losslessUniqueStoredBytes: [...costs.values()].reduce((n, c) => n + c.freed, 0),
    evaluations, seconds: (performance.now() - started) / 1000,
  };
  if (!chosen.length || opts.dryRun) return { info, ended: result.ended };

  // Stored like any import: the replaced blocks are stored chunks already, the rest the original's.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-approx-'));
  try {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, build(flat()));
    info.seconds = (performance.now() - started) / 1000;
    const imported = await store.import(dir, {
      name: model.name, base: { name: model.name, version: model.version }, lossy: info, example: exampleOf(model.metadataJson),
      reuse: files.filter((f) => f.id !== file.id).map((f) => ({ relPath: f.path, file: f })), relativeNames: true,
    });
    return { info, stored: imported.model, created: imported.created, ended: result.ended };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The drop as a change of score: accuracy and agreement fall by it, relative error rises. */
function signed(metric: LossyMetric, drop: number): number {
  return metric === 'relative-error' ? -drop : drop;
}

function fmt(x: number): string {
  return x.toFixed(4);
}
