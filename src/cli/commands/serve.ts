import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { withStore } from '../context.js';
import { serverToken } from '../config.js';
import type { GlobalOptions } from '../context.js';
import { parsePositiveInt, parseSize } from '../parse.js';
import { importDemo } from './demo.js';
import { DEFAULT_SERVE_OPTIONS } from '../../serve/options.js';
import { checkToken } from '../../serve/auth.js';
import { checkAllowHost } from '../../serve/http/hosts.js';
import { checkAllowOrigin } from '../../serve/http/origins.js';

interface ServeFlags {
  host: string;
  port: number;
  memoryBudget: number;
  chunkCache: number;
  maxBody: number;
  maxUpload: number;
  token?: string;
  tokenRead?: boolean;
  allowHost: string[];
  allowOrigin: string[];
  maxConnections: number;
  maxInflight: number;
  threads?: number;
  headersTimeout: number;
  requestTimeout: number;
  sendTimeout: number;
  demo?: boolean;
}

function parsePort(v: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${v}"`);
  return Number(v);
}

/** A repeatable option's values, each checked by `check` (its error becomes commander's, which names the option). */
function repeatable(check: (v: string) => string): (v: string, previous: string[]) => string[] {
  return (v, previous) => {
    try {
      return [...previous, check(v)];
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** Resolves on SIGINT or SIGTERM; a second signal exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function register(program: Command): void {
  const d = DEFAULT_SERVE_OPTIONS;
  program.command('serve')
    .description('serve the store\'s ONNX models over the Open Inference Protocol (KServe v2 REST), with model file downloads')
    .option('--host <address>', 'address to listen on (a non-loopback one needs a token)', d.host)
    .option('--port <n>', 'port (0: any free one)', parsePort, d.port)
    .option('--memory-budget <size>', 'bytes of models kept loaded, least recently used evicted first', parseSize, d.memoryBudget)
    .option('--chunk-cache <size>', 'bytes of decoded chunks kept to load models that share them faster', parseSize, d.chunkCacheBytes)
    .option('--max-body <size>', 'largest inference request body', parseSize, d.maxBodyBytes)
    .option('--max-upload <size>', 'largest model file accepted by PUT', parseSize, d.maxUploadBytes)
    .option('--token <token>', 'bearer token for uploads, deletes, load and unload (default: $TESSERA_TOKEN)')
    .option('--token-read', 'require the token for reads too')
    .addOption(new Option('--allow-host <name>', 'answer requests for this host name too, besides loopback addresses and --host (repeatable)')
      .argParser(repeatable(checkAllowHost)).default([], 'none'))
    .addOption(new Option('--allow-origin <origin>', 'let web pages of this origin (scheme://host[:port]) use the server, CORS included (repeatable)')
      .argParser(repeatable(checkAllowOrigin)).default([], 'none'))
    .option('--max-connections <n>', 'connections served at once; past it: 503 and close', parsePositiveInt, d.maxConnections)
    .option('--max-inflight <size>', 'bytes held for requests in flight (bodies, downloads to slow clients); past it new ones get 503', parseSize, d.maxInflightBytes)
    .option('--threads <n>', 'onnxruntime intra-op threads per model (default: onnxruntime\'s)', parsePositiveInt)
    .option('--headers-timeout <ms>', 'close a connection whose request headers take longer (408)', parsePositiveInt, d.headersTimeoutMs)
    .option('--request-timeout <ms>', 'close a connection whose whole request, body included, takes longer (408)', parsePositiveInt, d.requestTimeoutMs)
    .option('--send-timeout <ms>', 'cut off a download whose client reads nothing for this long', parsePositiveInt, d.sendTimeoutMs)
    .option('--demo', 'import the demo models first when the store is empty')
    .action(async (flags: ServeFlags, cmd: Command) => {
      const token = serverToken(flags.token);
      // Before the store is opened (and the demo imported): a token no client could send is refused at once.
      if (token !== undefined) checkToken(token);
      await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
        // npm start: the demo models, when the store is empty.
        if (flags.demo && (await store.list()).length === 0) await importDemo(store);
        const signal = untilSignal();
        // Loaded here, not at the top: the server pulls in onnxruntime and prom-client, which every other command would pay for at start-up.
        const { startServer } = await import('../../serve/server.js');
        const server = await startServer(store, {
          host: flags.host, port: flags.port, memoryBudget: flags.memoryBudget, chunkCacheBytes: flags.chunkCache,
          maxBodyBytes: flags.maxBody, maxUploadBytes: flags.maxUpload, token, tokenRead: flags.tokenRead, intraOpThreads: flags.threads,
          allowHosts: flags.allowHost, allowOrigins: flags.allowOrigin, maxConnections: flags.maxConnections, maxInflightBytes: flags.maxInflight,
          headersTimeoutMs: flags.headersTimeout, requestTimeoutMs: flags.requestTimeout, sendTimeoutMs: flags.sendTimeout,
        });
        const models = server.context.catalog.all();
        console.log(`tessera: serving ${models.length} model version(s) from ${store.location} at ${server.url}  (${token ? 'writes need the token' : 'no token: writes open to loopback clients'}; Ctrl-C stops)`);
        const first = models.find((v) => v.files.some((f) => f.format === 'onnx'));
        console.log(`dashboard: ${server.url}/  (what is stored, what is shared, what Tessera saved)`);
        if (first) console.log(`try: curl ${server.url}/v2/models/${first.model.name}`);
        const sig = await signal;
        console.log(`tessera: ${sig}: finishing requests in flight, then stopping`);
        await server.close();
      });
    });
}
