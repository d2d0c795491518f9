import { TesseraError } from '../../errors.js';
import type { OnnxModel } from './onnx-runtime.js';

/** A model in use: release it when the request is done with it. */
export interface Lease {
  model: OnnxModel;
  release(): void;
}

interface Entry {
  key: string;
  /** What the entry counts against the budget. */
  bytes: number;
  model?: OnnxModel;
  loading?: Promise<OnnxModel>;
  /** Requests using (or waiting for) the model. */
  refs: number;
  evicted: boolean;
  lastUsed: number;
}

export interface SessionCacheEvents {
  loaded?(key: string, bytes: number): void;
  evicted?(key: string, reason: EvictReason): void;
  changed?(models: number, bytes: number): void;
}

/** Why a model left the cache: room for another, asked to, the server closing, or its runtime thread exited. */
export type EvictReason = 'budget' | 'unload' | 'close' | 'lost';

export interface CachedModelInfo {
  key: string;
  bytes: number;
  loading: boolean;
  inUse: number;
  lastUsed: number;
}

/**
 * Loaded models, least recently used first out, under a memory budget. A
 * model's cost is its size (onnxruntime holds about that much for its
 * weights). Concurrent first requests for one model share one load. A model
 * evicted while requests still run on it is released when the last of them
 * is done, so eviction never pulls a session from under a request.
 */
export class SessionCache {
  private entries = new Map<string, Entry>();
  private used = 0;

  constructor(readonly budget: number, private readonly events: SessionCacheEvents = {}) {}

  get bytes(): number {
    return this.used;
  }

  /** The model for `key`, loading it with `load` (costing `bytes`) when it is not loaded or being loaded. */
  async acquire(key: string, bytes: number, load: () => Promise<OnnxModel>): Promise<Lease> {
    let e = this.entries.get(key);
    if (!e) {
      if (bytes > this.budget) {
        throw new TesseraError('over-capacity', `model ${key} needs ${bytes} bytes, more than the server's whole memory budget of ${this.budget} bytes (--memory-budget)`);
      }
      this.makeRoom(bytes);
      const entry: Entry = { key, bytes, refs: 0, evicted: false, lastUsed: Date.now() };
      e = entry;
      this.entries.set(key, entry);
      this.used += bytes;
      entry.loading = load().then(
        (model) => {
          entry.model = model;
          entry.loading = undefined;
          if (entry.evicted && entry.refs === 0) void model.release();
          // Evicted while it loaded: not counted as loaded (its last request releases it).
          else if (!entry.evicted) this.events.loaded?.(key, bytes);
          this.changed();
          return model;
        },
        (err: unknown) => {
          if (this.entries.get(key) === entry) {
            this.entries.delete(key);
            this.used -= bytes;
            this.changed();
          }
          throw err;
        },
      );
      this.changed();
    } else {
      // Most recently used goes to the end of the map's order.
      this.entries.delete(key);
      this.entries.set(key, e);
      e.lastUsed = Date.now();
    }
    const entry = e;
    entry.refs++;
    let model: OnnxModel;
    try {
      model = entry.model ?? (await entry.loading!);
    } catch (err) {
      entry.refs--;
      throw err;
    }
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.evicted && entry.refs === 0 && entry.model) void entry.model.release();
      },
    };
  }

  isLoaded(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.model !== undefined;
  }

  isLoading(key: string): boolean {
    return this.entries.get(key)?.loading !== undefined;
  }

  /** Releases a model now (or when its last request finishes); false when it was not loaded. */
  unload(key: string, reason: 'unload' | 'close' = 'unload'): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.evict(e, reason);
    return true;
  }

  /** Unloads `key` only while its entry still holds `model` (not a newer load another request has begun). */
  unloadIf(key: string, model: OnnxModel): boolean {
    const e = this.entries.get(key);
    if (!e || e.model !== model) return false;
    this.evict(e, 'unload');
    return true;
  }

  /** Drops the loaded models whose sessions went with an exited runtime thread: their next request loads them again. */
  evictLost(): void {
    for (const e of [...this.entries.values()]) if (e.model?.lost) this.evict(e, 'lost');
  }

  list(): CachedModelInfo[] {
    return [...this.entries.values()].map((e) => ({ key: e.key, bytes: e.bytes, loading: e.loading !== undefined, inUse: e.refs, lastUsed: e.lastUsed }));
  }

  /** Releases every model; waits for loads in progress so none is left behind. */
  async close(): Promise<void> {
    const pending = [...this.entries.values()].map((e) => e.loading).filter((p): p is Promise<OnnxModel> => p !== undefined);
    await Promise.allSettled(pending);
    for (const e of [...this.entries.values()]) this.evict(e, 'close');
  }

  private makeRoom(bytes: number): void {
    for (const e of [...this.entries.values()]) {
      if (this.used + bytes <= this.budget) break;
      this.evict(e, 'budget');
    }
  }

  private evict(e: Entry, reason: EvictReason): void {
    if (this.entries.get(e.key) !== e) return;
    this.entries.delete(e.key);
    this.used -= e.bytes;
    e.evicted = true;
    if (e.refs === 0 && e.model) void e.model.release();
    this.events.evicted?.(e.key, reason);
    this.changed();
  }

  private changed(): void {
    let models = 0;
    for (const e of this.entries.values()) if (e.model) models++;
    this.events.changed?.(models, this.used);
  }
}
