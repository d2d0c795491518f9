import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the server's connection cap and in-flight bytes hold now. */
export interface EdgeSources {
  connections(): number;
  inflightBytes(): number;
}

/** The server's Prometheus metrics, in a registry of its own (several servers can live in one process, e.g. in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'method' | 'route'>;
  readonly responseBytes: Counter<'route'>;
  readonly clientErrors: Counter<'code'>;
  readonly inferences: Counter<'model' | 'status'>;
  readonly inferenceSeconds: Histogram<'model'>;
  readonly modelsLoaded: Gauge;
  readonly modelBytesLoaded: Gauge;
  readonly modelLoads: Counter<'result'>;
  readonly modelLoadSeconds: Histogram;
  readonly modelEvictions: Counter<'reason'>;
  readonly modelLoaded: Gauge<'model'>;
  readonly queueRequests: Gauge<'model'>;
  readonly queueWaitSeconds: Histogram<'model'>;
  readonly batchRows: Histogram<'model'>;
  readonly batchRequests: Histogram<'model'>;
  readonly queueRejections: Counter<'model'>;
  readonly requestsCancelled: Counter<'model'>;
  readonly batchingDisabled: Counter<'model'>;
  readonly runtimeThreadExits: Counter;
  readonly chunkCacheHits: Counter;
  readonly chunkCacheMisses: Counter;
  readonly chunkCacheBytes: Gauge;
  readonly fileBytesServed: Counter;
  readonly uploads: Counter<'result'>;
  readonly connections: Gauge;
  readonly inflightBytes: Gauge;
  /** What the connection and in-flight gauges report, read at each scrape (set by the server once it has them). */
  private edge: EdgeSources = { connections: () => 0, inflightBytes: () => 0 };
  /** Requests waiting per model, read at each scrape (set by the server: its scheduler). */
  private queues: () => Map<string, number> = () => new Map();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_' });
    this.requests = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers });
    this.requestSeconds = new Histogram({
      name: 'tessera_http_request_duration_seconds', help: 'Time from request to the end of the response', labelNames: ['method', 'route'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.responseBytes = new Counter({ name: 'tessera_http_response_bytes_total', help: 'Response body bytes sent', labelNames: ['route'], registers });
    this.clientErrors = new Counter({
      name: 'tessera_http_client_errors_total', help: 'Connections answered or closed outside any handler: malformed requests, headers or bodies too slow (ERR_HTTP_REQUEST_TIMEOUT), resets',
      labelNames: ['code'], registers,
    });
    this.inferences = new Counter({ name: 'tessera_inference_requests_total', help: 'Inference requests per model', labelNames: ['model', 'status'], registers });
    this.inferenceSeconds = new Histogram({
      name: 'tessera_inference_duration_seconds', help: 'onnxruntime run time per model', labelNames: ['model'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.modelsLoaded = new Gauge({ name: 'tessera_models_loaded', help: 'Model versions with a live onnxruntime session', registers });
    this.modelBytesLoaded = new Gauge({ name: 'tessera_models_loaded_bytes', help: 'Model bytes counted against the memory budget', registers });
    this.modelLoads = new Counter({ name: 'tessera_model_loads_total', help: 'Model loads (session creations)', labelNames: ['result'], registers });
    this.modelLoadSeconds = new Histogram({
      name: 'tessera_model_load_duration_seconds', help: 'Time to reconstruct a model from the store and create its session', registers,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.modelEvictions = new Counter({ name: 'tessera_model_evictions_total', help: 'Sessions released', labelNames: ['reason'], registers });
    this.modelLoaded = new Gauge({ name: 'tessera_model_loaded', help: 'Model versions loaded now (1), by model; a version leaves when it is unloaded or evicted', labelNames: ['model'], registers });
    const queues = (): Map<string, number> => this.queues();
    this.queueRequests = new Gauge({
      name: 'tessera_queue_requests', help: 'Inference requests waiting in a model\'s queue', labelNames: ['model'], registers,
      // Read at each scrape, not set at every enqueue and dequeue (two label lookups a request).
      collect() {
        this.reset();
        for (const [model, n] of queues()) this.set({ model }, n);
      },
    });
    this.queueWaitSeconds = new Histogram({
      name: 'tessera_queue_wait_seconds', help: 'Time a request waited in its model\'s queue before its run started', labelNames: ['model'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    });
    const sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024];
    this.batchRows = new Histogram({ name: 'tessera_batch_rows', help: 'Rows (dimension 0) per model run', labelNames: ['model'], registers, buckets: sizes });
    this.batchRequests = new Histogram({ name: 'tessera_batch_requests', help: 'Requests per model run (1 without dynamic batching)', labelNames: ['model'], registers, buckets: sizes });
    this.queueRejections = new Counter({ name: 'tessera_queue_rejected_total', help: 'Requests refused with 429: the model\'s queue was full', labelNames: ['model'], registers });
    this.requestsCancelled = new Counter({ name: 'tessera_requests_cancelled_total', help: 'Queued requests dropped because their client disconnected', labelNames: ['model'], registers });
    this.batchingDisabled = new Counter({ name: 'tessera_batching_disabled_total', help: 'Models whose batched outputs did not keep rows apart (run request by request since)', labelNames: ['model'], registers });
    this.runtimeThreadExits = new Counter({ name: 'tessera_runtime_thread_exits_total', help: 'Runtime threads that exited while serving (each replaced; its models reload on their next request)', registers });
    this.chunkCacheHits = new Counter({ name: 'tessera_chunk_cache_hits_total', help: 'Decoded chunks taken from the chunk cache while loading models', registers });
    this.chunkCacheMisses = new Counter({ name: 'tessera_chunk_cache_misses_total', help: 'Chunks read and decoded from the store while loading models', registers });
    this.chunkCacheBytes = new Gauge({ name: 'tessera_chunk_cache_bytes', help: 'Bytes held by the decoded-chunk cache', registers });
    this.fileBytesServed = new Counter({ name: 'tessera_file_bytes_served_total', help: 'Model file bytes sent by the files endpoint', registers });
    this.uploads = new Counter({ name: 'tessera_uploads_total', help: 'Model uploads', labelNames: ['result'], registers });
    const edge = (): EdgeSources => this.edge;
    this.connections = new Gauge({
      name: 'tessera_http_connections', help: 'Connections being served (those past --max-connections not counted)', registers,
      collect() {
        this.set(edge().connections());
      },
    });
    this.inflightBytes = new Gauge({
      name: 'tessera_http_inflight_bytes', help: 'Bytes held for requests in flight, against --max-inflight', registers,
      collect() {
        this.set(edge().inflightBytes());
      },
    });
  }

  /** Where the queue gauge reads its values. */
  observeQueues(waiting: () => Map<string, number>): void {
    this.queues = waiting;
  }

  /** Where the connection and in-flight gauges read their values. */
  observeEdge(edge: EdgeSources): void {
    this.edge = edge;
  }
}
