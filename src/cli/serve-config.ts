/**
 * `tessera serve`'s settings from every source: flags, environment
 * variables, the config file, defaults (serve-settings.ts defines them).
 *
 * The file is TOML: a human edits it, with comments, and TOML's values are
 * typed (4 stays a number, "4GiB" a string, true a boolean) without YAML's
 * implicit conversions (`no` read as false, `0755` as octal) or its
 * indentation; JSON has no comments. Read with smol-toml (TOML 1.0, no
 * dependencies). Its shape:
 *
 *   # /etc/tessera/tessera.toml
 *   [serve]
 *   store = "postgres://tessera@db.internal/models"
 *   host = "0.0.0.0"
 *   port = 8000
 *   memory_budget = "8GiB"
 *   allow_host = ["models.example.com"]
 *   log_format = "json"
 *
 * Every problem of every source is collected and reported at once (one
 * line, `; ` between them), each naming its source (`tessera.toml:
 * serve.port: …`, `TESSERA_PORT=abc: …`).
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { invalid } from '../errors.js';
import { checkToken } from '../serve/auth.js';
import { checkAllowHost } from '../serve/http/hosts.js';
import { checkAllowOrigin } from '../serve/http/origins.js';
import { DEFAULT_STORE, configPath, serveEnvironment } from './config.js';
import type { Env } from './config.js';
import { parsePort, parsePositiveInt, parseSize } from './parse.js';
import { SERVE_SETTINGS, envName, fileKey } from './serve-settings.js';
import type { ServeFlags, ServeSetting } from './serve-settings.js';

/** Larger is no config file (it is read whole). */
export const MAX_CONFIG_BYTES = 1 << 20;

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface ConfigFile {
  path: string;
  /** The [serve] table's keys (checked against the settings when resolved). */
  serve: Record<string, unknown>;
}

/** Reads and parses the file; an unreadable, oversized or malformed one is one error naming the file (and line). */
function readConfigFile(path: string): ConfigFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw invalid(`${path}: cannot read the config file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > MAX_CONFIG_BYTES) throw invalid(`${path}: ${size} bytes is too large for a config file (at most ${MAX_CONFIG_BYTES})`);
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof TomlError) throw invalid(`${path}:${e.line}:${e.column}: not valid TOML: ${e.message.split('\n')[0]}`);
    throw invalid(`${path}: ${(e as Error).message}`);
  }
  const problems: string[] = [];
  for (const key of Object.keys(doc)) if (key !== 'serve') problems.push(`${path}: unknown table or key "${key}" (settings go in [serve])`);
  const serve = doc.serve ?? {};
  if (typeof serve !== 'object' || serve === null || Array.isArray(serve) || serve instanceof Date) problems.push(`${path}: "serve" must be a table ([serve])`);
  if (problems.length) throw invalid(problems.join('; '));
  return { path, serve: serve as Record<string, unknown> };
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/** A setting's value from text (a flag's argument, an environment variable, a string in the file). */
function fromText(s: ServeSetting, text: string): unknown {
  switch (s.kind) {
    case 'int': return parsePositiveInt(text);
    case 'port': return parsePort(text);
    case 'size': return parseSize(text);
    case 'bool':
      if (TRUE.test(text)) return true;
      if (FALSE.test(text)) return false;
      throw new Error(`expected true or false, got "${text}"`);
    case 'list': return text.split(',').map((v) => v.trim()).filter(Boolean);
    case 'choice':
      if (!s.choices!.includes(text)) throw new Error(`expected one of ${s.choices!.join(', ')}, got "${text}"`);
      return text;
    case 'string': return text;
  }
}

/** A setting's value from the file's TOML value. */
function fromFile(s: ServeSetting, value: unknown): unknown {
  if (typeof value === 'string') {
    if (s.kind === 'list') return [fromText(s, value)].flat();
    return fromText(s, value);
  }
  if (typeof value === 'number' && ['int', 'port', 'size'].includes(s.kind)) {
    if (!Number.isInteger(value)) throw new Error(`expected a whole number, got ${value}`);
    return fromText(s, String(value));
  }
  if (typeof value === 'boolean' && s.kind === 'bool') return value;
  if (Array.isArray(value) && s.kind === 'list') {
    if (!value.every((v) => typeof v === 'string')) throw new Error('expected a list of strings');
    return value;
  }
  const want = { int: 'a number', port: 'a number', size: 'a number or a size such as "4GiB"', bool: 'true or false', list: 'a list of strings', choice: 'a string', string: 'a string' }[s.kind];
  throw new Error(`expected ${want}, got ${Array.isArray(value) ? 'a list' : typeof value}`);
}

/** The closest known key, for a typo. */
function suggestion(key: string, known: string[]): string {
  const dist = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  const best = known.map((k) => ({ k, d: dist(key, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 3 ? `; did you mean "${best.k}"?` : '';
}

export interface ResolvedServe {
  flags: ServeFlags;
  sources: Record<keyof ServeFlags, Source>;
  store: { location: string; source: Source };
  file?: string;
}

/** tessera serve's settings as a command finds them: its flags, the TESSERA_* variables, the config file (configPath). */
export function loadServe(opts: { flag: (name: keyof ServeFlags) => unknown | undefined; storeFlag?: string; configFlag?: string }): ResolvedServe {
  const path = configPath(opts.configFlag);
  return resolveServe({ ...opts, env: serveEnvironment(), file: path === undefined ? undefined : readConfigFile(path) });
}

/**
 * Every setting from the first source that has it: the flag (commander's
 * value, when its source is the command line), the environment, the file,
 * the default. Then the checks that need the whole picture (the token's
 * form, host names, origins). All problems at once, or the settings.
 */
function resolveServe(opts: {
  flag: (name: keyof ServeFlags) => unknown | undefined;
  storeFlag?: string;
  /** The environment (config.ts reads it). */
  env: Env;
  file?: ConfigFile;
}): ResolvedServe {
  const env = opts.env;
  const problems: string[] = [];
  const flags: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const fileValues = { ...opts.file?.serve };
  const where = (key: string): string => `${opts.file!.path}: serve.${key}`;
  let store: ResolvedServe['store'] = { location: DEFAULT_STORE, source: 'default' };
  if (opts.storeFlag !== undefined) store = { location: opts.storeFlag, source: 'flag' };
  else if (env.TESSERA_STORE) store = { location: env.TESSERA_STORE, source: 'env' };
  else if (fileValues.store !== undefined) {
    if (typeof fileValues.store === 'string' && fileValues.store) store = { location: fileValues.store, source: 'file' };
    else problems.push(`${where('store')}: expected a store location (a file path or a postgres:// URL)`);
  }
  delete fileValues.store;
  for (const s of SERVE_SETTINGS) {
    const key = fileKey(s);
    const fromFlag = opts.flag(s.name);
    const text = env[envName(s)];
    // The first source that has it, how its value is read, and how a problem with it names it.
    const [source, read, label]: [Source, () => unknown, string] = fromFlag !== undefined ? ['flag', () => fromFlag, `option '${s.flag}'`]
      : text ? ['env', () => fromText(s, text), `${envName(s)}=${text}`]
      : key in fileValues ? ['file', () => fromFile(s, fileValues[key]), where(key)]
      : ['default', () => s.default, 'the default'];
    try {
      flags[s.name] = read();
      sources[s.name] = source;
    } catch (e) {
      problems.push(`${label}: ${(e as Error).message}`);
    }
    delete fileValues[key];
  }
  const known = ['store', ...SERVE_SETTINGS.map(fileKey)];
  for (const key of Object.keys(fileValues)) problems.push(`${where(key)}: unknown setting${suggestion(key, known)}`);
  const f = flags as unknown as ServeFlags;
  const check = (name: keyof ServeFlags, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      const s = SERVE_SETTINGS.find((x) => x.name === name)!;
      const message = (e as Error).message;
      // The token's message names its flag and variable already, and never the token itself.
      if (sources[name] === 'file') problems.push(`${where(fileKey(s))}: ${message}`);
      else if (name === 'token') problems.push(message);
      else problems.push(`${sources[name] === 'env' ? envName(s) : `option '${s.flag}'`}: ${message}`);
    }
  };
  if (f.token !== undefined) check('token', () => checkToken(f.token!));
  if (Array.isArray(f.allowHost)) check('allowHost', () => (f.allowHost = f.allowHost.map(checkAllowHost)));
  if (Array.isArray(f.allowOrigin)) check('allowOrigin', () => (f.allowOrigin = f.allowOrigin.map(checkAllowOrigin)));
  if (problems.length) throw invalid(problems.length === 1 ? problems[0]! : `${problems.length} problems in tessera serve's settings: ${problems.join('; ')}`);
  return { flags: f, sources: sources as Record<keyof ServeFlags, Source>, store, file: opts.file?.path };
}
