import { createRequire } from 'node:module';
import { bytes } from '../wire/format.js';

/** A byte progress bar's handle; `label` names what is being done now (a batch import: the current model). */
export interface ByteProgress {
  update: (done: number, total: number, label?: string) => void;
  stop: () => void;
}

/** A byte progress bar on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean). */
export function byteProgress(label: string): ByteProgress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  // Loaded only for a terminal: a dozen modules that a script's import, or a test's, does not need.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: '{label} [{bar}] {percentage}% | {doneH} / {totalH} | {speed}',
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  const start = Date.now();
  let started = false;
  let current = label;
  return {
    update(done, total, now) {
      if (now !== undefined) current = now;
      const secs = Math.max((Date.now() - start) / 1000, 1e-3);
      const payload = { label: current, doneH: bytes(done), totalH: bytes(total), speed: `${bytes(done / secs)}/s` };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
