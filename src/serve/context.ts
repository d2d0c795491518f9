import type { Store } from '../store/store.js';
import type { Auth } from './auth.js';
import type { LogKind } from './log.js';
import type { Catalog } from './catalog.js';
import type { InflightBytes } from './http/inflight.js';
import type { Metrics } from './metrics.js';
import type { ServeOptions } from './options.js';
import type { ModelManager } from './runtime/model-manager.js';
import type { WriteLock } from './write-lock.js';
import type { LfsStaging } from './hub/lfs-staging.js';
import type { Inference } from './inference.js';
import type { Scheduler } from './scheduling/scheduler.js';

/** What the route handlers share. */
export interface ServeContext {
  store: Store;
  catalog: Catalog;
  models: ModelManager;
  /** Queues, batching and turns on the runtime threads. */
  scheduler: Scheduler;
  /** Runs a request on an ONNX model or an ensemble. */
  inference: Inference;
  metrics: Metrics;
  writes: WriteLock;
  /** Bytes held for requests in flight (--max-inflight). */
  inflight: InflightBytes;
  auth: Auth;
  /** LFS objects uploaded through the Hub API, waiting for their commit. */
  lfs: LfsStaging;
  opts: ServeOptions;
  /** Set when shutdown has begun: readiness turns false. */
  draining: boolean;
  /**
   * The first read of the catalog (every model and file: 2.3 s at 100,000
   * models), which the server waits for at most CATALOG_WAIT_MS before it
   * listens: health and metrics answer at once, readiness is false until it
   * is done, every other request waits for it (a read that failed is tried
   * again by the next request).
   */
  loadCatalog(): Promise<void>;
  catalogLoaded: boolean;
  /** One line to the server's log, rate-limited per kind (log.ts). */
  log(kind: LogKind, line: string): void;
}
