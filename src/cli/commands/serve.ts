import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { withStore } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { importDemo } from './demo.js';
import { loadServe } from '../serve-config.js';
import { captureStderr } from '../../serve/stderr-capture.js';
import type { LogKind } from '../../serve/log.js';

/**
 * Where the line per request goes: stdout, a file opened for appending (and
 * opened again on SIGHUP, after logrotate moved it), or nowhere.
 */
function accessSink(where: string): ((line: string) => void) | undefined {
  if (where === 'off') return undefined;
  if (where === '-') return batched((text) => void process.stdout.write(text));
  let out = createWriteStream(where, { flags: 'a' });
  const failed = (e: Error): void => void process.stderr.write(`tessera serve: the access log ${where}: ${e.message}\n`);
  out.on('error', failed);
  process.on('SIGHUP', () => {
    out.end();
    out = createWriteStream(where, { flags: 'a' });
    out.on('error', failed);
  });
  return batched((text) => void out.write(text));
}

/**
 * Lines gathered and written once per turn of the event loop: a write per
 * line cost 12% of the requests a second on the cheapest endpoint (a
 * synchronous write(2) each, to a pipe or a file).
 */
function batched(write: (text: string) => void): (line: string) => void {
  let pending = '';
  const flush = (): void => {
    const text = pending;
    pending = '';
    write(text);
  };
  return (line) => {
    if (pending === '') setImmediate(flush);
    pending += `${line}\n`;
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

export async function action(_flags: object, cmd: Command): Promise<void> {
  // Every setting from the first source that has it (flag, environment, config file, default), all checked
  // before the store is opened (and the demo imported): a token no client could send is refused at once.
  const globals = cmd.optsWithGlobals<GlobalOptions & { config?: string }>();
  const { flags, store: location } = loadServe({
    flag: (name) => (cmd.getOptionValueSource(name) === 'cli' ? cmd.getOptionValue(name) : undefined),
    storeFlag: globals.store,
    configFlag: globals.config,
  });
  await withStore({ ...globals, store: location.location }, async (store) => {
    // npm start: the demo models, when the store is empty.
    if (flags.demo && (await store.list()).length === 0) await importDemo(store);
    const signal = untilSignal();
    // At debug, what native code prints (onnxruntime's own lines) becomes the log's; until the server is up it waits.
    // Only then: below debug onnxruntime prints nothing, and with fd 2 on a pipe that this process reads itself,
    // what a crash prints as it kills the process (a native abort) would die with it.
    const early: [LogKind, string][] = [];
    let nativeLine = (kind: LogKind, text: string): void => void early.push([kind, text]);
    const capture = flags.logLevel === 'debug' ? captureStderr((kind, text) => nativeLine(kind, text)) : undefined;
    if (capture) {
      // An uncaught exception's stack goes to the former stderr, not into the pipe this process would no longer read.
      process.on('uncaughtException', (e) => {
        capture.write(`tessera serve: uncaught exception: ${e.stack ?? String(e)}\n`);
        process.exit(70);
      });
    }
    // Loaded here, not at the top: the server pulls in onnxruntime and prom-client, and a refused token or store fails before paying for them.
    const { startServer } = await import('../../serve/server.js');
    const server = await startServer(store, {
      host: flags.host, port: flags.port, memoryBudget: flags.memoryBudget, chunkCacheBytes: flags.chunkCache,
      maxBodyBytes: flags.maxBody, maxUploadBytes: flags.maxUpload, token: flags.token, tokenRead: flags.tokenRead, intraOpThreads: flags.threads, instances: flags.instances,
      allowHosts: flags.allowHost, allowOrigins: flags.allowOrigin, maxConnections: flags.maxConnections, maxInflightBytes: flags.maxInflight,
      headersTimeoutMs: flags.headersTimeout, requestTimeoutMs: flags.requestTimeout, sendTimeoutMs: flags.sendTimeout,
      // Event lines go to stderr (the server's own sink): with fd 2 captured, process.stderr writes to the former fd 2.
      logLevel: flags.logLevel, logFormat: flags.logFormat, accessLog: accessSink(flags.accessLog),
    });
    nativeLine = (kind, text) => server.context.log(kind, text);
    for (const [kind, text] of early.splice(0)) nativeLine(kind, text);
    const models = server.context.catalog.all();
    console.log(`tessera: serving ${models.length} model version(s) from ${store.location} at ${server.url}  (${flags.token ? 'writes need the token' : 'no token: writes open to loopback clients'}; Ctrl-C stops)`);
    const first = models.find((v) => v.files.some((f) => f.format === 'onnx'));
    console.log(`dashboard: ${server.url}/  (what is stored, what is shared, what Tessera saved)`);
    if (first) console.log(`try: curl ${server.url}/v2/models/${first.model.name}`);
    const sig = await signal;
    console.log(`tessera: ${sig}: finishing requests in flight, then stopping`);
    await server.close();
  });
}
