import { readFileSync } from 'node:fs';
import { EXIT, exitCodeOf } from './exit-codes.js';

/** The package's version (package.json, three levels above dist/src/cli/). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Every failure is one line on stderr naming the file or the cause; the exit code tells its kind (exit-codes.ts); stack only with --debug. */
export async function main(argv: string[]): Promise<number> {
  // Only as the first argument: `import --version 3` is the import's own option, which a program-wide
  // --version (commander's .version()) would take over wherever it stood.
  if (argv[2] === '--version' || argv[2] === '-V') {
    const { planesImplementation } = await import('../codec/native.js');
    process.stdout.write(`${version()} (byte planes: ${planesImplementation})\n`);
    return EXIT.ok;
  }
  const [{ CommanderError }, { buildProgram }] = await Promise.all([import('commander'), import('./program.js')]);
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
