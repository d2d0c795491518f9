import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../errors.js';
import { collectInputs } from './import/inputs.js';
import type { InputFile } from './import/inputs.js';

/** What a model file or directory holds, as an import reads it. */
export interface SourceSummary {
  /** The model's files: a directory's, or one file with its ONNX external-data files. */
  files: number;
  /** Their bytes: what the import reads. */
  bytes: number;
  /** What was read: handed to Store.import (`checked`), it is not read again. */
  readonly checked: CheckedSource;
}

/** A source as checkSource read it (opaque outside the store). */
export interface CheckedSource {
  readonly path: string;
  readonly inputs: readonly InputFile[];
}

/**
 * Checks a model's files the way `Store.import` does before it writes
 * anything — they exist, can be read, their structure parses, their paths
 * keep the name policy — without a store: a batch (`tessera import a b c`)
 * checks every source first, so that a bad one stops it before any is
 * imported. Light to load: the readers, not the store, codecs or database.
 */
export function checkSource(path: string): SourceSummary {
  if (!existsSync(path)) throw notFound(`${path}: no such file or directory`);
  const inputs = collectInputs(path);
  return { files: inputs.length, bytes: inputs.reduce((n, f) => n + f.size, 0), checked: { path, inputs } };
}

/**
 * Whether a source holds at least `bytes`, by file sizes alone (no file is
 * opened): a quick look before checkSource reads it, stopping as soon as the
 * answer is yes. What cannot be read counts for nothing (checkSource says why).
 */
export function holdsAtLeast(path: string, bytes: number): boolean {
  let total = 0;
  const visit = (p: string): boolean => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return false;
    }
    if (st.isFile()) return (total += st.size) >= bytes;
    if (!st.isDirectory()) return false;
    let names: string[];
    try {
      names = readdirSync(p);
    } catch {
      return false;
    }
    return names.some((n) => visit(join(p, n)));
  };
  return visit(path);
}
