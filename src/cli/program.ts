import { LS_PAGE } from './commands/ls-page.js';
import { MAX_PAGE, STATS_MODELS } from '../wire/store-json.js';
import { Command, Help, Option } from 'commander';
import { collect, parseBatchList, parseDelay, parseFraction, parseNonNegativeInt, parsePolicy, parsePort, parsePositiveInt, parseSize } from './parse.js';
import { SERVE_SETTINGS, envName } from './serve-settings.js';
import type { ServeSetting } from './serve-settings.js';

/**
 * Every command's definition: what it takes and what --help says. Commander
 * needs these to parse and to print help; a command's implementation
 * (commands/*.ts, and through it the store, the codecs, SQLite, the server) is
 * loaded only when that command runs, so a process pays at start-up for the
 * one command it runs and nothing else (README, Benchmarks: Start-up of the command).
 */

/** Commander hands an action the command's arguments, then its options, then the command. */
type Action = (...args: any[]) => Promise<void>;

/** The action of a command whose module is loaded when it runs. */
function lazy(load: () => Promise<{ action: Action }>): Action {
  return async (...args) => (await load()).action(...args);
}

/** A serve setting as commander's option: its parser, choices and default, and the environment variable it also reads. */
function settingOption(s: ServeSetting): Option {
  const o = new Option(s.flag, `${s.help} ($${envName(s)})`);
  if (s.kind === 'int') o.argParser(parsePositiveInt);
  else if (s.kind === 'port') o.argParser(parsePort);
  else if (s.kind === 'size') o.argParser(parseSize);
  else if (s.kind === 'list') o.argParser(collect);
  else if (s.kind === 'choice') o.choices(s.choices!);
  if (s.default !== undefined && s.default !== false) o.default(s.default, s.defaultText);
  return o;
}

export function buildProgram(): Command {
  const program = new Command('tessera')
    .description('Tessera: a model store that keeps every distinct piece of weight data once')
    .option('--store <path>', 'store location: SQLite file or postgres://user@host:port/db URL (default: $TESSERA_STORE or ./tessera.db)')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  // `tessera --version` is answered before commander parses (main.ts): only listed here, for --help.
  const version = new Option('-V, --version', 'print the version');
  program.configureHelp({
    visibleOptions(cmd) {
      const opts = Help.prototype.visibleOptions.call(this, cmd);
      // Before -h, --help, which commander lists last.
      if (cmd === program) opts.splice(opts.length - 1, 0, version);
      return opts;
    },
  });

  program.command('import')
    .description('import model files or directories, each as a model of its own or (--name) as the next versions of one model')
    .argument('<path...>', 'model file, or directory of model files (relative paths are kept); several: all are checked before any is imported')
    .option('--name <name>', 'model name; with several paths, each is its next version, in order (default: each path\'s file stem or directory name)')
    .option('--version <n>', 'version number (default: next free one; one path only)', parsePositiveInt)
    .option('--versions', 'each path is a folder of versions (e.g. pkg/1.2.0/, pkg/1.10.0/): one model named after the folder, its subfolders the next versions in version order')
    .option('--chunk-size <bytes>', 'tensor chunk size, e.g. 64KiB (default: the store\'s)', parseSize)
    .option('--base <model>', 'take deltas against this model (name or name:version; default: the closest stored model)')
    .option('--no-delta', 'store no deltas against another model')
    .option('--example <request.json>', 'an example inference request ({"inputs": [...]}) kept with the model; the dashboard\'s "try it" starts from it')
    .option('--json', 'print the result as JSON')
    .action(lazy(() => import('./commands/import.js')));

  program.command('export')
    .description('write a model\'s files back out, byte-identical (SHA-256 checked)')
    .argument('<model>', 'name or name:version (default: latest version)')
    .requiredOption('--out <path>', 'output file (one-file model) or directory')
    .option('--json', 'print the result as JSON')
    .action(lazy(() => import('./commands/export.js')));

  program.command('ls')
    .description('list the models in the store, by name, a page at a time')
    .option('--search <text>', 'only models whose name holds this text (any letter case)')
    .option('--format <format>', 'only models of this format (onnx, safetensors, gguf, …)')
    .option('--limit <n>', `models per page (1-${MAX_PAGE})`, String(LS_PAGE))
    .option('--after <name:version>', 'the page after this model (the cursor the previous page printed)')
    .option('--all', 'every model, no pages')
    .option('--json', 'print JSON (the page\'s models; with --all, every model)')
    .action(lazy(() => import('./commands/ls.js')));

  program.command('show')
    .description('files, tensors, and what a model shares with the others')
    .argument('<model>', 'name or name:version')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/show.js')));

  program.command('stats')
    .description('store totals and per-model savings: deduplicated, compressed, delta-encoded, stored')
    .option('--all', `a row for every model (else, in a store of more than ${STATS_MODELS} models, the latest ${STATS_MODELS} imports)`)
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/stats.js')));

  program.command('rm')
    .description('remove a model version (its chunks are freed by gc)')
    .argument('<model>', 'name or name:version (default: latest version)')
    .action(lazy(() => import('./commands/rm.js')));

  program.command('gc')
    .description('free chunks no model references')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/gc.js')));

  program.command('demo')
    .description('import the demo models (shipped in npm packages) and show what was saved')
    .action(lazy(() => import('./commands/demo.js')));

  program.command('approx')
    .description('store a lossy version of an ONNX model: float blocks replaced by near-identical stored ones while the measured drop stays within a bound')
    .argument('<model>', 'name or name:version of a lossless ONNX model (default: latest version)')
    .requiredOption('--eval <file>', 'evaluation inputs: .npy (a one-input model), .npz (arrays named after the inputs) or .json ({"inputs": [...]} as in an inference request)')
    .option('--labels <file>', 'the rows\' classes (.npy of integers or a JSON array): the metric is then accuracy')
    .requiredOption('--max-drop <bound>', 'largest drop of the metric accepted on the held-out rows, e.g. 1% (one point of accuracy)', parseFraction)
    .addOption(new Option('--metric <metric>', 'how the model is scored (default: accuracy with --labels, else agreement with the original\'s top-1, or relative error for one output value per row)')
      .choices(['accuracy', 'agreement', 'relative-error']))
    .option('--output <name>', 'the output scored (default: the model\'s first)')
    .option('--held-out <fraction>', 'rows kept out of the search to check the bound, e.g. 50%', parseFraction, 0.5)
    .option('--seed <n>', 'seed of the split of the rows', parseNonNegativeInt, 1)
    .option('--max-block-error <fraction>', 'largest relative L2 error of one replaced block', parseFraction, 0.25)
    .option('--max-evaluations <n>', 'model evaluations the search may use', parsePositiveInt, 64)
    .option('--dry-run', 'search and report; store nothing')
    .option('--quiet', 'no progress lines')
    .option('--json', 'print the result as JSON')
    .action(lazy(() => import('./commands/approx.js')));

  const config = program.command('config')
    .description('show or change how the server runs a model: dynamic batching, queue, instances, which versions it serves')
    .argument('<model>', 'name (the model: every version) or name:version (that version\'s own settings)')
    .option('--max-batch-size <n>', 'rows a batched run may hold (0: no dynamic batching)', parseNonNegativeInt)
    .option('--preferred-batch-sizes <list>', 'batch sizes to form when it can, e.g. 8,16 ("" for none)', parseBatchList)
    .option('--max-queue-delay <delay>', 'how long a request may wait for others to batch with, e.g. 500us, 2ms', parseDelay)
    .option('--instances <n>', 'sessions of the model, each on a runtime thread of its own (default: the server\'s --instances)', parsePositiveInt)
    .option('--max-queue-size <n>', 'requests waiting at most; past it the server answers 429 with Retry-After', parsePositiveInt)
    .option('--version-policy <policy>', 'versions served: all, latest[:N] or specific:V1,V2 (the model only)', parsePolicy)
    .addOption(new Option('--unset <setting>', 'remove a setting at this level (repeatable), e.g. max-batch-size').argParser(collect).default([], 'none'))
    .option('--reset', 'remove every setting at this level first')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/config.js')));
  config.command('check')
    .description('check tessera serve\'s config file and environment variables, and show the settings it would run with, each with its source')
    .option('--config <file>', 'the file to check (default: $TESSERA_CONFIG, else ./tessera.toml)')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/config-check.js')));

  const serve = program.command('serve')
    .description('serve the store\'s ONNX models over the Open Inference Protocol (KServe v2 REST), with model file downloads')
    .option('--config <file>', 'a TOML file of these settings, in its [serve] table (default: $TESSERA_CONFIG, else ./tessera.toml when there is one); a flag wins over its environment variable, which wins over the file');
  for (const setting of SERVE_SETTINGS) serve.addOption(settingOption(setting));
  serve.action(lazy(() => import('./commands/serve.js')));

  program.command('migrate')
    .description('copy a whole store into another (SQLite <-> PostgreSQL), chunk by chunk, verifying digests; rerun to resume')
    .requiredOption('--from <store>', 'source store: SQLite file or postgres:// URL')
    .requiredOption('--to <store>', 'target store: SQLite file or postgres:// URL (created when missing)')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/migrate.js')));

  program.command('backup')
    .description('copy the store, while it is in use, into a new SQLite file, and check the copy (verify --deep)')
    .requiredOption('--to <file>', 'the backup file (a SQLite store; made beside it under a temporary name, renamed when checked)')
    .option('--force', 'replace an existing file')
    .option('--no-verify', 'skip the deep check of the copy')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/backup.js')));

  program.command('restore')
    .description('make a new store (--store: a SQLite file that does not exist yet, or an empty PostgreSQL schema) from a backup file')
    .requiredOption('--from <file>', 'the backup file (tessera backup --to)')
    .option('--no-verify', 'skip the deep check of the backup before restoring it')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/restore.js')));

  program.command('verify')
    .description('check the store: chunks, bases, depths, segments; --deep also decodes every chunk and rebuilds every file')
    .option('--deep', 'decode every chunk (SHA-256 = its id) and rebuild every file (SHA-256 = the one imported)')
    .option('--json', 'print the report as JSON')
    .action(lazy(() => import('./commands/verify.js')));

  program.command('repair')
    .description('re-supply missing or corrupt chunks from the original files (--from); mark models that stay damaged unavailable')
    .option('--from <path>', 'an original model file, or a directory of them (repeatable); files are matched by SHA-256', collect, [])
    .option('--json', 'print the report as JSON')
    .action(lazy(() => import('./commands/repair.js')));

  program.command('sharing')
    .description('the pairs of models that share the most (the bytes of chunks both reference, and the tensors holding them), and the families')
    .option('--json', 'print the heatmap matrix as JSON (models, or the largest families in a big store; cluster order, bytes, tensors)')
    .option('--top <n>', 'pairs to list', '20')
    .option('--rebuild', 'recompute what every model shares (kept up to date by imports and removals; after a crash of concurrent imports on PostgreSQL)')
    .action(lazy(() => import('./commands/sharing.js')));

  program.commands.forEach((c) => c.exitOverride());
  return program;
}
