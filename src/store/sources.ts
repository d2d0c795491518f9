import { existsSync } from 'node:fs';
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
