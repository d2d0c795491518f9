import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * How long a command takes to reach its first read of a model file (README,
 * Benchmarks: Start-up of the command). Preload it:
 *
 *   PROBE_FILE=model.safetensors node --import ./dist/scripts/first-read-probe.js bin/tessera.js import model.safetensors
 *
 * At the first openSync() of a path ending in $PROBE_FILE it prints to stderr
 * `first-read <ms> <cpu-ms>`: milliseconds since the process's time origin
 * (performance.now()) and the CPU (user + system) the process had used by then.
 * Compare with `node --import … -e "require('fs').openSync('model.safetensors')"`,
 * Node alone.
 */
const target = process.env.PROBE_FILE;
if (target) {
  const openSync = fs.openSync;
  let seen = false;
  fs.openSync = function (this: unknown, path: fs.PathLike, ...rest: unknown[]): number {
    if (!seen && String(path).endsWith(target)) {
      seen = true;
      const cpu = process.cpuUsage();
      fs.writeSync(2, `first-read ${performance.now().toFixed(1)} ${((cpu.user + cpu.system) / 1000).toFixed(1)}\n`);
    }
    return (openSync as (...a: unknown[]) => number).call(this, path, ...rest);
  } as typeof fs.openSync;
  // The CLI's modules import openSync by name: let them see this one.
  syncBuiltinESMExports();
}
