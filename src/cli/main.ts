import { Command, CommanderError } from 'commander';
import { register as registerImport } from './commands/import.js';
import { register as registerExport } from './commands/export.js';
import { register as registerLs } from './commands/ls.js';
import { register as registerShow } from './commands/show.js';
import { register as registerStats } from './commands/stats.js';
import { register as registerRm } from './commands/rm.js';
import { register as registerGc } from './commands/gc.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerMigrate } from './commands/migrate.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerRepair } from './commands/repair.js';
import { register as registerSharing } from './commands/sharing.js';
import { EXIT, exitCodeOf } from './exit-codes.js';

export function buildProgram(): Command {
  const program = new Command('tessera')
    .description('Tessera: a model store that keeps every distinct piece of weight data once')
    .option('--store <path>', 'store location: SQLite file or postgres://user@host:port/db URL (default: $TESSERA_STORE or ./tessera.db)')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const reg of [registerImport, registerExport, registerLs, registerShow, registerStats, registerRm, registerGc, registerDemo, registerServe, registerMigrate, registerVerify, registerRepair, registerSharing]) {
    reg(program);
  }
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

/** Every failure is one line on stderr naming the file or the cause; the exit code tells its kind (exit-codes.ts); stack only with --debug. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const debug = argv.includes('--debug');
    const err = e as Error;
    const msg = (err?.message ?? String(e)).split('\n')[0];
    process.stderr.write(`tessera: ${msg}\n`);
    if (debug && err?.stack) process.stderr.write(err.stack + '\n');
    // An explained error (src/backends/errors.ts) keeps the driver's error as its cause.
    const cause = (err as { cause?: unknown } | undefined)?.cause;
    if (debug && cause instanceof Error && cause.stack) process.stderr.write(`caused by: ${cause.stack}\n`);
    return exitCodeOf(e);
  }
}
