import type { LogKind } from '../log.js';
import type { Store } from '../../store/store.js';
import { unavailableMessage } from '../../store/store.js';
import { invalid, unavailable } from '../../errors.js';
import { keyOf, onnxFile } from '../catalog.js';
import type { CatalogVersion } from '../catalog.js';
import type { Metrics } from '../metrics.js';
import type { ModelSignature } from '../oip/signature.js';
import type { ReadStats } from '../../store/read/chunk-reader.js';
import { availableParallelism } from 'node:os';
import { OnnxModel } from './onnx-runtime.js';
import { externalDataBytes, externalDataFiles } from './external-data.js';
import type { ExternalData } from './runtime-protocol.js';
import { DEFAULT_INSTANCES } from '../options.js';
import { RuntimeThreadLost, RuntimeThreads } from './runtime-threads.js';
import type { RuntimeOptions } from './onnx-runtime.js';
import { SessionCache } from './session-cache.js';
import { publicMessage } from '../http/errors.js';
import type { Lease } from './session-cache.js';

export interface ModelManagerOptions {
  /** Bytes of models kept loaded at once (a model costs its size per session instance). */
  memoryBudget: number;
  runtime?: RuntimeOptions;
  /** Threads onnxruntime runs on (default: one per core, at most RUNTIME_THREADS_MAX). */
  runtimeThreads?: number;
  /** A version's own number of instances (its serving configuration), or null for runtime.instances. */
  instancesFor?: (v: CatalogVersion) => number | null;
  /** Where loads and unloads are told (the server's log). */
  log?: (kind: LogKind, text: string) => void;
}

/** Runtime threads by default at most: each holds its own sessions and onnxruntime's pools. */
const RUNTIME_THREADS_MAX = 4;

export type ModelState = 'READY' | 'LOADING' | 'UNAVAILABLE';

/** The state of a version `tessera repair` marked unavailable, or undefined. */
export function repairMarkState(v: CatalogVersion): { state: ModelState; reason: string } | undefined {
  return v.model.unavailable !== null ? { state: 'UNAVAILABLE', reason: `marked unavailable by tessera repair: ${v.model.unavailable}` } : undefined;
}

export interface LoadRecord {
  key: string;
  /** Milliseconds to reconstruct the bytes (store and chunk cache) and to create the session. */
  assembleMs: number;
  sessionMs: number;
  /** Chunks read, and those the store's decoded-chunk cache had. */
  stats: ReadStats;
}

/**
 * Turns catalog entries into running sessions: reads the ONNX file whole
 * from the store (through its decoded-chunk cache, SHA-256 checked), creates
 * the onnxruntime session from memory, and keeps it in the session cache.
 * Remembers each model's signature (metadata requests need no session once
 * it is known) and each failed load (answered at once until an explicit load
 * retries it).
 */
export class ModelManager {
  readonly sessions: SessionCache;
  private readonly runtime: RuntimeThreads;
  private signatures = new Map<string, ModelSignature>();
  private failures = new Map<string, string>();
  /** The most recent loads, newest last (for the bench and the repository index). */
  readonly loads: LoadRecord[] = [];

  constructor(private readonly store: Store, private readonly metrics: Metrics, private readonly opts: ModelManagerOptions) {
    this.runtime = new RuntimeThreads(opts.runtimeThreads ?? Math.min(RUNTIME_THREADS_MAX, availableParallelism()), () => {
      metrics.runtimeThreadExits.inc();
      this.sessions.evictLost();
    });
    this.sessions = new SessionCache(opts.memoryBudget, {
      loaded: (key) => metrics.modelLoaded.set({ model: key }, 1),
      evicted: (key, reason) => {
        opts.log?.('model', `unloaded ${key} (${reason})`);
        metrics.modelEvictions.inc({ reason });
        metrics.modelLoaded.remove({ model: key });
      },
      changed: (models, bytes) => {
        metrics.modelsLoaded.set(models);
        metrics.modelBytesLoaded.set(bytes);
      },
    });
  }

  /** Settles when the runtime threads have loaded onnxruntime. */
  get ready(): Promise<void> {
    return this.runtime.ready;
  }

  /** The session of a model version, loading it if needed; release the lease when done. */
  async acquire(v: CatalogVersion): Promise<Lease> {
    const key = keyOf(v.model);
    // Its bytes are known to be wrong or missing: never build a session from them.
    const why = unavailableMessage(v.model);
    if (why !== undefined) throw unavailable(why);
    const failed = this.failures.get(key);
    if (failed !== undefined) throw new Error(`${failed} (load it again with POST /v2/repository/models/${v.model.name}/versions/${v.model.version}/load)`);
    const file = onnxFile(v);
    if (typeof file === 'string') throw invalid(file);
    const instances = this.instances(v);
    // A session holds the model file and its external data, once per instance.
    const size = (file.size + externalDataBytes(v)) * instances;
    const lease = await this.sessions.acquire(key, size, () => this.load(v, instances));
    if (lease.model.instances === instances) return lease;
    // Its configuration asks for another number of instances since it was loaded: loaded again (runs in progress finish on the old
    // sessions). Requests that waited on the old load together start one new load: only the entry holding the old model is dropped.
    lease.release();
    this.sessions.unloadIf(key, lease.model);
    return this.sessions.acquire(key, size, () => this.load(v, instances));
  }

  /** Sessions a version runs on: its serving configuration's instances, else the server's --instances. */
  instances(v: CatalogVersion): number {
    return this.opts.instancesFor?.(v) ?? this.opts.runtime?.instances ?? DEFAULT_INSTANCES;
  }

  /** Loads now (retrying a failed model); resolves when the session is ready. */
  async loadExplicitly(v: CatalogVersion): Promise<void> {
    this.failures.delete(keyOf(v.model));
    const lease = await this.acquire(v);
    lease.release();
  }

  unload(v: CatalogVersion): boolean {
    return this.sessions.unload(keyOf(v.model));
  }

  /** The model's inputs and outputs, loading it the first time they are asked for. */
  async signature(v: CatalogVersion): Promise<ModelSignature> {
    const known = this.signatures.get(keyOf(v.model));
    if (known) return known;
    const lease = await this.acquire(v);
    lease.release();
    return lease.model.signature;
  }

  state(v: CatalogVersion): { state: ModelState; reason: string } {
    const key = keyOf(v.model);
    const marked = repairMarkState(v);
    if (marked) return marked;
    if (this.sessions.isLoaded(key)) return { state: 'READY', reason: 'loaded' };
    if (this.sessions.isLoading(key)) return { state: 'LOADING', reason: 'loading' };
    const failed = this.failures.get(key);
    if (failed !== undefined) return { state: 'UNAVAILABLE', reason: failed };
    const file = onnxFile(v);
    if (typeof file === 'string') return { state: 'UNAVAILABLE', reason: file };
    return { state: 'UNAVAILABLE', reason: 'not loaded; loads on the first request' };
  }

  /** Can answer inference now or on demand: loaded, or an ONNX model that has not failed to load. */
  servable(v: CatalogVersion): boolean {
    return v.model.unavailable === null && !this.failures.has(keyOf(v.model)) && typeof onnxFile(v) !== 'string';
  }

  /** Forgets what is known of a model version (it was removed). */
  forget(v: CatalogVersion): void {
    const key = keyOf(v.model);
    this.sessions.unload(key);
    this.signatures.delete(key);
    this.failures.delete(key);
  }

  async close(): Promise<void> {
    await this.sessions.close();
    await this.runtime.close();
  }

  private async load(v: CatalogVersion, instances: number): Promise<OnnxModel> {
    const key = keyOf(v.model);
    const file = onnxFile(v);
    if (typeof file === 'string') throw invalid(file);
    const t0 = performance.now();
    const cache0 = this.store.cacheStats();
    try {
      let read;
      try {
        read = await this.store.loadFile(file);
      } catch (e) {
        throw new Error(`${(e as Error).message}, the model is not served`, { cause: e });
      }
      const { bytes, stats } = read;
      // Tensors kept in external data files: their bytes from the store too, named as the model names them.
      const external: ExternalData[] = [];
      for (const x of externalDataFiles(v, file, bytes)) {
        try {
          external.push({ path: x.location, data: (await this.store.loadFile(x.file)).bytes });
        } catch (e) {
          throw new Error(`${(e as Error).message}, the model is not served`, { cause: e });
        }
      }
      const t1 = performance.now();
      let model: OnnxModel;
      try {
        model = await OnnxModel.create(bytes, this.runtime, { ...this.opts.runtime, instances }, external);
      } catch (e) {
        if (e instanceof RuntimeThreadLost) throw e;
        throw new Error(`onnxruntime could not create a session for ${key}: ${(e as Error).message}`);
      }
      const t2 = performance.now();
      this.signatures.set(key, model.signature);
      this.loads.push({ key, assembleMs: t1 - t0, sessionMs: t2 - t1, stats });
      if (this.loads.length > 100) this.loads.shift();
      this.metrics.modelLoads.inc({ result: 'ok' });
      this.opts.log?.('model', `loaded ${key} in ${(t2 - t0).toFixed(0)} ms (rebuilt ${(t1 - t0).toFixed(0)} ms, session ${(t2 - t1).toFixed(0)} ms)`);
      this.metrics.modelLoadSeconds.observe((t2 - t0) / 1000);
      return model;
    } catch (e) {
      // Kept as the model's state for clients (/v2/repository/index): without the store's location. A load
      // that a runtime thread's exit cut short is not the model's fault: the next request tries again.
      const msg = publicMessage(e);
      if (!(e instanceof RuntimeThreadLost)) this.failures.set(key, `model ${key} failed to load: ${msg}`);
      this.metrics.modelLoads.inc({ result: 'error' });
      throw new Error(`model ${key} failed to load: ${msg}`, { cause: e });
    } finally {
      const cache = this.store.cacheStats();
      this.metrics.chunkCacheHits.inc(cache.hits - cache0.hits);
      this.metrics.chunkCacheMisses.inc(cache.misses - cache0.misses);
      this.metrics.chunkCacheBytes.set(cache.bytes);
    }
  }
}
