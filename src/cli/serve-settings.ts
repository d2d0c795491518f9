/**
 * Every option of `tessera serve`, defined once: the flag and its --help
 * line, the environment variable, the key in the config file's [serve]
 * table, the default, and the README's description. The CLI's options, the
 * config file's checks (`tessera config check`) and the README's option
 * table (scripts/options-table.ts; a test holds the README to it) are all
 * made from this list, so they cannot drift apart.
 *
 * Precedence, per setting: the flag, else the environment variable, else
 * the config file, else the default (serve-config.ts).
 */
import { DEFAULT_SERVE_OPTIONS } from '../serve/options.js';
import { LOG_FORMATS, LOG_LEVELS } from '../serve/log.js';
import type { LogFormat, LogLevel } from '../serve/log.js';

/** What `tessera serve` runs with, once every source is read. */
export interface ServeFlags {
  host: string;
  port: number;
  memoryBudget: number;
  chunkCache: number;
  maxBody: number;
  maxUpload: number;
  token?: string;
  tokenRead: boolean;
  allowHost: string[];
  allowOrigin: string[];
  maxConnections: number;
  maxInflight: number;
  threads?: number;
  instances: number;
  headersTimeout: number;
  requestTimeout: number;
  sendTimeout: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  accessLog: string;
  demo: boolean;
}

/** How a value is read from text (a flag, an environment variable, a string in the file), and which TOML types the file may give. */
export type SettingKind = 'string' | 'int' | 'port' | 'size' | 'bool' | 'list' | 'choice';

export interface ServeSetting {
  /** The ServeFlags property, and commander's attribute name of the flag. */
  name: keyof ServeFlags;
  /** As commander takes it: the flag and its argument. */
  flag: string;
  kind: SettingKind;
  choices?: readonly string[];
  default: unknown;
  /** How the default is shown, where its value would not read well (bytes). */
  defaultText?: string;
  /** A secret: `config check` shows that it is set, not its value. */
  secret?: boolean;
  /** The --help line. */
  help: string;
  /** The README's description (Markdown). */
  doc: string;
}

const d = DEFAULT_SERVE_OPTIONS;

export const SERVE_SETTINGS: readonly ServeSetting[] = [
  { name: 'host', flag: "--host <address>", kind: 'string', default: d.host,
    help: "address to listen on (a non-loopback one needs a token)",
    doc: "address to listen on. A non-loopback address needs a token (`--token`); `0.0.0.0` or `::` listens on every address (see `--allow-host`)." },
  { name: 'port', flag: "--port <n>", kind: 'port', default: d.port,
    help: "port (0: any free one)",
    doc: "TCP port; `0` takes any free one (the URL is printed at start)." },
  { name: 'memoryBudget', flag: "--memory-budget <size>", kind: 'size', default: d.memoryBudget, defaultText: "4GiB",
    help: "bytes of models kept loaded, least recently used evicted first",
    doc: "bytes of models kept loaded (each counts its ONNX file's size); the least recently used model is released to make room, never while a request is using it. A model bigger than the whole budget gets 507." },
  { name: 'chunkCache', flag: "--chunk-cache <size>", kind: 'size', default: d.chunkCacheBytes, defaultText: "256MiB",
    help: "bytes of decoded chunks kept to load models that share them faster",
    doc: "bytes of the store's one decoded-chunk cache (by chunk id, least recently used out): the delta bases reads decode against, and the chunks of every model loaded, so that a model sharing chunks with one loaded before (a fine-tune, another checkpoint) is reconstructed mostly from memory; downloads read from it too. `0` keeps nothing between reads." },
  { name: 'maxBody', flag: "--max-body <size>", kind: 'size', default: d.maxBodyBytes, defaultText: "64MiB",
    help: "largest inference request body",
    doc: "largest inference or repository request body (413 past it). JSON deeper than 64 levels is refused before it is parsed." },
  { name: 'maxUpload', flag: "--max-upload <size>", kind: 'size', default: d.maxUploadBytes, defaultText: "16GiB",
    help: "largest model file accepted by PUT",
    doc: "largest model file accepted by `PUT` (413 past it). It bounds both the body as sent and the file it decodes to, counted as the bytes stream in: a decompression bomb stops at the limit without being buffered." },
  { name: 'token', flag: "--token <token>", kind: 'string', default: undefined, defaultText: "none", secret: true,
    help: "bearer token for uploads, deletes, load and unload",
    doc: "uploads, deletes, load and unload need `Authorization: Bearer <token>`; reads stay open unless `--token-read`. The token is 16 to 256 printable ASCII characters without spaces (refused at start otherwise: a client could not send it as it is), compared in constant time; a header with bytes outside ASCII is a 401. The token is asked for before anything else is said: without it a wrong method is a 401, not a 405, and under `--token-read` so is an unknown path (not a 404), so that a client without the token learns nothing of what exists; only the dashboard's static files stay public. The server refuses to listen on a non-loopback address without a token." },
  { name: 'tokenRead', flag: "--token-read", kind: 'bool', default: false,
    help: "require the token for reads too",
    doc: "require the token for reads too (metadata, downloads, inference, metrics); only the dashboard's static files stay public." },
  { name: 'allowHost', flag: "--allow-host <name>", kind: 'list', default: [], defaultText: "none",
    help: "answer requests for this host name too, besides loopback addresses and --host (repeatable)",
    doc: "the server answers only requests whose `Host` names it: a loopback address (`127.0.0.0/8`, `::1`, `localhost`, any port), its `--host` (every address the machine has at start when that is `0.0.0.0` or `::`), and each `--allow-host` name (repeatable: a name or an address, no port). Any other `Host` is a 421, token or not: that is how a web page that has its own name resolve to `127.0.0.1` (DNS rebinding) is kept out. Behind a reverse proxy that passes the public name on, give that name." },
  { name: 'allowOrigin', flag: "--allow-origin <origin>", kind: 'list', default: [], defaultText: "none",
    help: "let web pages of this origin (scheme://host[:port]) use the server, CORS included (repeatable)",
    doc: "web pages of this origin (exactly `scheme://host[:port]`, repeatable; `*` is refused) may use the server: CORS preflights are answered for them, and their requests' answers carry `Access-Control-Allow-Origin` and expose the headers clients read (`Content-Range`, `ETag`, `Location`, `Inference-Header-Content-Length`, …). Pages of any other origin may change nothing (403 for any method but GET, HEAD and OPTIONS, and for a request the browser marks `Sec-Fetch-Site: cross-site` or `same-site`), and get no CORS headers, so they cannot read what they fetch. The dashboard (the server's own origin) and clients that send no `Origin` (curl, SDKs) are not concerned. See [SECURITY.md](SECURITY.md)." },
  { name: 'maxConnections', flag: "--max-connections <n>", kind: 'int', default: d.maxConnections,
    help: "connections served at once; past it: 503 and close",
    doc: "connections served at once (default 256); one past it is answered 503 with `Retry-After` and `Connection: close`, and closed." },
  { name: 'maxInflight', flag: "--max-inflight <size>", kind: 'size', default: d.maxInflightBytes, defaultText: "256MiB",
    help: "bytes held for requests in flight (bodies, downloads to slow clients); past it new ones get 503",
    doc: "bytes held for requests in flight (default 256 MiB): an inference body counts what it makes the server hold (a JSON body 8 times its size, binary tensor data twice, as measured), a download three of the blocks it reads (the blocks wait on a slow client). A request that would not fit beside the others gets 503 with `Retry-After` before it is read; one alone always fits." },
  { name: 'threads', flag: "--threads <n>", kind: 'int', default: undefined, defaultText: "onnxruntime's",
    help: "onnxruntime intra-op threads per model (default: onnxruntime's choice, the cores)",
    doc: "onnxruntime intra-op threads per model (default: onnxruntime's, the cores)." },
  { name: 'instances', flag: "--instances <n>", kind: 'int', default: d.instances,
    help: "sessions per model, each on a runtime thread of its own: runs of one model at once (each holds the model; counted against --memory-budget)",
    doc: "sessions per model (default 1), each on a runtime thread of its own: runs of one model at once. Each holds the model, and counts its size against `--memory-budget`. With 2 on this 2-core machine, Silero VAD at 4 concurrent clients answered 1.86-1.87x the requests per second of one client (batch 16-64, binary), against 1.39-1.73x with one session (`npm run bench -- --serve`)." },
  { name: 'headersTimeout', flag: "--headers-timeout <ms>", kind: 'int', default: d.headersTimeoutMs,
    help: "close a connection whose request headers take longer (408)",
    doc: "milliseconds a request's headers may take to arrive; past it the client gets 408 and the connection is closed (slow clients cannot hold connections)." },
  { name: 'requestTimeout', flag: "--request-timeout <ms>", kind: 'int', default: d.requestTimeoutMs,
    help: "close a connection whose whole request, body included, takes longer (408)",
    doc: "milliseconds a whole request, body included, may take to arrive (408 and close past it); it bounds uploads too. A body refused early (413, or any error before it is read) is read and dropped as it comes, so that the client still sending it gets the answer: a declared body of up to 8 MiB whole, and the connection kept; any other (longer, or chunked) up to 8 MiB more or 5 s, with `Connection: close` on the answer, so that a keep-alive client sends its next request on a new connection." },
  { name: 'sendTimeout', flag: "--send-timeout <ms>", kind: 'int', default: d.sendTimeoutMs,
    help: "cut off a download whose client reads nothing for this long",
    doc: "milliseconds a download waits on a client that reads nothing before it cuts the connection." },
  { name: 'logLevel', flag: "--log-level <level>", kind: 'choice', default: d.logLevel, choices: LOG_LEVELS,
    help: "log lines of this severity and above: error, warn, info (also a line per request, loads and unloads), debug (also onnxruntime's own warnings)",
    doc: "`error`, `warn`, `info` (default: also a line per request, and model loads and unloads) or `debug` (also onnxruntime's own warnings). See [Logs](#logs)." },
  { name: 'logFormat', flag: "--log-format <format>", kind: 'choice', default: d.logFormat, choices: LOG_FORMATS,
    help: "text (access lines in the Common Log Format, with duration, model and request id) or json (one object a line)",
    doc: "`text` (access lines in the Common Log Format) or `json` (one object a line, access and events alike)." },
  { name: 'accessLog', flag: "--access-log <where>", kind: 'string', default: '-',
    help: "where the line per request goes: - (stdout), a file (appended; reopened on SIGHUP, for logrotate), or off",
    doc: "where the line per request goes: `-` (stdout, the default), a file (appended; opened again on SIGHUP, after logrotate moved it), or `off`." },
  { name: 'demo', flag: "--demo", kind: 'bool', default: false,
    help: "import the demo models first when the store is empty",
    doc: "import the demo models first when the store is empty (what `npm start` does)." },
];

/** --memory-budget → memory-budget. */
export function longName(s: ServeSetting): string {
  return s.flag.split(' ')[0]!.slice(2);
}

/** TESSERA_MEMORY_BUDGET. */
export function envName(s: ServeSetting): string {
  return `TESSERA_${longName(s).toUpperCase().replace(/-/g, '_')}`;
}

/** memory_budget (in the [serve] table). */
export function fileKey(s: ServeSetting): string {
  return longName(s).replace(/-/g, '_');
}
