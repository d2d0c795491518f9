import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { endianness } from 'node:os';
import { kindOf } from '../errors.js';
import type { Store } from '../store/store.js';
import { Auth } from './auth.js';
import { Catalog } from './catalog.js';
import type { ServeContext } from './context.js';
import { answerClientError } from './http/client-error.js';
import { answerOf, publicMessage } from './http/errors.js';
import { Gate } from './http/gate.js';
import { isLoopback } from './http/hosts.js';
import { InflightBytes } from './http/inflight.js';
import { answerUnread } from './http/linger.js';
import { sendError } from './http/respond.js';
import { Router } from './http/router.js';
import { RequestIds, ServerLog, inRequest } from './server-log.js';
import { Metrics } from './metrics.js';
import { DEFAULT_SERVE_OPTIONS } from './options.js';
import type { ServeOptions } from './options.js';
import { ModelManager } from './runtime/model-manager.js';
import { Inference } from './inference.js';
import { Scheduler } from './scheduling/scheduler.js';
import { schedulerMetrics } from './scheduling/scheduler-metrics.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { inferRoutes } from './routes/infer.js';
import { modelRoutes } from './routes/models.js';
import { repositoryRoutes } from './routes/repository.js';
import { apiRoutes } from './routes/api.js';
import { hubRoutes } from './routes/hub.js';
import { hubUploadRoutes } from './routes/hub-upload.js';
import { LfsStaging } from './hub/lfs-staging.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { WriteLock } from './write-lock.js';

export interface RunningServer {
  /** http://host:port (the port the system gave when 0 was asked). */
  url: string;
  port: number;
  context: ServeContext;
  /**
   * Graceful shutdown: stops accepting connections, lets requests in flight
   * finish (up to shutdownGraceMs), then releases every session. The store
   * stays open (the caller owns it).
   */
  close(): Promise<void>;
}

function buildRouter(ctx: ServeContext): Router {
  const router = new Router();
  healthRoutes(router, ctx);
  repositoryRoutes(router, ctx);
  // Files before the other model routes: their pattern is the more specific.
  fileRoutes(router, ctx);
  inferRoutes(router, ctx);
  modelRoutes(router, ctx);
  apiRoutes(router, ctx);
  // The Hub's API after Tessera's own: its patterns take any one- or two-part name at the root.
  // Uploads first: /api/models/a/tree/commit/main is repo "a/tree"'s commit, not a tree.
  hubUploadRoutes(router, ctx);
  hubRoutes(router, ctx);
  // Last: its pattern takes any top-level name.
  dashboardRoutes(router);
  return router;
}

/** The model a route's first two groups name, for the access log: name, or name:version; as sent (still percent-encoded). */
function modelOfGroups(groups: (string | undefined)[]): string {
  return groups[1] === undefined ? groups[0]! : `${groups[0]!}:${groups[1]}`;
}

/** How long the server waits for its first read of the catalog before it listens anyway. */
const CATALOG_WAIT_MS = 500;

/** Routes that answer before the first read of the catalog is done (health, metadata, metrics). */
const WITHOUT_CATALOG: ReadonlySet<string> = new Set(['health_live', 'health_ready', 'server_metadata', 'metrics']);

/**
 * Serves the models of `store` over the Open Inference Protocol (REST), with
 * Triton's binary tensor data and model repository extensions, model file
 * downloads and uploads, and Prometheus metrics. Refuses a non-loopback
 * address without a token.
 */
export async function startServer(store: Store, options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const opts: ServeOptions = { ...DEFAULT_SERVE_OPTIONS, ...options };
  if (endianness() !== 'LE') throw new Error('the server assumes a little-endian machine (tensor data is little-endian on the wire)');
  if (opts.headersTimeoutMs > opts.requestTimeoutMs) {
    throw new Error(`the headers timeout (${opts.headersTimeoutMs} ms) cannot be longer than the request timeout (${opts.requestTimeoutMs} ms)`);
  }
  if (!isLoopback(opts.host) && !opts.token) {
    throw new Error(`refusing to listen on ${opts.host}, which is not a loopback address, without a token: set --token or TESSERA_TOKEN`);
  }
  const auth = new Auth({ token: opts.token, tokenRead: opts.tokenRead });
  const gate = new Gate(opts, auth);
  const metrics = new Metrics();
  const writes = new WriteLock();
  // The store's decoded-chunk cache serves model loads and downloads alike: sized by --chunk-cache.
  store.resizeCache(opts.chunkCacheBytes);
  const catalog = new Catalog(store, writes);
  const logger = new ServerLog({
    level: opts.logLevel, format: opts.logFormat, access: opts.accessLog,
    events: opts.log ?? (opts.logFormat === 'json' ? (line) => void process.stderr.write(`${line}\n`) : (line) => void process.stderr.write(`tessera serve: ${line}\n`)),
  });
  const requestIds = new RequestIds();
  // Other servers' and processes' changes, followed from before the first read so that none falls between.
  const stopFollowing = catalog.follow((e) => logger.write('error', `following the store's changes: ${publicMessage(e)}`));
  // The first read, shared by the requests that wait for it; one that failed is started again by the next.
  let catalogRead: Promise<void> | undefined;
  const loadCatalog = (): Promise<void> => (catalogRead ??= catalog.refresh().then(() => {
    ctx.catalogLoaded = true;
  }, (e: unknown) => {
    catalogRead = undefined;
    logger.write('error', `reading the store's models failed: ${publicMessage(e)}`);
    throw e;
  }));
  const models = new ModelManager(store, metrics, {
    memoryBudget: opts.memoryBudget,
    runtime: { intraOpThreads: opts.intraOpThreads, instances: opts.instances, logSeverity: opts.logLevel === 'debug' ? 2 : 4 },
    instancesFor: (v) => catalog.config(v.model.name, v.model.version).instances,
    log: (kind, text) => logger.write(kind, text),
  });
  const scheduler = new Scheduler(schedulerMetrics(metrics, (kind, line) => logger.write(kind, line)));
  metrics.observeQueues(() => scheduler.waiting());
  const ctx: ServeContext = {
    store, catalog, metrics, writes, auth, opts, lfs: new LfsStaging(opts.maxUploadBytes), log: (kind, line) => logger.write(kind, line), draining: false, inflight: new InflightBytes(opts.maxInflightBytes),
    loadCatalog, catalogLoaded: false,
    models, scheduler, inference: new Inference({ store, catalog, models, scheduler }),
  };
  // A version its policy no longer serves (a new policy, or a newer version under "latest N") gives back its sessions.
  catalog.onServingChange = () => {
    for (const v of catalog.all()) if (!catalog.served(v.model.name).includes(v.model.version)) models.unload(v);
  };
  // A version removed, replaced or marked unavailable (here or by another process): its sessions and signature go.
  catalog.onVersionsGone = (gone) => {
    for (const v of gone) ctx.inference.forget(v);
  };
  catalog.onConfigReadError = (e) => logger.write('error', `reading the serving configurations failed, the last ones stay in use: ${publicMessage(e)}`);
  const router = buildRouter(ctx);
  metrics.observeEdge({ connections: () => gate.connections.open, inflightBytes: () => ctx.inflight.held });

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    const t0 = performance.now();
    const method = req.method ?? 'GET';
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const found = router.lookup(method, rawPath);
    const route = gate.routeName(req, found);
    res.setHeader('X-Request-Id', requestId);
    res.once('finish', () => {
      metrics.requests.inc({ method, route, status: String(res.statusCode) });
      metrics.requestSeconds.observe({ method, route }, (performance.now() - t0) / 1000);
      const len = Number(res.getHeader('content-length') ?? 0);
      if (len > 0 && method !== 'HEAD') metrics.responseBytes.inc({ route }, len);
    });
    if (logger.accessing) {
      // 'close' comes for every response, finished or cut off; the socket's count covers keep-alive's earlier responses too, hence the difference.
      const start = Date.now();
      const socket = req.socket;
      const sentBefore = socket.bytesWritten;
      res.once('close', () => logger.access({
        start, client: socket.remoteAddress ?? '-', method, url: req.url ?? '/', httpVersion: req.httpVersion, status: res.statusCode,
        bytes: socket.bytesWritten - sentBefore, durationMs: performance.now() - t0, requestId,
        model: found.route?.model && found.groups[0] !== undefined ? modelOfGroups(found.groups) : undefined,
        userAgent: req.headers['user-agent'],
      }));
    }
    const close = ctx.draining || gate.closes(req);
    if (close) res.setHeader('Connection', 'close');
    try {
      if (gate.pass(req, res, found)) return;
      if (!ctx.catalogLoaded && !WITHOUT_CATALOG.has(route)) await ctx.loadCatalog();
      const m = router.resolve(found, method, rawPath);
      let url: URL | undefined;
      await m.method.handler({
        req, res, params: m.params,
        // Parsed when a handler asks (a few of them read the query): inference does not pay for it.
        get url() {
          return (url ??= new URL(req.url ?? '/', 'http://localhost'));
        },
      });
    } catch (e) {
      const { status, message, headers } = answerOf(e);
      // A limit reached is the client's to retry, not a fault to log (a flood of them would flood the log).
      if (status >= 500 && kindOf(e) !== 'busy') ctx.log('error', `${method} ${rawPath}: ${message}`);
      if (res.headersSent) {
        // Too late for a status: cut the response short so the client sees the failure.
        res.destroy();
        return;
      }
      // A body left unread (refused early): dropped as it comes, the connection kept or closed after the answer.
      answerUnread(req, res, close);
      sendError(res, status, message, headers);
    }
  };

  const server: Server = createServer({
    keepAliveTimeout: 5000,
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    // Node checks those timeouts on a timer (every 30 s by default), so a short limit would be enforced late: check at a quarter of the shorter one.
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(opts.headersTimeoutMs, opts.requestTimeoutMs) / 4))),
  }, (req, res) => {
    const id = requestIds.next(req.headers['x-request-id']);
    void inRequest(id, () => handle(req, res, id));
  });
  gate.watch(server);
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    metrics.clientErrors.inc({ code: err.code ?? 'unknown' });
    answerClientError(err, socket);
  });
  // The runtime threads load onnxruntime meanwhile (~100 ms): the first request does not wait for it.
  // Read meanwhile (onnxruntime loads on the runtime threads): a small store is read before the server listens,
  // a big one (100,000 models: 2.3 s) goes on being read while health checks are answered.
  const firstRead = loadCatalog().catch(() => {});
  try {
    await ctx.models.ready;
    const waited = new AbortController();
    await Promise.race([firstRead, sleep(CATALOG_WAIT_MS, undefined, { signal: waited.signal }).catch(() => {})]);
    waited.abort();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    // Not listening (the port taken): nothing of the server stays behind.
    await stopFollowing();
    await ctx.models.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      ctx.draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections go now; busy ones after their response (Connection: close).
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), opts.shutdownGraceMs);
      await closed;
      clearTimeout(timer);
      await writes.idle();
      await stopFollowing();
      scheduler.close();
      ctx.lfs.close();
      await ctx.models.close();
      // What the log suppressed is reported now rather than lost with the process.
      logger.flush();
    })();
    return closing;
  };
  return { url: `http://${host}:${port}`, port, context: ctx, close };
}
