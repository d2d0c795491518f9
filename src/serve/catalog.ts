import type { CatalogEntry, FileRow, Store } from '../store/store.js';
import { indexConfigs } from '../store/serving-configs.js';
import { effectiveConfig, servedVersions } from '../wire/serving-config.js';
import type { ServingConfig, ServingConfigPatch } from '../wire/serving-config.js';
import type { WriteLock } from './write-lock.js';

/** How old the serving configurations a request sees may be: `tessera config` in another process reaches a server this fast. */
export const CONFIG_MAX_AGE_MS = 1000;

/** A model version and its files. */
export type CatalogVersion = CatalogEntry;

/** Whether two catalog entries are the same stored row as far as serving goes (its id and its unavailable mark). */
function sameEntry(a: CatalogVersion, b: CatalogVersion | undefined): boolean {
  return b !== undefined && a.model.id === b.model.id && a.model.unavailable === b.model.unavailable;
}

/** `name:version`, the key of a model version everywhere in the server. */
export const keyOf = (m: { name: string; version: number }): string => `${m.name}:${m.version}`;

/** The ONNX file a session is created from, or why the model cannot be served. */
export function onnxFile(v: CatalogVersion): FileRow | string {
  const onnx = v.files.filter((f) => f.format === 'onnx');
  if (onnx.length === 1) return onnx[0]!;
  if (onnx.length === 0) return `${keyOf(v.model)} is a ${v.model.format} model; only ONNX models can be served (its files can still be downloaded)`;
  const model = onnx.find((f) => f.path === 'model.onnx' || f.path.endsWith('/model.onnx'));
  return model ?? `${keyOf(v.model)} has ${onnx.length} ONNX files and none is named model.onnx; cannot tell which to serve`;
}

/**
 * The models and files of the store as the server last read them. Requests
 * look models up here, never in the middle of an import: the server's own
 * writes refresh it when they commit, and a name it does not know makes it
 * read the store again (another process may have imported it), waiting for a
 * write in progress to finish first. Models removed behind the server's back
 * fail to load and are dropped at the next refresh.
 */
export class Catalog {
  private byName = new Map<string, Map<number, CatalogVersion>>();
  private lastRefresh = 0;
  /** Counts reloads that changed the model list, so derived views (the sharing matrix) know when to recompute. */
  generation = 0;
  private signature = '';
  /** The models' fingerprint when the catalog was last read whole (Store.modelsFingerprint); '' after a partial read. */
  private fingerprint = '';
  private configs = new Map<string, Map<number, ServingConfigPatch>>();
  private effective = new Map<string, ServingConfig>();
  /** Numbers reloadName's reads in the order they start, and the last applied per name. */
  private nameReads = 0;
  private nameApplied = new Map<string, number>();
  /** all() in order, until the models change. */
  private sortedCache?: CatalogVersion[];
  /** served() per name, until the models or the configurations change. */
  private servedCache = new Map<string, number[]>();
  private configsRead = 0;
  private configsText = '';
  private readingConfigs?: Promise<void>;
  private configReads = 0;
  private configApplied = 0;
  /** Told when the served versions may have changed: new configurations, or models added or removed (the server unloads versions a policy no longer serves). */
  onServingChange?: () => void;
  /** Told when versions left the store or changed (their loaded sessions and known signatures must go). */
  onVersionsGone?: (gone: CatalogVersion[]) => void;
  /** Told when reading the configurations failed (the server logs it). */
  onConfigReadError?: (e: unknown) => void;

  constructor(private readonly store: Store, private readonly writes: WriteLock) {}

  /**
   * Reads the store again once no write of the server's is running: every
   * model and file only when the models' fingerprint moved since the last
   * read (a model added, removed or marked); else the configurations alone.
   * At 100,000 models a full read takes a second, the fingerprint ~15 ms.
   */
  async refresh(): Promise<void> {
    await this.writes.idle();
    const fingerprint = await this.store.modelsFingerprint();
    if (fingerprint === this.fingerprint) {
      this.lastRefresh = Date.now();
      await this.readConfigs();
      return;
    }
    await this.reload();
    this.fingerprint = fingerprint;
  }

  /** Reads the store again now: only from inside the write lock (after the write) or when no write runs. */
  async reload(): Promise<void> {
    const next = new Map<string, Map<number, CatalogVersion>>();
    for (const entry of await this.store.catalog()) {
      const m = entry.model;
      let versions = next.get(m.name);
      if (!versions) next.set(m.name, (versions = new Map()));
      versions.set(m.version, entry);
    }
    const before = this.byName;
    this.byName = next;
    this.sortedCache = undefined;
    this.fingerprint = '';
    this.servedCache = new Map();
    this.lastRefresh = Date.now();
    await this.readConfigs();
    const gone = [...before.values()].flatMap((versions) => [...versions.values()].filter((v) => !sameEntry(v, next.get(v.model.name)?.get(v.model.version))));
    const signature = [...next.values()].flatMap((v) => [...v.values()].map((c) => `${c.model.id}:${c.model.unavailable ?? ''}`)).join(',');
    if (gone.length) this.onVersionsGone?.(gone);
    if (signature !== this.signature) {
      this.signature = signature;
      this.generation++;
      this.onServingChange?.();
    }
  }

  /**
   * Reads one name's versions and files again (another process or server
   * imported, removed or marked it): a few indexed queries, whatever the
   * size of the store. Versions that went, or whose row changed (another
   * model under the same name:version, the unavailable mark), are told to
   * onVersionsGone.
   */
  async reloadName(name: string): Promise<void> {
    const seq = ++this.nameReads;
    const entries = await this.store.catalogOf(name);
    // Reads may end out of order (a request's and a notice's): an older one's rows never replace a newer one's.
    if (seq < (this.nameApplied.get(name) ?? 0)) return;
    this.nameApplied.set(name, seq);
    if (this.nameApplied.size > 10_000) this.nameApplied.clear();
    const before = this.byName.get(name);
    const next = new Map(entries.map((e) => [e.model.version, e]));
    const gone = [...(before?.values() ?? [])].filter((v) => !sameEntry(v, next.get(v.model.version)));
    const changed = gone.length > 0 || entries.some((e) => !sameEntry(e, before?.get(e.model.version)));
    if (next.size) this.byName.set(name, next);
    else this.byName.delete(name);
    this.sortedCache = undefined;
    // The fingerprint may have moved meanwhile by changes to other names: the next refresh reads all.
    this.fingerprint = '';
    this.servedCache.delete(name);
    if (gone.length) this.onVersionsGone?.(gone);
    if (changed) {
      // The whole-catalog signature is recomputed at the next full reload; a change here is a new generation already.
      this.signature = '';
      this.generation++;
      this.onServingChange?.();
    }
  }

  /**
   * Follows other processes' changes (Store.watchChanges): a named model is
   * read again at once, the serving configurations too; an unnamed change
   * (SQLite, or a listener that reconnected) reads everything again. The
   * server's own writes refresh the catalog themselves. Returns a stop.
   */
  follow(onError: (e: unknown) => void): () => Promise<void> {
    let chain = Promise.resolve();
    return this.store.watchChanges((name) => {
      chain = chain.then(async () => {
        await this.writes.idle();
        if (name === undefined) await this.reload();
        else {
          await this.reloadName(name);
          await this.readConfigs();
        }
      }).catch(onError);
    });
  }

  /**
   * Reads the serving configurations again when they are older than
   * CONFIG_MAX_AGE_MS (one small query; concurrent callers share it). A read
   * that fails keeps the configurations the server has (and is tried again a
   * second later): loaded models go on answering while the store is away.
   */
  async refreshConfigsIfOlder(maxAgeMs = CONFIG_MAX_AGE_MS): Promise<void> {
    if (Date.now() - this.configsRead < maxAgeMs) return;
    await (this.readingConfigs ??= this.readConfigs().catch((e: unknown) => {
      this.configsRead = Date.now();
      this.onConfigReadError?.(e);
    }).finally(() => (this.readingConfigs = undefined)));
  }

  /** Reads the serving configurations now, not joining a read already under way (it may have begun before the caller's change). */
  async refreshConfigsNow(): Promise<void> {
    await this.readConfigs();
  }

  private async readConfigs(): Promise<void> {
    const seq = ++this.configReads;
    const rows = await this.store.servingConfigRows();
    // Reads may end out of order: an older one's rows never replace a newer one's.
    if (seq < this.configApplied) return;
    this.configApplied = seq;
    this.configsRead = Date.now();
    const text = rows.map((r) => `${r.name}\0${r.version}\0${r.configJson}`).join('\n');
    if (text === this.configsText) return;
    this.configsText = text;
    this.configs = indexConfigs(rows);
    this.effective = new Map();
    this.servedCache = new Map();
    this.onServingChange?.();
  }

  /** A version's effective serving configuration (merged once per change: every request asks). */
  config(name: string, version: number): ServingConfig {
    const key = `${version}:${name}`;
    let c = this.effective.get(key);
    if (!c) {
      const levels = this.configs.get(name);
      c = effectiveConfig(levels?.get(0), levels?.get(version));
      if (this.effective.size > 10_000) this.effective.clear();
      this.effective.set(key, c);
    }
    return c;
  }

  /** The versions of `name` its version policy serves, ascending. */
  served(name: string): number[] {
    let s = this.servedCache.get(name);
    if (!s) {
      s = servedVersions(this.config(name, 0).version_policy, this.versions(name));
      if (this.servedCache.size > 10_000) this.servedCache.clear();
      this.servedCache.set(name, s);
    }
    return s;
  }

  /**
   * For a name (and version) the catalog lacks: one indexed query asks the
   * store whether another process has imported it since; only then is that
   * name read again. A stream of unknown names costs a query each.
   */
  async refreshFor(name: string, version?: number): Promise<void> {
    await this.writes.idle();
    if (await this.store.find({ name, version })) await this.reloadName(name);
  }

  /** refreshFor without asking first: reads one name again once no write of the server's runs. */
  async refreshName(name: string): Promise<void> {
    await this.writes.idle();
    await this.reloadName(name);
  }

  /** Reads the store again when the catalog is older than `maxAgeMs` (bounded re-reads for unknown names). */
  async refreshIfOlder(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.lastRefresh >= maxAgeMs) await this.refresh();
  }

  /** A version, or the latest one when `version` is undefined. */
  find(name: string, version?: number): CatalogVersion | undefined {
    const versions = this.byName.get(name);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    let latest: CatalogVersion | undefined;
    for (const v of versions.values()) if (!latest || v.model.version > latest.model.version) latest = v;
    return latest;
  }

  versions(name: string): number[] {
    return [...(this.byName.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): CatalogVersion[] {
    return [...this.sorted()];
  }

  /** Every version in name order, then version (names are ASCII: the order of their bytes), kept until the catalog changes. */
  private sorted(): readonly CatalogVersion[] {
    if (this.sortedCache) return this.sortedCache;
    const out: CatalogVersion[] = [];
    for (const versions of this.byName.values()) out.push(...versions.values());
    this.sortedCache = out.sort((a, b) => (a.model.name === b.model.name ? a.model.version - b.model.version : a.model.name < b.model.name ? -1 : 1));
    return this.sortedCache;
  }

  /**
   * Up to `limit` versions after `after` (name:version) in name order that
   * `keep` keeps (a name holding `search`, any case): a page of the
   * repository index or of GET /v2/models; `next` is the cursor of the page
   * after, when there is one.
   */
  page(q: { limit: number; after?: { name: string; version: number }; search?: string }, keep: (v: CatalogVersion) => boolean = () => true): { versions: CatalogVersion[]; next: string | null } {
    const all = this.sorted();
    let lo = 0;
    if (q.after) {
      const { name, version } = q.after;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = all[mid]!.model;
        if (m.name < name || (m.name === name && m.version <= version)) lo = mid + 1;
        else hi = mid;
      }
    }
    const search = q.search?.toLowerCase();
    const versions: CatalogVersion[] = [];
    for (let i = lo; i < all.length; i++) {
      const v = all[i]!;
      if ((search && !v.model.name.toLowerCase().includes(search)) || !keep(v)) continue;
      if (versions.length === q.limit) return { versions, next: keyOf(versions[versions.length - 1]!.model) };
      versions.push(v);
    }
    return { versions, next: null };
  }

  get size(): number {
    return this.byName.size;
  }
}
