import { invalid } from '../errors.js';
import { checkModelNameToFind } from './names.js';

/** `name` or `name:version`, as the CLI and the HTTP API spell a model. */
export interface ModelRef {
  name: string;
  version?: number;
}

/** A reference to a stored model (any name a store may hold: names.ts). */
export function parseModelRef(text: string): ModelRef {
  const i = text.lastIndexOf(':');
  if (i < 0) return { name: checkModelNameToFind(text) };
  const v = text.slice(i + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw invalid(`invalid model version in "${text}": expected a positive integer after ':'`);
  return { name: checkModelNameToFind(text.slice(0, i)), version: Number(v) };
}

/**
 * A page cursor that names one model version (name:version, as a listing's
 * `next` gives it); `field` names it in the message when it is not one.
 */
export function parseVersionCursor(text: string, field: string): { name: string; version: number } {
  const ref = parseModelRef(text);
  if (ref.version === undefined) throw invalid(`${field}: ${JSON.stringify(text)} is not a model version (name:version), as the page before gave it`);
  return { name: ref.name, version: ref.version };
}

export function formatModelRef(name: string, version: number): string {
  return `${name}:${version}`;
}

/** name:version of each model, by id (lineage and sharing name models by id). */
export function refsById(models: readonly { id: number; name: string; version: number }[]): Map<number, string> {
  return new Map(models.map((m) => [m.id, formatModelRef(m.name, m.version)]));
}
