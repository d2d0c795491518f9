import { invalid } from '../errors.js';

/** `name` or `name:version`, as the CLI and the HTTP API spell a model. */
export interface ModelRef {
  name: string;
  version?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,199}$/;

export function validateModelName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw invalid(`invalid model name "${name}": use letters, digits, '.', '_', '-', '/' (up to 200 characters, no '..')`);
  }
  return name;
}

export function parseModelRef(text: string): ModelRef {
  const i = text.lastIndexOf(':');
  if (i < 0) return { name: validateModelName(text) };
  const v = text.slice(i + 1);
  if (!/^[1-9][0-9]{0,8}$/.test(v)) throw invalid(`invalid model version in "${text}": expected a positive integer after ':'`);
  return { name: validateModelName(text.slice(0, i)), version: Number(v) };
}

export function formatModelRef(name: string, version: number): string {
  return `${name}:${version}`;
}
