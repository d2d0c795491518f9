import type { LogFormat, LogLevel } from './log.js';

export interface ServeOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Bytes of ONNX models kept loaded (least recently used evicted first). */
  memoryBudget: number;
  /** Bytes of decoded chunks kept to speed up loading models that share them. */
  chunkCacheBytes: number;
  /** Largest request body for inference and the repository endpoints. */
  maxBodyBytes: number;
  /** Largest model file accepted by PUT. */
  maxUploadBytes: number;
  /** Deepest JSON nesting accepted. */
  maxJsonDepth: number;
  /** Bearer token for write endpoints (reads too with tokenRead): 16 to 256 printable ASCII characters. */
  token?: string;
  tokenRead?: boolean;
  /** Host names answered besides loopback addresses and `host` (the Host check against DNS rebinding). */
  allowHosts: string[];
  /** Origins (scheme://host[:port]) whose web pages may use the server besides its own: CORS, and state changes. */
  allowOrigins: string[];
  /** Connections served at once; past it a connection's request is answered 503 and the connection closed. */
  maxConnections: number;
  /** Bytes held for requests in flight (bodies being read and parsed, blocks of downloads to slow clients); past it new ones get 503. */
  maxInflightBytes: number;
  /** onnxruntime intra-op threads per session (default: onnxruntime's). */
  intraOpThreads?: number;
  /** Sessions per model, each on a runtime thread of its own. */
  instances: number;
  /** How long shutdown waits for requests in flight before closing their connections. */
  shutdownGraceMs: number;
  /** A request's headers must have arrived within this long of its first byte (408 and close otherwise: slowloris). */
  headersTimeoutMs: number;
  /** A whole request, body included, must have arrived within this long (408 and close otherwise); bounds uploads too. */
  requestTimeoutMs: number;
  /** A download whose client reads nothing for this long is cut off (it would otherwise hold its connection and buffers forever). */
  sendTimeoutMs: number;
  /** Where the server's log lines go (failed loads and inferences, server errors), already rate-limited per kind (log.ts); default: stderr. */
  log?: (line: string) => void;
  /** Lines below this severity are not logged (access lines are `info`; at `debug` onnxruntime's own warnings are logged too). */
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Where a line per request goes (server-log.ts); default: nowhere (the CLI's is stdout, or --access-log FILE). */
  accessLog?: (line: string) => void;
}

/** Sessions per model unless told otherwise: one, so that a loaded model costs its size once. */
export const DEFAULT_INSTANCES = 1;

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export const DEFAULT_SERVE_OPTIONS: ServeOptions = {
  host: '127.0.0.1',
  port: 8000,
  memoryBudget: 4 * GiB,
  chunkCacheBytes: 256 * MiB,
  maxBodyBytes: 64 * MiB,
  maxUploadBytes: 16 * GiB,
  maxJsonDepth: 64,
  allowHosts: [],
  allowOrigins: [],
  // Well under the usual limit of 1024 descriptors a process, with room for the store's.
  maxConnections: 256,
  maxInflightBytes: 256 * MiB,
  instances: DEFAULT_INSTANCES,
  shutdownGraceMs: 10_000,
  // Node's own default for headers; the request and send limits leave room for a large upload or a slow link.
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  sendTimeoutMs: 60_000,
  logLevel: 'info',
  logFormat: 'text',
};
