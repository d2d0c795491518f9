import type { Command } from 'commander';
import { withStore, printJson } from '../context.js';
import type { GlobalOptions } from '../context.js';
import { byteProgress } from '../progress.js';
import { bytes, percent } from '../../wire/format.js';
import type { ImportResult } from '../../store/import/importer.js';
import type { Store } from '../../store/store.js';
import { modelSavings } from '../../store/inspect/accounting.js';
import { parseModelRef } from '../../store/model-ref.js';
import { readFileSync, statSync } from 'node:fs';
import { ExampleError, MAX_EXAMPLE_BYTES, parseExample } from '../../wire/example.js';
import type { ExampleRequest } from '../../wire/example.js';
import { invalid, tooLarge } from '../../errors.js';

export interface ImportFlags {
  name: string;
  version?: number;
  chunkSize?: number;
  base?: string;
  /** False with --no-delta. */
  delta?: boolean;
  /** A JSON file: an example inference request kept with the model. */
  example?: string;
  json?: boolean;
}

export function describeImport(r: ImportResult, seconds: number): string {
  const ref = `${r.model.name}:${r.model.version}`;
  if (!r.created) return `${ref} already holds these files; nothing stored (${bytes(r.logicalBytes)} checked in ${seconds.toFixed(2)} s)`;
  const s = modelSavings(r.model);
  return [
    `imported ${ref}: ${r.files} file(s), ${r.tensors} tensors, ${r.chunks} chunks (${r.newChunks} new) in ${seconds.toFixed(2)} s`,
    `  logical ${bytes(r.logicalBytes)}, new bytes stored ${bytes(r.newStoredBytes)} (${percent(r.newStoredBytes, r.logicalBytes)}), deduplicated ${bytes(s.deduplicatedBytes)} (${percent(s.deduplicatedBytes, r.logicalBytes)})`,
    `  saved by compression ${bytes(s.compressionSavedBytes)}, by delta ${bytes(s.deltaSavedBytes)}${r.base ? ` against ${r.base.name}:${r.base.version}` : ''}`,
  ].join('\n');
}

/** An --example file: bounded before it is read, then checked for the shape of a request. */
function readExample(path: string): ExampleRequest {
  const size = statSync(path).size;
  if (size > MAX_EXAMPLE_BYTES) throw tooLarge(`${path}: example request is ${size} bytes; at most ${MAX_EXAMPLE_BYTES} are kept`);
  try {
    return parseExample(readFileSync(path, 'utf8'), path);
  } catch (e) {
    // src/wire imports nothing from outside it: its error becomes the taxonomy's here.
    throw e instanceof ExampleError ? invalid(e.message) : e;
  }
}

export async function runImport(store: Store, path: string, flags: ImportFlags, example?: ExampleRequest): Promise<{ result: ImportResult; seconds: number }> {
  const ex = example ?? (flags.example !== undefined ? readExample(flags.example) : undefined);
  const bar = byteProgress(`importing ${flags.name}`);
  const t0 = performance.now();
  try {
    const result = await store.import(path, {
      name: flags.name, version: flags.version, chunkSize: flags.chunkSize, onProgress: bar.update, example: ex,
      base: flags.delta === false ? null : flags.base !== undefined ? parseModelRef(flags.base) : undefined,
    });
    return { result, seconds: (performance.now() - t0) / 1000 };
  } finally {
    bar.stop();
  }
}

export async function action(path: string, flags: ImportFlags, cmd: Command): Promise<void> {
  await withStore(cmd.optsWithGlobals<GlobalOptions>(), async (store) => {
    const { result, seconds } = await runImport(store, path, flags);
    if (flags.json) printJson({ ...result, seconds, ...modelSavings(result.model) });
    else console.log(describeImport(result, seconds));
  });
}
