/**
 * Preloaded (`node --import`) into the CLI processes the crash test kills.
 * Node and the CLI's modules take ~0.5 s to load here, longer than most of the
 * commands run: a kill timed from spawn mostly lands in that start-up, before
 * anything touched the store. So this loads them first, says "ready" on
 * stdout, then waits for the command's arguments (one JSON line on stdin); the
 * test times each kill from the moment it sends them.
 */
import '../../src/cli/main.js';
// The CLI loads these when a command runs (src/cli/program.ts, store.ts): the commands the crash test
// runs, the store and what its import and migrate load. Loaded here so that they are not timed either.
import '../../src/cli/program.js';
import '../../src/cli/commands/import.js';
import '../../src/cli/commands/rm.js';
import '../../src/cli/commands/gc.js';
import '../../src/cli/commands/migrate.js';
import '../../src/store/store.js';
import '../../src/store/import/importer.js';
import '../../src/store/import/delta-encoder.js';
import '../../src/store/import/base-finder.js';
import '../../src/store/import/encoder.js';
import '../../src/store/import/rebase.js';
import '../../src/store/maintain/migrate.js';
// Loaded lazily by the CLI, only for postgres:// stores: loaded here so that it is not timed either.
import '../../src/backends/postgres/driver.js';

// Set by CrashCli (crash-cli.ts). Without it (`node --test dist/test/` runs every file, this one too) there is nothing to wait for.
if (process.env.TESSERA_CRASH_GATE === '1') {
  const args = await new Promise<string[] | undefined>((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      // Let go of stdin, or the open pipe would keep the finished command's process alive.
      process.stdin.destroy();
      resolve(JSON.parse(buf.slice(0, nl)) as string[]);
    });
    process.stdin.on('end', () => resolve(undefined));
    process.stdout.write('ready\n');
  });
  // The test went away without sending a command: nothing to run.
  if (args === undefined) process.exit(0);
  // bin/tessera.js, the entry point, runs next and parses process.argv.
  process.argv.splice(2, process.argv.length - 2, ...args);
}
