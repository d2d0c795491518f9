import type { CatalogEntry, FileRow, Store } from '../store/store.js';
import type { WriteLock } from './write-lock.js';

/** A model version and its files. */
export type CatalogVersion = CatalogEntry;

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

  constructor(private readonly store: Store, private readonly writes: WriteLock) {}

  /** Reads the store again once no write of the server's is running. */
  async refresh(): Promise<void> {
    await this.writes.idle();
    await this.reload();
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
    this.byName = next;
    this.lastRefresh = Date.now();
    const signature = [...next.values()].flatMap((v) => [...v.values()].map((c) => `${c.model.id}:${c.model.unavailable ?? ''}`)).join(',');
    if (signature !== this.signature) {
      this.signature = signature;
      this.generation++;
    }
  }

  /**
   * For a name (and version) the catalog lacks: one indexed query asks the
   * store whether another process has imported it since; only then is the
   * whole catalog read again. A stream of unknown names costs a query each.
   */
  async refreshFor(name: string, version?: number): Promise<void> {
    await this.writes.idle();
    if (await this.store.find({ name, version })) await this.reload();
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
    const out: CatalogVersion[] = [];
    for (const versions of this.byName.values()) out.push(...versions.values());
    return out.sort((a, b) => (a.model.name === b.model.name ? a.model.version - b.model.version : a.model.name < b.model.name ? -1 : 1));
  }

  get size(): number {
    return this.byName.size;
  }
}
