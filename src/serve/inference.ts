/**
 * Inference for any servable model version: an ONNX model runs through the
 * scheduler (its queue, batching and turns: scheduling/scheduler.ts) on its
 * sessions; an ensemble runs its steps (ensemble/run-ensemble.ts), each step
 * through the same scheduler as a request of the step's model, so step runs
 * batch with direct requests to that model.
 */
import { invalid, unavailable, TesseraError } from '../errors.js';
import { parseEnsemble } from '../formats/ensemble.js';
import type { EnsembleDefinition, EnsembleStep } from '../formats/ensemble.js';
import { unavailableMessage } from '../store/store.js';
import type { Store } from '../store/store.js';
import type { ServingConfig } from '../wire/serving-config.js';
import { keyOf } from './catalog.js';
import type { Catalog, CatalogVersion } from './catalog.js';
import { publicMessage } from './http/errors.js';
import type { InferRequest, OutputTensor } from './oip/infer.js';
import type { ModelSignature, TensorSpec } from './oip/signature.js';
import type { HostTensor } from './oip/tensor-codec.js';
import { repairMarkState } from './runtime/model-manager.js';
import type { ModelManager, ModelState } from './runtime/model-manager.js';
import { QueueFull } from './scheduling/scheduler.js';
import type { Cancellation, QueuePolicy, Runnable, Scheduler } from './scheduling/scheduler.js';
import { runEnsemble, stepError } from './ensemble/run-ensemble.js';

export const ENSEMBLE_FORMAT = 'ensemble';

const policies = new WeakMap<ServingConfig, QueuePolicy>();

/** The scheduler's view of a configuration (one object per configuration: the catalog keeps them until they change). */
export function queuePolicy(c: ServingConfig): QueuePolicy {
  let p = policies.get(c);
  if (!p) {
    p = {
      maxBatchSize: c.max_batch_size, preferredBatchSizes: c.preferred_batch_size,
      maxQueueDelayMs: c.max_queue_delay_microseconds / 1000, maxQueueSize: c.max_queue_size,
    };
    policies.set(c, p);
  }
  return p;
}

const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;

/**
 * A tensor handed to a model checked against the model's input: a name,
 * datatype or rank that disagrees is the ensemble definition's fault (500);
 * a dimension may be the client's data (400).
 */
function checkFeed(spec: TensorSpec | undefined, t: HostTensor, what: string): void {
  if (!spec) throw new Error(`${what}: the model has no input "${t.name}"`);
  if (spec.datatype !== t.datatype) throw new Error(`${what}: input "${t.name}" is ${t.datatype}, the model wants ${spec.datatype}`);
  if (spec.shape.length !== t.shape.length) throw new Error(`${what}: input "${t.name}" has ${t.shape.length} dimensions, the model wants ${spec.shape.length}`);
  if (spec.shape.some((d, i) => d >= 0 && d !== t.shape[i])) {
    throw invalid(`${what}: input "${t.name}" has shape ${fmt(t.shape)}, the model wants ${fmt(spec.shape)}`);
  }
}

export interface InferenceDeps {
  store: Store;
  catalog: Catalog;
  models: ModelManager;
  scheduler: Scheduler;
}

export class Inference {
  private readonly ensembles = new Map<string, Promise<EnsembleDefinition>>();
  /** Ensemble requests in flight per version (bounded by the ensemble's max_queue_size). */
  private readonly ensembleRuns = new Map<string, number>();

  constructor(private readonly d: InferenceDeps) {}

  isEnsemble(v: CatalogVersion): boolean {
    return v.model.format === ENSEMBLE_FORMAT;
  }

  /** The definition of an ensemble version, read from the store once. */
  definition(v: CatalogVersion): Promise<EnsembleDefinition> {
    // By the stored model's id: a version removed and imported again (by another process) is another definition.
    const key = `${v.model.id}`;
    let p = this.ensembles.get(key);
    if (!p) {
      p = (async () => {
        const why = unavailableMessage(v.model);
        if (why !== undefined) throw unavailable(why);
        const file = v.files.find((f) => f.format === ENSEMBLE_FORMAT);
        if (!file || v.files.length !== 1) throw new Error(`${keyOf(v.model)} is not an ensemble of one definition file`);
        const { bytes } = await this.d.store.loadFile(file);
        return parseEnsemble(bytes.toString('utf8'), file.path);
      })();
      if (this.ensembles.size >= 1000) this.ensembles.clear();
      this.ensembles.set(key, p);
      // A failed read is tried again by the next request.
      p.catch(() => this.ensembles.delete(key));
    }
    return p;
  }

  async signature(v: CatalogVersion): Promise<ModelSignature> {
    if (!this.isEnsemble(v)) return this.d.models.signature(v);
    const def = await this.definition(v);
    return { inputs: def.inputs, outputs: def.outputs };
  }

  state(v: CatalogVersion): { state: ModelState; reason: string } {
    if (!this.isEnsemble(v)) return this.d.models.state(v);
    return repairMarkState(v) ?? { state: 'READY', reason: 'an ensemble; its steps load on demand' };
  }

  servable(v: CatalogVersion): boolean {
    return this.isEnsemble(v) ? v.model.unavailable === null : this.d.models.servable(v);
  }

  /** Loads now (retrying a failed load): a model's sessions, or an ensemble's definition and every step's model. */
  async load(v: CatalogVersion): Promise<void> {
    if (!this.isEnsemble(v)) return this.d.models.loadExplicitly(v);
    this.ensembles.delete(`${v.model.id}`);
    const def = await this.definition(v);
    for (const s of def.steps) {
      try {
        await this.d.models.loadExplicitly(await this.stepVersion(s));
      } catch (e) {
        throw stepError(s, e);
      }
    }
  }

  /** Forgets a removed version. */
  forget(v: CatalogVersion): void {
    this.ensembles.delete(`${v.model.id}`);
    if (!this.isEnsemble(v)) this.d.models.forget(v);
  }

  /**
   * Runs a request: `parse` reads it against the model's signature (known
   * once the model is loaded), then the model or the ensemble runs it.
   */
  async infer(v: CatalogVersion, parse: (sig: ModelSignature) => InferRequest, signal?: Cancellation): Promise<{ request: InferRequest; outputs: OutputTensor[] }> {
    if (this.isEnsemble(v)) {
      const def = await this.definition(v);
      const request = parse({ inputs: def.inputs, outputs: def.outputs });
      const outputs = await this.runEnsembleVersion(v, def, request, signal);
      return { request, outputs };
    }
    const lease = await this.d.models.acquire(v);
    try {
      const request = parse(lease.model.signature);
      return { request, outputs: await this.schedule(v, lease.model, request.inputs, request.outputs.map((o) => o.name), signal) };
    } finally {
      lease.release();
    }
  }

  /** A request of an ONNX version through its queue, under its serving configuration. */
  private schedule(v: CatalogVersion, model: Runnable, inputs: HostTensor[], outputs: string[], signal?: Cancellation): Promise<OutputTensor[]> {
    return this.d.scheduler.run(keyOf(v.model), model, queuePolicy(this.d.catalog.config(v.model.name, v.model.version)), inputs, outputs, signal);
  }

  private async runEnsembleVersion(v: CatalogVersion, def: EnsembleDefinition, request: InferRequest, signal?: Cancellation): Promise<OutputTensor[]> {
    const key = keyOf(v.model);
    const limit = this.d.catalog.config(v.model.name, v.model.version).max_queue_size;
    const now = this.ensembleRuns.get(key) ?? 0;
    if (now >= limit) throw new QueueFull(key, now, 1);
    this.ensembleRuns.set(key, now + 1);
    try {
      const outputs = await runEnsemble(def, request.inputs, request.outputs.map((o) => o.name), (s, inputs, outs) => this.runStep(s, inputs, outs, signal), signal);
      const declared = new Map(def.outputs.map((o) => [o.name, o]));
      for (const o of outputs) {
        const d = declared.get(o.name)!;
        if (d.datatype !== o.datatype) throw new Error(`ensemble ${key}: output "${o.name}" came out ${o.datatype}; the definition declares ${d.datatype}`);
      }
      return outputs;
    } finally {
      const left = this.ensembleRuns.get(key)! - 1;
      if (left === 0) this.ensembleRuns.delete(key);
      else this.ensembleRuns.set(key, left);
    }
  }

  /**
   * The version a step runs: pinned, or the latest its model's policy serves.
   * A step that cannot run is the server's state, not the client's request:
   * 503 (the ensemble is unavailable until its models are there).
   */
  private async stepVersion(s: EnsembleStep): Promise<CatalogVersion> {
    const cat = this.d.catalog;
    let v = s.version !== undefined ? cat.find(s.model, s.version) : cat.find(s.model);
    if (!v) {
      await cat.refreshFor(s.model, s.version);
      v = s.version !== undefined ? cat.find(s.model, s.version) : cat.find(s.model);
    }
    if (!v) throw unavailable(s.version !== undefined ? `no model ${s.model}:${s.version} in the store` : `no model named "${s.model}" in the store`);
    const served = cat.served(s.model);
    if (s.version === undefined) {
      const latest = served.at(-1);
      if (latest === undefined) throw unavailable(`no version of "${s.model}" is served (its version policy)`);
      v = cat.find(s.model, latest)!;
    } else if (!served.includes(s.version)) {
      throw unavailable(`version ${s.version} of "${s.model}" is not served (its version policy)`);
    }
    if (this.isEnsemble(v)) throw new Error(`${keyOf(v.model)} is an ensemble; a step must be a model (ensembles of ensembles are not supported)`);
    return v;
  }

  private async runStep(s: EnsembleStep, inputs: HostTensor[], outputs: string[], signal?: Cancellation): Promise<OutputTensor[]> {
    const v = await this.stepVersion(s);
    const key = keyOf(v.model);
    const why = unavailableMessage(v.model);
    if (why !== undefined) throw unavailable(why);
    const lease = await this.d.models.acquire(v).catch((e: unknown) => {
      throw e instanceof TesseraError ? e : new Error(publicMessage(e), { cause: e });
    });
    try {
      const sig = lease.model.signature;
      const specs = new Map(sig.inputs.map((x) => [x.name, x]));
      for (const t of inputs) checkFeed(specs.get(t.name), t, key);
      // The definition's faults (500): the client gave what the ensemble declares.
      const missing = sig.inputs.filter((x) => !inputs.some((t) => t.name === x.name));
      if (missing.length) throw new Error(`${key}: the step maps no tensor to input(s) ${missing.map((x) => `"${x.name}"`).join(', ')}`);
      const known = new Set(sig.outputs.map((x) => x.name));
      const unknown = outputs.find((o) => !known.has(o));
      if (unknown !== undefined) throw new Error(`${key}: the model has no output "${unknown}"`);
      return await this.schedule(v, lease.model, inputs, outputs, signal);
    } finally {
      lease.release();
    }
  }
}
